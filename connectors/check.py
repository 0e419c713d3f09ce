"""A processor read once before any real request: does it answer at its address, with its key, on its path?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from config.policy import OFFLINE
from config.settings import Settings, SettingsError
from connectors.contract import ConnectorError, GuestPurger, Subject
from connectors.http import RetryPolicy
from connectors.registry import connect

# A member no processor can hold: the lookup reads nothing real. The e-mail's domain is reserved (RFC 2606).
NOBODY = Subject("check-processors", "slett-check-processors", email="check-processors@slett.invalid")
LONG_AGO = date(1900, 1, 1)  # no guest's last visit is older: the listing reads an empty page
ONE_TRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class Check:
    """How one processor answered the check: whether it did, and why not, in words an integrator can act on."""

    system: str
    answered: bool
    reason: str


def reason_of(system: str, error: ConnectorError) -> str:
    """What a failed check means and what to look at, from the status or the missing answer."""
    variable = f"SLETT_PROCESSORS__{system.upper()}"
    if error.status in (401, 403):
        return f"the key was refused (HTTP {error.status}): check {variable}__API_KEY ({error})"
    if error.status == 404:
        return f"the path is not found (HTTP 404): check the path in {variable}__BASE_URL ({error})"
    if error.status is not None:
        return f"it answered HTTP {error.status} ({error})"
    return f"no answer: {error}; check the host in {variable}__BASE_URL"


async def check_processor(system: str, settings: Settings) -> Check:
    """Read the processor once (a guest listing of nobody, else a lookup of a member no one is) with one try."""
    if system in OFFLINE:
        return Check(system, True, "no API: its steps are a person's, nothing to reach")
    try:
        async with connect(system, settings, ONE_TRY) as (connector, _):
            if hasattr(connector, "stale_guests"):
                # A member lookup may read a 404 as "no such member"; a listing must answer, so a wrong path shows.
                purger: GuestPurger = connector  # type: ignore[assignment]
                await purger.stale_guests(LONG_AGO, 1, None)
            else:
                await connector.lookup(NOBODY)
    except SettingsError as exc:
        return Check(system, False, f"not configured: {exc}")
    except ConnectorError as exc:
        return Check(system, False, reason_of(system, exc))
    return Check(system, True, "answers: the key is accepted and the lookup reads")


async def check_processors(systems: list[str], settings: Settings) -> list[Check]:
    """Each processor checked once, one after the other."""
    return [await check_processor(system, settings) for system in systems]
