"""One erasure request per chain for `slett demo`: the seeded member, why they go, and the story it shows.

Every member here is seeded by sandbox/people.py (CHAIN_SEEDED), so a fresh or reset sandbox has them.
`settles` asks the demo to pay the open invoice once the run suspends for it (sandbox settle, then
`queries.runs.settle`); `confirms` asks it to confirm each manual step with `queries.runs.confirm_step`, as a
person would in the Prefect UI's form.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoRequest:
    """A request the demo starts: ids only, and the promise it shows in a sentence."""

    controller: str
    member_id: str
    kind: str
    story: str
    settles: bool = False
    confirms: bool = False


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
                "Spenst's three months; card purchases are kept two years, invoices five", settles=True),
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
]

