"""Fake demo members: obviously invented people, unique, reproducible from one seed."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta

SYSTEMS = ("exceline", "ibooking", "mailchimp", "nets", "physica", "eziteq", "fixit", "lifevision", "stripe",
           "crm", "imagebank", "access", "app")
DEMO_SYSTEMS = frozenset({"exceline", "ibooking", "mailchimp", "nets", "physica"})
CHAIN_SYSTEMS = {
    "demo": DEMO_SYSTEMS,
    # Aktiv365 (seed 000); Credicare and Kalibrert, Apility, Relisec have no API, so no stand-in.
    "aktiv365": frozenset({"exceline", "ibooking", "fixit", "nets"}),
    # K24 (seed 001): Eziteq, LifeVision, Nets and the Physica journal; Magy Media's newsletter at Mailchimp.
    "k24": frozenset({"eziteq", "lifevision", "nets", "physica", "mailchimp"}),
    # Vekstly (seed 004) names Stripe and an e-mail list; its course bookings at Ibooking are an assumption.
    "vekstly": frozenset({"stripe", "mailchimp", "ibooking"}),
    # Spenst (seed 002) and MOVA (seed 003) name no systems; config/controllers/{spenst,mova}.yaml assume these.
    "spenst": frozenset({"exceline", "ibooking", "nets", "lifevision", "access", "app"}),
    "mova": frozenset({"exceline", "ibooking", "nets", "physica", "crm", "imagebank"}),
}

FIRST = ("Kari", "Ola", "Ingrid", "Lars", "Sigrid", "Anders", "Solveig", "Magnus", "Hedda", "Eirik",
         "Ragnhild", "Torbjørn", "Astrid", "Sindre", "Maren", "Håkon")
LAST = ("Testesen", "Prøvestad", "Eksempelsen", "Demoberg", "Fiktivsen", "Liksomvik", "Oppdiktnes",
        "Attrappdal", "Narrestad", "Skinnvoll", "Kopisen", "Øvingsrud")


@dataclass(frozen=True)
class DemoMember:
    """A fake member as the membership system knows them, with the contact details processors hold."""

    member_id: str
    name: str
    email: str
    phone: str
    address: str

    @property
    def first_name(self) -> str:
        """The given name."""
        return self.name.split(" ", 1)[0]

    @property
    def last_name(self) -> str:
        """The family name."""
        return self.name.split(" ", 1)[1]

    @property
    def birth_date(self) -> str:
        """An invented birth date, derived from the member number."""
        return f"19{70 + self.number % 30}-{1 + self.number % 12:02d}-{1 + self.number % 28:02d}"

    @property
    def number(self) -> int:
        """The digits of the member id, for deriving other systems' ids."""
        return int(self.member_id.lstrip("M"))

    def personal_values(self) -> tuple[str, ...]:
        """Every value that identifies this person (for privacy audits)."""
        return (self.name, self.email, self.phone, self.address)


@dataclass(frozen=True)
class Profile:
    """What a demo member has at each processor."""

    open_invoice: bool = False
    in_collection: bool = False
    journal_last_entry: date | None = None
    audiences: int = 1
    # A card stored at Nexi Checkout, an AvtaleGiro mandate: most members pay the invoice (a KID at Nets, so
    # Nets holds their payments only); ending either is a person's step (no public call ends one).
    card: bool = False
    mandate: bool = False
    absent_from: frozenset[str] = frozenset()
    systems: frozenset[str] = DEMO_SYSTEMS
    course_end: date | None = None
    keep_after_course: bool = False
    records: tuple[tuple[str, date], ...] = ()  # (kind, day) the membership system keeps: sandbox/exceline_records.py
    member_until: date | None = None  # a membership still running: its contract ends on this day

    def at(self, system: str) -> bool:
        """Whether the member exists at `system`."""
        if system not in self.systems or system in self.absent_from:
            return False
        return system != "physica" or self.journal_last_entry is not None


JOURNAL_LAST_ENTRY = date(2025, 11, 20)

SEEDED: dict[str, Profile] = {
    "M1001": Profile(audiences=2),
    "M1002": Profile(open_invoice=True),
    "M1003": Profile(journal_last_entry=JOURNAL_LAST_ENTRY),
    "M1004": Profile(absent_from=frozenset({"ibooking", "mailchimp"})),
}

COURSE_PAID_ON = date(2026, 9, 1)
COURSE_ENDED = date(2026, 10, 31)
COURSE_RUNNING_UNTIL = date(2027, 3, 31)
_AKTIV365, _K24, _VEKSTLY = (CHAIN_SYSTEMS[chain] for chain in ("aktiv365", "k24", "vekstly"))
_SPENST, _MOVA = CHAIN_SYSTEMS["spenst"], CHAIN_SYSTEMS["mova"]
PURCHASED_ON = date(2026, 1, 10)
EXCLUDED_UNTIL = date(2027, 2, 28)
RECORDED_ON = date(2026, 1, 19)
# Two of the demo's stories need dates near the day it runs: a membership that still runs, and door-camera footage
# recorded this week (MOVA's one-week rule). Fixed dates would have passed on a later run.
MEMBERSHIP_RUNS_UNTIL = date.today() + timedelta(days=200)
RECORDED_THIS_WEEK = date.today() - timedelta(days=2)

# Members of the other chains, seeded beside the demo chain's (whose ids `slett demo` erases).
CHAIN_SEEDED: dict[str, dict[str, Profile]] = {
    "k24": {
        "M1101": Profile(systems=_K24, journal_last_entry=JOURNAL_LAST_ENTRY),
        "M1102": Profile(systems=_K24, open_invoice=True),
        "M1103": Profile(systems=_K24),
    },
    "aktiv365": {
        "M1201": Profile(systems=_AKTIV365, mandate=True),  # pays by AvtaleGiro: the demo confirms its end
        "M1202": Profile(systems=_AKTIV365, in_collection=True),
        "M1203": Profile(systems=_AKTIV365, absent_from=frozenset({"fixit"})),
    },
    "vekstly": {
        "M1301": Profile(systems=_VEKSTLY, course_end=COURSE_ENDED),
        "M1302": Profile(systems=_VEKSTLY, course_end=COURSE_ENDED, keep_after_course=True),
        "M1303": Profile(systems=_VEKSTLY, course_end=COURSE_RUNNING_UNTIL, open_invoice=True),
    },
    "spenst": {
        "M1401": Profile(systems=_SPENST, open_invoice=True, records=(("purchases", PURCHASED_ON),)),
        "M1402": Profile(systems=_SPENST, member_until=MEMBERSHIP_RUNS_UNTIL),  # asks to be forgotten while a member
    },
    "mova": {
        "M1501": Profile(systems=_MOVA, journal_last_entry=JOURNAL_LAST_ENTRY,
                         records=(("exclusions", EXCLUDED_UNTIL), ("camera", RECORDED_ON))),
        "M1502": Profile(systems=_MOVA, records=(("camera", RECORDED_THIS_WEEK),)),  # footage the police ask for
    },
}


ASCII = str.maketrans("øåæ", "oaa")


def _ascii(text: str) -> str:
    return text.lower().translate(ASCII)


class People:
    """Makes fake members: names drawn from a seeded shuffle, contact details derived from the id."""

    def __init__(self, seed: int) -> None:
        pairs = list(itertools.product(FIRST, LAST))
        random.Random(seed).shuffle(pairs)
        self._names = iter(pairs)
        self._numbers = itertools.count(2001)

    def make(self, member_id: str | None = None) -> DemoMember:
        """A new fake member; unique in name (while names last), e-mail, phone and address."""
        member_id = member_id or f"M{next(self._numbers)}"
        number = int(member_id.lstrip("M"))
        first, last = next(self._names, ("Reserve", f"Testperson-{number}"))
        digits = f"{number:07d}"
        return DemoMember(
            member_id=member_id,
            name=f"{first} {last}",
            email=f"{_ascii(first)}.{_ascii(last)}.{number}@example.no",
            phone=f"+47 9{digits[:2]} {digits[2:4]} {digits[4:]}",
            address=f"Fiktivgata {number}, 0150 Oslo",
        )
