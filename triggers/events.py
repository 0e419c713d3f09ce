"""What the membership system sends: an envelope {type, timestamp, data}, validated with pydantic."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.values import MEMBER_ID, Kind

CONTROLLER = r"^[a-z0-9][a-z0-9_-]{0,63}$"
INVOICE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# The types that start an erasure, and why the member's data is to go.
MEMBER_EVENTS = {"member.terminated": Kind.TERMINATION, "erasure.requested": Kind.ERASURE}
INVOICE_SETTLED = "invoice.settled"
MARKETING_WITHDRAWN = "marketing.withdrawn"  # consent withdrawn or direct marketing objected to (GDPR 7(3), 21(2))


class MemberData(BaseModel):
    """Which member of which chain; any other field the sender adds is ignored, never stored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: str = Field(pattern=CONTROLLER, description="the chain, as named in config/controllers",
                            examples=["demo"])
    member_id: str = Field(pattern=MEMBER_ID.pattern, description="the member's id at the membership system",
                           examples=["M1002"])


class InvoiceData(MemberData):
    """A member's invoice that is now paid."""

    invoice_id: str = Field(pattern=INVOICE_ID, description="the settled invoice", examples=["INV-1002-202601"])


class Event(BaseModel):
    """Any webhook: its type, when the event happened (not when it was sent), and its data."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: str = Field(min_length=1, max_length=64, description="e.g. member.terminated", examples=["member.terminated"])
    timestamp: AwareDatetime = Field(description="when the event happened at the membership system")
    data: dict[str, Any]


class MemberEvent(Event):
    """member.terminated or erasure.requested: start erase-member for the member."""

    type: Literal["member.terminated", "erasure.requested"]
    data: MemberData  # type: ignore[assignment]


class SettledEvent(Event):
    """invoice.settled: resume the member's erasure that waits for settlement."""

    type: Literal["invoice.settled"]
    data: InvoiceData  # type: ignore[assignment]


class WithdrawnEvent(Event):
    """marketing.withdrawn: start withdraw-marketing for the member (marketing stops; nothing else is touched)."""

    type: Literal["marketing.withdrawn"]
    data: MemberData  # type: ignore[assignment]


Verified = MemberEvent | SettledEvent | WithdrawnEvent


def typed(event: Event) -> Verified | None:
    """The event with its data checked for its type; None for a type slett does not act on."""
    if event.type in MEMBER_EVENTS:
        return MemberEvent.model_validate(event.model_dump())
    if event.type == INVOICE_SETTLED:
        return SettledEvent.model_validate(event.model_dump())
    if event.type == MARKETING_WITHDRAWN:
        return WithdrawnEvent.model_validate(event.model_dump())
    return None
