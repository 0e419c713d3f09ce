"""What connectors say about actions: which a processor offers, and what a read-back found."""

from __future__ import annotations

from connectors.contract import Action, Outcome, Permanent, Status


def require(system: str, action: Action, *offered: Action, why: str = "") -> None:
    """Raise Permanent unless the processor offers `action`; the message says what it does offer."""
    if action not in offered:
        use = " or ".join(a.value for a in offered)
        raise Permanent(system, f"{action.value} is not offered{f' ({why})' if why else ''}; plan {use}")


def done(system: str, action: Action, status: Status, count: int, detail: str = "") -> Outcome:
    """The outcome of a destructive step: `status` when something changed, else already absent."""
    if not count:
        return Outcome.already_absent(system, action)
    return Outcome(system, status, action, count=count, detail=detail)


def read_back(system: str, action: Action, status: Status, left: int, what: str) -> Outcome:
    """The outcome of a verify: verified when nothing the action should remove is left."""
    if not left:
        return Outcome(system, status, action, verified=True)
    return Outcome(system, Status.FAILED, action, count=left, verified=False,
                   detail=f"read-back: {left} {what} still held")
