"""The values that flow between steps (ids, dates and statuses, never personal data) and the Oslo time zone."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from config.holds import Hold
from config.workdays import ONE_MONTH
from connectors.contract import Action, CategoryErasure, CategoryResult, Holdings, Outcome

# Every date slett reckons with (deadlines, holds, schedules) is a day in Oslo.
OSLO = ZoneInfo("Europe/Oslo")
MEMBER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Every cached step's key (and so its result's file name) starts so: recover-crashed tells a run that got
# further (a step done for good) from one that dies at the same place every time by it.
STEP_KEY = "slett-"


class Kind(enum.StrEnum):
    """Why the member's data is to go."""

    TERMINATION = "termination"
    ERASURE = "erasure"
    WITHDRAWAL = "withdrawal"  # marketing consent withdrawn, or direct marketing objected to: nothing else goes
    COURSE_OVER = "course_over"  # a course ended: its data goes at the processors its purge names, nothing else


def subject_reference(key: SecretStr, controller: str, member_id: str) -> str:
    """A pseudonymous, stable reference to the member for evidence: keyed HMAC-SHA256."""
    digest = hmac.new(key.get_secret_value().encode(), f"{controller}:{member_id}".encode(), hashlib.sha256)
    return "sr-" + digest.hexdigest()[:24]


def normal_email(email: str) -> str:
    """An e-mail address as compared: trimmed, lower case."""
    return email.strip().lower()


def normal_phone(phone: str) -> str:
    """A phone number as compared: digits with the country code, +47 when none is given."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+"):
        return f"+{digits}"
    return f"+47{digits}" if len(digits) == 8 else f"+{digits.removeprefix('00')}"


def contact_reference(key: SecretStr, controller: str, channel: str, value: str) -> str:
    """A keyed HMAC-SHA256 reference to one contact value (channel "email" or "phone") at one controller: what a
    suppression entry keeps instead of the address or number, and what a sweep compares a contact with."""
    normal = normal_email(value) if channel == "email" else normal_phone(value)
    digest = hmac.new(key.get_secret_value().encode(), f"contact:{controller}:{channel}:{normal}".encode(),
                      hashlib.sha256)
    return "cr-" + digest.hexdigest()[:32]


def artifact_key(prefix: str, request_id: str) -> str:
    """An artifact key Prefect accepts (lowercase letters, digits, dashes), one per request id."""
    normal = re.sub(r"[^a-z0-9-]+", "-", request_id.lower()).strip("-")
    if normal == request_id:
        return f"{prefix}-{normal}"
    # Normalising folds ids together ("A_1", "a.1", "a-1"): the exact id's hash keeps their keys apart.
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:12]
    return f"{prefix}-{normal}-{digest}" if normal else f"{prefix}-{digest}"


@dataclass(frozen=True)
class Request:
    """One erasure request: who (by id), for which controller, why, and its deadline."""

    request_id: str
    controller: str
    member_id: str
    kind: Kind
    subject_ref: str
    received: datetime
    deadline: date
    deadline_reason: str = ONE_MONTH


@dataclass(frozen=True)
class SystemPlan:
    """One processor's part of an erasure: what it holds and what to do there."""

    system: str
    role: str
    action: Action
    holdings: Holdings
    supplier: str | None = None  # for a processor with no API: who a person acts at
    key: str = ""  # the step's name in the policy (system, or system-supplier); the system when empty
    # Per category found, its action and kept fields (the data map); empty: the processor is erased as a block.
    erasures: tuple[CategoryErasure, ...] = ()

    @property
    def step(self) -> str:
        """The step's name: unique within a request even where several suppliers share `manual`."""
        return self.key or self.system

    @property
    def by_person(self) -> bool:
        """Whether a person carries the step out (a processor with no API), so it runs with no ids found."""
        return self.supplier is not None

    @property
    def nothing_to_erase(self) -> bool:
        """Whether the processor holds nothing on the member and no person acts there: the step needs no call."""
        return not self.holdings.found and not self.by_person

    def idempotency_key(self, request_id: str) -> str:
        """The key every destructive call for this step carries: (request, step, action)."""
        return f"slett:{request_id}:{self.step}:{self.action.value}"


@dataclass(frozen=True)
class Step:
    """One processor's row in the evidence."""

    system: str
    role: str
    action: str
    status: str
    verified: bool | None
    attempts: int
    reference: str | None = None
    detail: str = ""
    basis: str | None = None
    retain_until: date | None = None
    release_run: str | None = None
    supplier: str | None = None
    confirmed_by: str | None = None  # who confirmed a step at a processor with no API
    confirmed_on: date | None = None  # the day they say it was done
    categories: tuple[CategoryResult, ...] = ()  # per category: action, status, read-back, kept fields, rule

    @classmethod
    def of(cls, plan: SystemPlan, outcome: Outcome) -> Step:
        """The evidence row for a planned step and how it ended."""
        return cls(plan.step, plan.role, plan.action.value, outcome.status.value, outcome.verified,
                   outcome.attempts, outcome.reference, outcome.detail, supplier=plan.supplier,
                   categories=outcome.categories)


@dataclass(frozen=True)
class Told:
    """A recipient of the member's data told of the erasure (GDPR Art. 19): who, how, when, by whom."""

    recipient: str  # the supplier, or the processor's system
    step: str  # the request's step at that recipient; "" for one not involved in this request
    how: str  # "api": the erasure call itself; "person": a notice a person sent and confirmed; "not told": why not
    on: date | None = None
    by: str | None = None  # the person who sent a notice
    detail: str = ""


@dataclass(frozen=True)
class Evidence:
    """What a DPO shows Datatilsynet for one request."""

    request: Request
    status: str
    steps: tuple[Step, ...]
    holds: tuple[Hold, ...] = ()
    finished: datetime | None = None
    flow_run_id: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    act_by: date | None = None  # the last day the chain's own buffer allows ("within 3 months after ...")
    # An erasure request while the membership runs (the chain's `while_member`): marketing stopped, the rest kept
    # until this day, the membership's end; nothing else was erased.
    kept_while_member: date | None = None
    told: tuple[Told, ...] = ()  # every recipient the policy names, told of the erasure or why not (Art. 19)


@dataclass(frozen=True)
class Extension:
    """An Art. 12(3) extension: the new deadline, why, who decided and when."""

    request_id: str
    original_deadline: date
    deadline: date
    reason: str
    recorded_by: str
    recorded: datetime

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> Extension | None:
        """The extension recorded in an `extension-<request>` artifact, if it holds one."""
        if not document or "reason" not in document:
            return None
        return cls(document["request_id"], date.fromisoformat(document["original_deadline"]),
                   date.fromisoformat(document["deadline"]), document["reason"], document["recorded_by"],
                   datetime.fromisoformat(document["recorded"]))
