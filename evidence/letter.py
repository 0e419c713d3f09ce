"""The member's letter (GDPR Art. 12, 17-19): what was erased where, what is kept, why, until when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from config.holds import Hold
from domain.values import Evidence, Step
from tasks.deadlines import Extension


@dataclass(frozen=True)
class Words:
    """The letter's fixed text in one language."""

    title: str
    reference: str
    received: str
    deadline: str
    extended: str
    answered: str
    erased: str
    limited: str
    kept: str
    kept_until: str
    review: str
    unfinished: str
    unfinished_after: str
    restricted: str
    complain: str
    roles: dict[str, str]
    statuses: dict[str, str]
    categories: dict[str, str]
    bases: dict[str, str] = field(default_factory=dict)  # a hold's basis in this language; else its citation
    months: tuple[str, ...] | None = None

    def day(self, when: date) -> str:
        """A date as this language writes it."""
        if self.months is None:
            return f"{when:%d.%m.%Y}"
        return f"{when.day} {self.months[when.month - 1]} {when.year}"


NB = Words(
    title="Svar på din henvendelse om sletting", reference="Referanse", received="mottatt",
    deadline="svarfrist", extended="forlenget fra {original} fordi: {reason}", answered="Besvart",
    erased="Dette har vi slettet eller anonymisert:",
    limited="Dette har vi begrenset (sperret for all annen bruk, GDPR art. 18), uten en fast sluttdato:",
    kept="Dette må vi beholde etter loven. Det er sperret for all annen bruk og slettes når fristen er ute:",
    kept_until="{what} i {where}: etter {basis}, til og med {until}",
    review="{what} i {where}: etter {basis}; behandler vurderer journalen {until}, den slettes aldri automatisk",
    unfinished="Dette er ikke ferdig ennå:", unfinished_after="Vi følger opp og skriver til deg igjen.",
    restricted="Det vi beholder er begrenset (GDPR art. 18): det brukes bare til det loven krever.",
    complain="Er du uenig i hvordan vi har behandlet henvendelsen, kan du klage til Datatilsynet "
    "(GDPR art. 77): www.datatilsynet.no, Postboks 458 Sentrum, 0105 Oslo.",
    roles={"membership": "medlemssystemet", "booking": "bookingsystemet", "marketing": "nyhetsbrev",
           "payment": "betalingsløsningen", "journal": "fysioterapijournalen", "invoicing": "fakturering",
           "manual": "leverandør uten API"},
    statuses={"erased": "slettet", "anonymised": "anonymisert", "already_absent": "fantes ikke lenger",
              "restricted": "begrenset (sperret)", "refused": "beholdt etter lovkrav",
              "confirmed": "utført hos leverandøren, bekreftet av oss",
              "manual": "venter på manuell bekreftelse", "accepted": "under behandling hos leverandøren",
              "pending": "venter", "failed": "ikke fullført"},
    categories={"invoices": "fakturaer", "payments": "betalinger", "customer ledger": "kundereskontro",
                "physiotherapy journal": "fysioterapijournal", "contract": "avtale", "contracts": "avtaler",
                "correspondence": "korrespondanse", "purchases": "kjøpsdata", "transactions": "transaksjoner",
                "claim": "krav", "profile": "profil", "camera": "kameraopptak", "exclusions": "utestengelser",
                "customer": "kundeopplysninger", "journal": "journal", "journal notes": "journalnotater"},
    bases={
        "bokforingsloven-13": "bokføringsloven § 13 (primærdokumentasjon, minst 5 år); GDPR art. 17 nr. 3 bokstav b",
        # "minst": the law's least period; a chain may keep longer (Spenst keeps contracts 5 years).
        "bokforingsloven-13-secondary": "bokføringsloven § 13 (sekundærdokumentasjon, minst 3 år og 6 måneder); "
        "GDPR art. 17 nr. 3 bokstav b",
        "gdpr-17-3-e": "GDPR art. 17 nr. 3 bokstav e; foreldelsesloven §§ 2-3",
        "pasientjournalloven-25": "helsepersonelloven §§ 39-40; pasientjournalloven § 25; journalforskriften § 14",
        "gdpr-6-1-f": "GDPR art. 6 nr. 1 bokstav f og art. 17 nr. 1 bokstav c: kjedens berettigede interesse, "
        "i den perioden personvernerklæringen oppgir",
        "angrerettloven": "angrerettloven (14 dagers angrerett); GDPR art. 6 nr. 1 bokstav b",
    },
)
EN = Words(
    title="Answer to your erasure request", reference="Reference", received="received",
    deadline="deadline", extended="extended from {original} because: {reason}", answered="Answered",
    erased="This we have deleted or anonymised:",
    limited="This we have restricted (kept from any other use, GDPR Art. 18), with no set end date:",
    kept="This we must keep by law. It is restricted from any other use and deleted when the period ends:",
    kept_until="{what} in {where}: under {basis}, until {until}",
    review="{what} in {where}: under {basis}; a clinician reviews the journal on {until}, it is never "
    "deleted automatically",
    unfinished="This is not finished yet:", unfinished_after="We are following it up and will write to you again.",
    restricted="What we keep is restricted (GDPR Art. 18): it is used only for what the law requires.",
    complain="If you disagree with how we handled your request, you may complain to Datatilsynet, the "
    "Norwegian Data Protection Authority (GDPR Art. 77): www.datatilsynet.no, Postboks 458 Sentrum, 0105 Oslo.",
    roles={"membership": "membership system", "booking": "booking system", "marketing": "newsletter",
           "payment": "payment provider", "journal": "physiotherapy journal", "invoicing": "invoicing",
           "manual": "supplier without an API"},
    statuses={"erased": "deleted", "anonymised": "anonymised", "already_absent": "already gone",
              "restricted": "restricted", "refused": "kept by law", "manual": "awaiting manual confirmation",
              "confirmed": "done at the supplier, confirmed by us",
              "accepted": "being processed by the supplier", "pending": "waiting", "failed": "not completed"},
    categories={},
    months=("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December"),
)
DONE = {"erased", "anonymised", "already_absent", "confirmed"}
KEPT = {"restricted", "refused"}


def _where(words: Words, step: Step | None, system: str) -> str:
    role = step.role if step else ""
    return f"{words.roles.get(role, role or system)} ({system})"


def _held(words: Words, hold: Hold, step: Step | None) -> str:
    what = ", ".join(words.categories.get(c, c) for c in hold.categories).capitalize()
    line = words.review if hold.review_only else words.kept_until
    return "- " + line.format(what=what, where=_where(words, step, hold.system),
                              basis=words.bases.get(hold.basis, hold.citation), until=words.day(hold.retain_until))


def _section(words: Words, evidence: Evidence, chain: str, extension: Extension | None) -> list[str]:
    request = evidence.request
    steps = {step.system: step for step in evidence.steps}
    deadline = extension.deadline if extension else request.deadline
    lines = [f"# {words.title} · {chain}", "",
             f"{words.reference}: `{request.subject_ref}` · `{request.request_id}` · "
             f"{words.received} {words.day(request.received.date())} · {words.deadline} {words.day(deadline)}"
             + (" (" + words.extended.format(original=words.day(extension.original_deadline),
                                             reason=extension.reason) + ")" if extension else ""), ""]
    if evidence.finished and evidence.status == "done":
        lines += [f"{words.answered} {words.day(evidence.finished.date())}.", ""]
    # Restricted or refused with no end date is kept, not gone: the member is told so in its own section.
    limited = [s for s in evidence.steps if s.status in KEPT and s.retain_until is None]
    for heading, listed in ((words.erased, [s for s in evidence.steps if s.status in DONE]), (words.limited, limited)):
        if listed:
            lines += [heading, ""]
            lines += [f"- {_where(words, s, s.system)}: {words.statuses.get(s.status, s.status)}" for s in listed]
            lines.append("")
    if evidence.holds:
        lines += [words.kept, ""]
        lines += [_held(words, hold, steps.get(hold.system)) for hold in evidence.holds]
        lines += ["", words.restricted, ""]
    open_steps = [s for s in evidence.steps if s.status not in DONE | KEPT]
    if open_steps:
        lines += [words.unfinished, ""]
        lines += [f"- {_where(words, s, s.system)}: {words.statuses.get(s.status, s.status)}" for s in open_steps]
        lines += ["", words.unfinished_after, ""]
    return [*lines, words.complain]


def render_letter(evidence: Evidence, chain: str | None = None, extension: Extension | None = None) -> str:
    """The letter in Norwegian, then English, addressed by reference: it names no personal data."""
    name = chain or evidence.request.controller
    return "\n".join([*_section(NB, evidence, name, extension), "", "---", "",
                      *_section(EN, evidence, name, extension), ""])
