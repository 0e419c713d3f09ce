"""Guests (visitors with no paying agreement), kept compactly so one sandbox can hold hundreds of thousands."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.requests import Request

GONE = 0  # the day stored for a deleted guest; no real visit has ordinal 0
GIVEN = ("Kari", "Ola", "Ingrid", "Lars", "Sigrid", "Anders", "Solveig", "Magnus")


@dataclass
class Guests:
    """One processor's guests: consecutive numbers and one last-visit day each; contact details derived.

    Four bytes a guest: the number is the position, the day an ordinal, so 100,000 guests take 400 kB.
    """

    prefix: str = ""
    first: int = 1
    max_batch: int = 500
    _days: array[int] = field(default_factory=lambda: array("i"), repr=False)
    _live: int = 0

    def add(self, count: int, last_visit: date) -> range:
        """Add `count` guests who last visited on `last_visit`; their numbers."""
        if count < 0:
            raise ValueError(f"count must not be negative (got {count})")
        start = self.first + len(self._days)
        self._days += array("i", [last_visit.toordinal()]) * count
        self._live += count
        return range(start, start + count)

    def id_of(self, number: int) -> str:
        """The processor's id for a guest number."""
        return f"{self.prefix}{number}"

    def number_of(self, guest_id: str) -> int | None:
        """The number of a live guest id; None for an unknown, deleted or malformed id."""
        index = self._index(guest_id)
        return None if index is None or self._days[index] == GONE else self.first + index

    def last_visit(self, number: int) -> date:
        """The day the guest last visited."""
        return date.fromordinal(self._days[number - self.first])

    def record(self, number: int) -> dict[str, Any]:
        """The guest's details, derived from the number: a fake name, e-mail and phone."""
        digits = f"{number % 10_000_000:07d}"
        return {"firstName": GIVEN[number % len(GIVEN)], "lastName": f"Gjest-{number}",
                "email": f"gjest.{number}@example.no", "phone": f"+47 4{digits[:2]} {digits[2:4]} {digits[4:]}",
                "lastVisit": self.last_visit(number).isoformat()}

    def stale(self, before: date, limit: int, after: str | None = None) -> tuple[list[int], str | None]:
        """Up to `limit` guest numbers whose last visit was before `before`, after the cursor; the next cursor."""
        start = 0
        if after is not None:
            index = self._index(after)
            if index is None:
                raise ValueError(f"unknown cursor {after!r}")
            start = index + 1
        cutoff, days, found = before.toordinal(), self._days, []
        for index in range(start, len(days)):
            if GONE != days[index] < cutoff:
                found.append(self.first + index)
                if len(found) == limit:
                    more = index + 1 < len(days)
                    return found, self.id_of(self.first + index) if more else None
        return found, None

    def too_many(self, ids: list[Any]) -> bool:
        """Whether one bulk call names more guests than the processor accepts."""
        return len(ids) > self.max_batch

    def delete(self, ids: list[str]) -> tuple[int, list[str]]:
        """Delete the named guests; how many went, and the ids that were not (or no longer) there."""
        deleted, missing = 0, []
        for guest_id in ids:
            number = self.number_of(str(guest_id))
            if number is None:
                missing.append(guest_id)
                continue
            self._days[number - self.first] = GONE
            deleted += 1
        self._live -= deleted
        return deleted, missing

    def __len__(self) -> int:
        return self._live

    @property
    def size_bytes(self) -> int:
        """The memory the guests take, deleted ones included."""
        return self._days.itemsize * len(self._days)

    def clear(self) -> None:
        """Forget every guest."""
        self._days = array("i")
        self._live = 0

    def _index(self, guest_id: str) -> int | None:
        digits = guest_id[len(self.prefix):] if guest_id.startswith(self.prefix) else ""
        if not digits.isdigit():
            return None
        index = int(digits) - self.first
        return index if 0 <= index < len(self._days) else None


async def bulk_ids(request: Request, name: str) -> list[Any] | None:
    """The list of ids under `name` in a bulk call's JSON body; None when the body is not that."""
    try:
        body = await request.json()
    except ValueError:
        return None
    ids = body.get(name) if isinstance(body, dict) else None
    return ids if isinstance(ids, list) else None
