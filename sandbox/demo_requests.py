"""The requests `slett demo` sends: one erasure per chain, a withdrawal of marketing consent, a legal hold set by a
person, an erasure request while the membership runs, and one for a member the membership system does not know.

Every member here but the unknown one is seeded by sandbox/people.py (CHAIN_SEEDED), so a fresh or reset sandbox
has them. `settles` asks the demo to pay the open invoice once the run suspends for it (sandbox settle, then
`queries.runs.settle`); `confirms` asks it to confirm each manual step with `queries.runs.confirm_step`, as a
person would in the Prefect UI's form. `legal_hold` is set with `slett hold` before the request comes in;
`by_form` starts the request as an operator does from the erase-member deployment's form (a request that came by
post, not from the membership system); `letters` prints the acknowledgment and the answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoLegalHold:
    """A legal hold a person sets with `slett hold` before the member's request: where, why, who, how long."""

    system: str
    category: str
    reason: str
    set_by: str
    days: int  # it ends this many days after the day the demo runs


@dataclass(frozen=True)
class DemoRequest:
    """A request the demo starts: ids only, and the promise it shows in a sentence."""

    controller: str
    member_id: str
    kind: str
    story: str
    settles: bool = False
    confirms: bool = False
    legal_hold: DemoLegalHold | None = None
    by_form: bool = False
    letters: bool = False
    ends: str = "COMPLETED"  # the run's final state; FAILED for a member the membership system does not know
    ends_with: str = ""  # the end of the run's final message, where the story is told by it


DEMO_REQUESTS: list[DemoRequest] = [
    DemoRequest("aktiv365", "M1201", "termination",
                "Kalibrert, Apility and Relisec have no API, and an AvtaleGiro mandate at Nets is ended by a person "
                "(no call ends one; the payments are held, restricted, with what bookkeeping needs): the run "
                "suspends with a form for each, and who confirmed what, when, goes into the evidence; Exceline is "
                "anonymised last", confirms=True),
    DemoRequest("aktiv365", "M1202", "termination",
                "a claim is in collection at Credicare: the run does not wait; the claim and the debtor's name, "
                "address and birth date are held, restricted, until it is paid or time-barred (GDPR 17(3)(e)), "
                "the rest of the member goes at once, and a person confirms the Art. 19 notice", confirms=True),
    DemoRequest("k24", "M1101", "erasure",
                "the Physica journal and the Eziteq journal notes are kept for a clinician's review in ten "
                "years; the LifeVision contact is deleted at once, a hashed suppression entry kept"),
    DemoRequest("spenst", "M1401", "termination",
                "the last invoice is open: only LifeVision goes until it is paid, then everything within "
                "Spenst's three months, once a person has told the partners; card purchases are kept two years, "
                "invoices five", settles=True, confirms=True),
    DemoRequest("mova", "M1501", "termination",
                "marketing consents withdrawn at once; anonymised within MOVA's six months; the journal kept "
                "under journalforskriften § 14, an "
                "exclusion record until the exclusion ends, the door camera's snapshot released at once"),
    DemoRequest("vekstly", "M1301", "erasure",
                "the course is paid and the 14-day withdrawal period is over: the Stripe customer and the "
                "course booking are deleted, the e-mail list membership too"),
    DemoRequest("k24", "M1103", "withdrawal",
                "marketing.withdrawn: the newsletter contact at Mailchimp (run by Magy Media) and the LifeVision "
                "contact are deleted and Eziteq's marketing consents withdrawn at once; a suppression entry of "
                "keyed references keeps the member from being added again; the membership, the journal and the "
                "payments are not touched"),
    DemoRequest("mova", "M1502", "termination",
                "the police asked for the door camera's footage of this week: `slett hold` keeps it, restricted, "
                "past MOVA's one-week rule until the legal hold ends; the rest of the member is anonymised, and "
                "the evidence names who set the hold and why",
                legal_hold=DemoLegalHold("exceline", "camera", "Politiet ba om opptaket, sak 26-1234", "Kari Drift",
                                         30)),
    DemoRequest("spenst", "M1402", "erasure",
                "the membership still runs, and Spenst deletes nothing while it lasts: marketing stops at once, "
                "nothing else is erased, and the answer says why and until when; the acknowledgment and the answer "
                "are printed", letters=True),
    DemoRequest("k24", "M1199", "erasure",
                "a request that came by post, started from the erase-member form, for an id Eziteq does not know: "
                "it ends \"not known at eziteq; nothing was erased\" and no processor is called",
                by_form=True, ends="FAILED", ends_with="member M1199 is not known at eziteq; nothing was erased"),
]
