"""The connector contract: what every processor module takes and returns."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol


class Action(enum.StrEnum):
    """What a processor is asked to do with a member's data."""

    DELETE = "delete"
    ANONYMISE = "anonymise"
    RESTRICT = "restrict"
    NOTIFY = "notify"
    RELEASE = "release"  # delete what a hold kept, once the hold has expired


class Status(enum.StrEnum):
    """How a processor's step ended."""

    ERASED = "erased"
    ANONYMISED = "anonymised"
    RESTRICTED = "restricted"
    ALREADY_ABSENT = "already_absent"
    ACCEPTED = "accepted"
    MANUAL = "manual"
    CONFIRMED = "confirmed"  # a manual step a person confirmed in the Prefect UI (who and when in the evidence)
    REFUSED = "refused"
    FAILED = "failed"
    PENDING = "pending"

    @property
    def is_done(self) -> bool:
        """Whether the step needs nothing more from us."""
        return self in DONE


DONE = frozenset(
    {Status.ERASED, Status.ANONYMISED, Status.RESTRICTED, Status.ALREADY_ABSENT, Status.REFUSED, Status.CONFIRMED}
)


class ConnectorError(Exception):
    """A processor call that did not succeed; the message never holds personal data."""

    def __init__(self, system: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system
        self.status = status  # the HTTP status that said so; None when no answer came


class Retryable(ConnectorError):
    """A failure worth trying again later: 429, 5xx, timeouts, dropped connections."""

    def __init__(self, system: str, message: str, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(system, message, status)
        self.retry_after = retry_after


class Permanent(ConnectorError):
    """A failure that another try will not fix: a 4xx other than 404/408/429."""


class UnknownMember(Permanent):
    """The membership system does not know the member id, so nothing is looked up or erased anywhere."""

    def __init__(self, system: str, member_id: str) -> None:
        Exception.__init__(self, f"member {member_id} is not known at {system}; nothing was erased")
        self.system = system


@dataclass(frozen=True)
class Subject:
    """The member as processors know them; lives only inside one task, never returned."""

    controller: str
    member_id: str
    email: str | None = None
    phone: str | None = None
    name: str | None = None

    def __repr__(self) -> str:
        return f"Subject(controller={self.controller!r}, member_id={self.member_id!r}, <contact redacted>)"

    __str__ = __repr__


@dataclass(frozen=True)
class RetentionFacts:
    """The dates and flags at a processor that drive retention; no personal data."""

    open_invoices: int = 0
    open_amount_ore: int = 0
    in_collection: bool = False
    last_journal_entry: date | None = None
    last_payment_date: date | None = None
    claim_due: date | None = None  # the earliest due date of a claim in collection
    # Each record's own date, oldest first, each day once: a retention rule counts every record from its own
    # date, so an old invoice or snapshot is not kept as long as the newest.
    invoice_dates: tuple[date, ...] = ()
    transaction_dates: tuple[date, ...] = ()
    contract_end_dates: tuple[date, ...] = ()  # the day each membership contract ended
    purchase_dates: tuple[date, ...] = ()  # purchases with the membership card
    recording_dates: tuple[date, ...] = ()  # camera snapshots kept with a visit
    exclusion_end_dates: tuple[date, ...] = ()  # the last day of each exclusion for breaking the house rules

    @property
    def last_invoice_date(self) -> date | None:
        """The newest invoice's date."""
        return max(self.invoice_dates, default=None)

    @property
    def last_transaction_date(self) -> date | None:
        """The newest transaction's date."""
        return max(self.transaction_dates, default=None)


def distinct_days(days: Iterable[date]) -> tuple[date, ...]:
    """Dates oldest first, each once: how RetentionFacts lists a kind of record's dates."""
    return tuple(sorted(set(days)))


@dataclass(frozen=True)
class Category:
    """One category of a member's data a processor holds: how many records, and their dates, oldest first."""

    name: str
    count: int = 1
    dates: tuple[date, ...] = ()


@dataclass(frozen=True)
class CategoryErasure:
    """What to do with one category at a processor: its action and, for a hold, the only fields it keeps."""

    category: str
    action: Action
    keeps: tuple[str, ...] = ()
    rule: str | None = None  # the retention rule that holds it; None: erased at this step
    review: bool = False  # a journal: restricted as written, for a clinician's review; never altered


@dataclass(frozen=True)
class CategoryCheck:
    """A read-back of one category: records left, whether all are restricted, personal fields still filled."""

    category: str
    present: int
    restricted: bool
    fields: tuple[str, ...] = ()  # the personal fields that still carry a value
    personal: tuple[str, ...] = ()  # every personal field a record of the category can carry


@dataclass(frozen=True)
class CategoryResult:
    """How one category's step ended, for the evidence: action, status, kept fields and rule; no values."""

    category: str
    action: str
    status: str
    verified: bool | None = None
    fields: tuple[str, ...] = ()
    rule: str | None = None
    detail: str = ""

    def words(self) -> str:
        """The category's evidence in words: action, status, kept fields and rule, read-back; never values."""
        kept = f" keeping {', '.join(self.fields)}" if self.fields else ""
        under = f" under {self.rule}" if self.rule else ""
        checked = "" if self.verified is None else ", verified" if self.verified else ", NOT verified"
        return f"{self.category}: {self.action} {self.status}{kept}{under}{checked}"


@dataclass(frozen=True)
class Holdings:
    """What one processor holds on a member: its own ids, data categories and retention facts."""

    system: str
    ids: tuple[str, ...] = ()
    categories: frozenset[str] = field(default_factory=frozenset)
    facts: RetentionFacts = field(default_factory=RetentionFacts)
    # Per category, how many records and their dates; empty from a processor that reports names only.
    dated: tuple[Category, ...] = ()

    @classmethod
    def of(
        cls,
        system: str,
        ids: list[str] | tuple[str, ...] = (),
        categories: set[str] | frozenset[str] = frozenset(),
        facts: RetentionFacts | None = None,
        dated: tuple[Category, ...] = (),
    ) -> Holdings:
        """Holdings from plain values; the categories are those named, and those `dated` reports."""
        names = frozenset(categories) | {c.name for c in dated}
        return cls(system, tuple(ids), names, facts or RetentionFacts(), dated)

    @property
    def found(self) -> bool:
        """Whether the processor holds anything on the member."""
        return bool(self.ids)


@dataclass(frozen=True)
class Outcome:
    """How a step at one processor ended: statuses, counts and references, never personal data."""

    system: str
    status: Status
    action: Action | None = None
    count: int = 0
    reference: str | None = None
    detail: str = ""
    verified: bool | None = None
    attempts: int = 1
    categories: tuple[CategoryResult, ...] = ()  # per category, where the processor erases by category

    @classmethod
    def erased(cls, system: str, count: int = 1, reference: str | None = None) -> Outcome:
        """The data is gone."""
        return cls(system, Status.ERASED, Action.DELETE, count=count, reference=reference)

    @classmethod
    def anonymised(cls, system: str, count: int = 1, detail: str = "") -> Outcome:
        """The record stays with nothing that points to the member."""
        return cls(system, Status.ANONYMISED, Action.ANONYMISE, count=count, detail=detail)

    @classmethod
    def restricted(cls, system: str, count: int = 1, detail: str = "") -> Outcome:
        """The record stays, marked restricted (GDPR Art. 18) until its hold expires."""
        return cls(system, Status.RESTRICTED, Action.RESTRICT, count=count, detail=detail)

    @classmethod
    def already_absent(cls, system: str, action: Action | None = None) -> Outcome:
        """There was nothing left to erase; success."""
        return cls(system, Status.ALREADY_ABSENT, action, count=0)

    @classmethod
    def accepted(cls, system: str, reference: str, action: Action = Action.DELETE) -> Outcome:
        """The processor took an asynchronous job; poll `reference`."""
        return cls(system, Status.ACCEPTED, action, reference=reference)

    @property
    def job_running(self) -> bool:
        """Whether the processor is still working on an asynchronous job that can be polled."""
        return self.status is Status.ACCEPTED and self.reference is not None

    def with_(self, **changes: object) -> Outcome:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


class Connector(Protocol):
    """One processor's API, as slett uses it."""

    system: str

    async def lookup(self, subject: Subject) -> Holdings:
        """What this processor holds on the member."""

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete, anonymise or restrict what `holdings` found; `key` makes it idempotent."""

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Read back: the member must be gone, anonymised or restricted as `action` planned."""

    async def poll(self, reference: str) -> Outcome:
        """The state of an asynchronous job this processor accepted."""


class CategoryConnector(Protocol):
    """A processor that erases and reads back one category of a member's data at a time."""

    async def erase_category(self, holdings: Holdings, erasure: CategoryErasure, key: str) -> Outcome:
        """Delete, anonymise or restrict one category; a restricted one keeps only `erasure.keeps`."""

    async def verify_category(self, holdings: Holdings, erasure: CategoryErasure) -> Outcome:
        """Read back one category: erased, gone; held, still there, restricted, with only its kept fields."""


class ConsentKeeper(Protocol):
    """A membership system that keeps marketing consents and can withdraw them all at once."""

    async def withdraw_consents(self, member_id: str, key: str) -> Outcome:
        """Withdraw every marketing consent the member gave; idempotent by `key`."""

    async def verify_withdrawn(self, member_id: str) -> Outcome:
        """Read back that no marketing consent is granted any more."""


@dataclass(frozen=True)
class ListedContact:
    """One contact a marketing processor lists: its id there and its channels; lives only inside one task."""

    system: str
    id: str
    email: str | None = None
    phone: str | None = None

    def __repr__(self) -> str:
        return f"ListedContact(system={self.system!r}, id={self.id!r}, <contact redacted>)"

    __str__ = __repr__


class ContactLister(Protocol):
    """A marketing processor that lists every contact it holds, so a sweep can find one added again."""

    def contacts(self) -> AsyncIterator[ListedContact]:
        """Every contact, a page at a time behind the iterator; ids as `lookup` gives them."""


class Releaser(Protocol):
    """A processor that keeps records under a hold and can delete them once the hold expires."""

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Delete for good the held records of `categories` dated up to `through` (all when None)."""


@dataclass(frozen=True)
class GuestPage:
    """One page of guests past their limit: the processor's ids, and where the next page starts."""

    ids: tuple[str, ...]
    next_cursor: str | None
    members: tuple[str, ...] = ()  # the members' ids at the chain, where the listing names them (course participants)


class GuestPurger(Protocol):
    """A processor that can list guests (no paying agreement) past a date and delete them in batches."""

    async def stale_guests(self, last_visit_before: date, limit: int, cursor: str | None) -> GuestPage:
        """Guests whose last visit was before the date, a page at a time."""

    async def purge(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of guests; idempotent by `key`; count says how many went."""


class CoursePurger(Protocol):
    """A processor that lists course participants past their course's end and deletes them in batches."""

    async def expired_participants(self, course_ended_before: date, limit: int,
                                   cursor: str | None) -> GuestPage:
        """Participants whose every course ended before the date and who did not ask to be kept."""

    async def purge_participants(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of participants; idempotent by `key`; count says how many went."""
