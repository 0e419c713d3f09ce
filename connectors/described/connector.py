"""One connector for every processor described as data: it makes the calls its description names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import httpx

from connectors.actions import (
    CATEGORY_STATUS,
    as_journal_allows,
    category_read_back,
    done,
    read_back,
    require,
)
from connectors.contract import (
    Action,
    CategoryCheck,
    CategoryErasure,
    GuestPage,
    Holdings,
    Outcome,
    Permanent,
    RetentionFacts,
    Status,
    Subject,
)
from connectors.described.model import Bulk, Call, Check, DataCategory, Description, Listing, Page, Purge
from connectors.http import ProcessorClient

STATUS = {Action.DELETE: Status.ERASED, Action.ANONYMISE: Status.ANONYMISED, Action.RESTRICT: Status.RESTRICTED}
Values = dict[str, Any]


def _list_of(template: str, values: Values) -> list[Any] | None:
    """The list a body value names on its own ("{ids}", "{keeps}"), sent as a JSON list; None otherwise."""
    name = template[1:-1] if template.startswith("{") and template.endswith("}") else None
    found = values.get(name) if name else None
    return found if isinstance(found, list) else None


def field_of(record: Any, path: str) -> Any:
    """A record's field by the vendor's name, `a.b` for a nested one; None when it is not there."""
    for part in path.split("."):
        record = record.get(part) if isinstance(record, dict) else None
    return record


def filled(template: str, values: Values) -> str | None:
    """The template with its values in; None when a value it names is absent (the parameter is left out)."""
    try:
        return template.format_map({k: v for k, v in values.items() if v is not None})
    except KeyError:
        return None


class DescribedConnector:
    """A processor's API as its description says; subclasses made by `connector_for` add what it offers."""

    system: str
    description: Description

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    @property
    def categories_at_once(self) -> bool:
        """Whether the categories' calls may go at once: no two categories reach one resource (a method and path),
        so a throttle's Retry-After for one category's call is never met by another's."""
        resources = [{(call.method, call.path) for call in (category.read, *category.calls().values(), *category.also)}
                     for category in self.description.categories.values()]
        return sum(map(len, resources)) == len(set().union(*resources))

    async def _send(self, call: Call, values: Values, key: str | None = None, *,
                    allow: frozenset[int] | None = None) -> httpx.Response:
        params = {name: value for name, template in call.params.items()
                  if (value := filled(template, values)) is not None}
        extra: dict[str, Any] = {"params": params} if params else {}
        if call.body is not None:
            extra["json"] = {name: listed if (listed := _list_of(template, values)) is not None else value
                             for name, template in call.body.items()
                             if _list_of(template, values) is not None
                             or (value := filled(template, values)) is not None}
        if call.idempotent and key is not None:
            extra["headers"] = {"Idempotency-Key": key if "id" not in values else f"{key}/{values['id']}"}
        path = filled(call.path, values)
        if path is None:
            raise Permanent(self.system, f"{call.method} {call.path}: a value its path names is missing")
        gone = frozenset(self.description.gone_when)
        return await self._client.request(call.method, path, allow=gone if allow is None else allow,
                                          shown=call.path, **extra)

    def _read(self, answer: Any, name: str, call: Call) -> Any:
        """A field of an answer; a missing one names the call and the file to correct, never a value."""
        try:
            return answer[name]
        except (KeyError, TypeError, IndexError):
            raise Permanent(self.system, f"{call.method} {call.path}: the answer has no field {name!r}; check "
                                         f"connectors/described/{self.system}.yaml") from None

    def _items(self, answer: Any, listing: Listing) -> list[Any]:
        """The records of a listing's answer: at its `items`, or the answer itself."""
        found = answer if listing.items is None else self._read(answer, listing.items, listing)
        if not isinstance(found, list):
            raise Permanent(self.system, f"{listing.method} {listing.path}: the answer holds no list there; name "
                                         f"where it is with `items` in connectors/described/{self.system}.yaml")
        return found

    def _gone(self, answer: httpx.Response) -> bool:
        return answer.status_code in self.description.gone_when

    async def _records(self, listing: Listing, record_id: str) -> list[Any]:
        """A category's records for one looked-up id: none when gone, one when the answer is a record."""
        answer = await self._send(listing, {"id": record_id})
        if self._gone(answer):
            return []
        body = answer.json()
        found = self._read(body, listing.items, listing) if listing.items else body
        return [found] if isinstance(found, dict) else self._items(body, listing)

    async def lookup(self, subject: Subject) -> Holdings:
        """The member's records by the described lookup, each category present whose listing is not empty."""
        found = self.description.lookup
        values = {"member_id": subject.member_id, "email": subject.email, "phone": subject.phone,
                  "name": subject.name}
        records = self._items((await self._send(found, values, allow=frozenset())).json(), found)
        ids = [str(self._read(record, found.id, found)) for record in records]
        categories = {found.category} if ids else set()
        for category, described in self.description.categories.items():
            for record_id in ids if category != found.category else ():
                if await self._records(described.read, record_id):
                    categories.add(category)
        facts = RetentionFacts()
        if found.last_journal_entry:
            entries = [date.fromisoformat(self._read(r, found.last_journal_entry, found)) for r in records]
            facts = RetentionFacts(last_journal_entry=max(entries, default=None))
        return Holdings.of(self.system, ids=ids, categories=categories, facts=facts)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """The action's described call for each record; an answer in `gone_when` means already gone."""
        offered = [Action(name) for name in self.description.erase]
        require(self.system, action, *offered, why=self.description.refused_because)
        call = self.description.erase[action.value]  # type: ignore[index]
        changed = 0
        for record_id in holdings.ids:
            changed += not self._gone(await self._send(call, {"id": record_id}, key))
        return done(self.system, action, STATUS[action], changed, detail=call.detail)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Each record read back by the described checks; a record failing any of them is left."""
        checks = self.description.verify.get(action.value)  # type: ignore[call-overload]
        if not checks:
            # Never verified by default: a read-back nobody described proves nothing.
            raise Permanent(self.system, f"no read-back is described for {action.value}; add it under verify in "
                                         f"connectors/described/{self.system}.yaml")
        left = 0
        for record_id in holdings.ids:
            left += not all([await self._passes(check, record_id) for check in checks])
        what = "record(s) not " + {"delete": "gone", "anonymise": "anonymised", "restrict": "restricted"}[action.value]
        return read_back(self.system, action, STATUS[action], left, what)

    async def _passes(self, check: Check, record_id: str) -> bool:
        answer = await self._send(check, {"id": record_id})
        if check.flag is None:
            return self._gone(answer) == (check.expect == "gone")
        return self._gone(answer) or self._read(answer.json(), check.flag, check) is True

    def _category(self, erasure: CategoryErasure) -> DataCategory:
        found = self.description.categories.get(erasure.category)
        if found is None:
            raise Permanent(self.system, f"category {erasure.category!r} is not described; add it under "
                                         f"categories in connectors/described/{self.system}.yaml")
        return found

    def _planned(self, described: DataCategory, erasure: CategoryErasure) -> CategoryErasure:
        """The erasure as this processor may carry it out: a journal only restricted as written, before any call."""
        erasure = as_journal_allows(self.system, erasure)
        if described.review_only and erasure.action is not Action.RESTRICT:
            raise Permanent(self.system, f"{erasure.category} is never {erasure.action.value}d by slett: "
                                         f"{self.description.release_refused}")
        if described.review_only or erasure.review:  # restricted as written: every field stays
            return replace(erasure, keeps=tuple(described.fields), review=True)
        return erasure

    def taken_with(self) -> dict[str, tuple[str, ...]]:
        """The categories whose deletion takes others with it (deleting a customer deletes their bookings)."""
        return {name: c.takes for name, c in self.description.categories.items() if c.takes}

    def _kept_as_is(self, described: DataCategory, planned: CategoryErasure) -> bool:
        """A held category the processor cannot restrict (a customer kept for the bookings a legal hold keeps)."""
        return planned.review and planned.rule is not None and described.restrict is None

    async def erase_category(self, holdings: Holdings, erasure: CategoryErasure, key: str) -> Outcome:
        """One category's described call for each looked-up id; a hold names the vendor's fields it keeps."""
        described = self._category(erasure)
        planned = self._planned(described, erasure)
        if self._kept_as_is(described, planned):
            return Outcome(self.system, Status.REFUSED, Action.RESTRICT, detail=self._as_is(erasure))
        calls = described.calls()
        require(self.system, planned.action, *(Action(name) for name in calls),
                why=f"{erasure.category} in connectors/described/{self.system}.yaml")
        call = calls[planned.action.value]
        keeps = [described.fields[name] for name in planned.keeps if name in described.fields]
        changed = 0
        for record_id in holdings.ids:
            changed += not self._gone(await self._send(call, {"id": record_id, "keeps": keeps}, key))
        return done(self.system, planned.action, CATEGORY_STATUS[planned.action], changed, detail=call.detail)

    async def verify_category(self, holdings: Holdings, erasure: CategoryErasure) -> Outcome:
        """Read one category back field by field: erased, gone; held, restricted with only its kept fields."""
        described = self._category(erasure)
        planned = self._planned(described, erasure)
        checks = []
        for record_id in holdings.ids:
            records = await self._records(described.read, record_id)
            left = sorted({name for name, path in described.fields.items() for r in records if field_of(r, path)})
            restricted = bool(records) and bool(described.restricted) and all(
                field_of(r, described.restricted or "") is True for r in records)
            checks.append(CategoryCheck(erasure.category, len(records), restricted, tuple(left),
                                        tuple(described.fields)))
        if self._kept_as_is(described, planned):
            present = all(check.present for check in checks)
            return Outcome(self.system, Status.REFUSED if present else Status.FAILED, Action.RESTRICT,
                           verified=present, detail=self._as_is(erasure) if present else
                           f"read-back of {erasure.category}: gone, though its hold ({erasure.rule}) keeps it")
        outcome = category_read_back(self.system, planned, checks)
        if outcome.verified and planned.action is Action.DELETE:
            missing = [f"{check.method} {check.path}" for record_id in holdings.ids for check in described.also
                       if not await self._passes(check, record_id)]
            if missing:
                return outcome.with_(status=Status.FAILED, verified=False,
                                     detail=f"read-back of {erasure.category}: {', '.join(missing)} not as expected")
        return outcome

    def _as_is(self, erasure: CategoryErasure) -> str:
        return (f"{erasure.category} kept as it is under its hold ({erasure.rule}): {self.system} offers no "
                "restriction of it; it goes when the hold ends")

    async def poll(self, reference: str) -> Outcome:
        """A described processor acts at once; asynchronous jobs need a coded connector."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")

    async def _page(self, page: Page, before: date, limit: int, cursor: str | None) -> GuestPage:
        values = {"before": before.isoformat(), "limit": limit, "cursor": cursor}
        answer = (await self._send(page, values, allow=frozenset())).json()
        following = self._read(answer, page.next, page)
        items = self._items(answer, page)
        members = tuple(str(self._read(r, page.member, page)) for r in items) if page.member else ()
        return GuestPage(tuple(str(self._read(r, page.id, page)) for r in items), str(following) if following else None,
                         members)

    async def _bulk(self, bulk: Bulk, ids: tuple[str, ...], key: str) -> Outcome:
        batch = [int(i) if bulk.ids_as == "int" and i.isdigit() else i for i in ids]
        answer = await self._send(bulk, {"ids": batch}, key, allow=frozenset())
        deleted = int(self._read(answer.json(), bulk.count, bulk))
        return done(self.system, Action.DELETE, Status.ERASED, deleted, detail=bulk.detail)


class RefusesRelease:
    """A processor whose held records slett never releases (a journal: a clinician decides at review)."""

    system: str
    description: Description

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Refused, always and before any call."""
        raise Permanent(self.system, f"release refused: {self.description.release_refused}")


class PurgesGuests(DescribedConnector):
    """Guests with no paying agreement past a date, listed and deleted as described."""

    def _guests(self) -> Purge:
        assert self.description.guests is not None  # only mixed in when the description has guests
        return self.description.guests

    async def stale_guests(self, last_visit_before: date, limit: int, cursor: str | None) -> GuestPage:
        """Guests whose last visit was before the date, a page at a time."""
        return await self._page(self._guests().list, last_visit_before, limit, cursor)

    async def purge(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of guests in one call; a replay with the same key gets the first answer."""
        return await self._bulk(self._guests().delete, ids, key)


class PurgesCourseParticipants(DescribedConnector):
    """Course participants past their course's end, listed and deleted as described."""

    def _courses(self) -> Purge:
        assert self.description.course_participants is not None  # only mixed in when described
        return self.description.course_participants

    async def expired_participants(self, course_ended_before: date, limit: int,
                                   cursor: str | None) -> GuestPage:
        """Participants whose every course ended before the date and who did not ask to be kept."""
        return await self._page(self._courses().list, course_ended_before, limit, cursor)

    async def purge_participants(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of course participants in one call."""
        return await self._bulk(self._courses().delete, ids, key)


def connector_for(description: Description) -> type[DescribedConnector]:
    """The connector class of a description: only what it describes is offered (the flows ask by attribute)."""
    bases: list[type] = []
    if description.release_refused is not None:
        bases.append(RefusesRelease)
    if description.guests is not None:
        bases.append(PurgesGuests)
    if description.course_participants is not None:
        bases.append(PurgesCourseParticipants)
    name = f"{description.system.capitalize()}Described"
    made: type[DescribedConnector] = type(name, (*bases, DescribedConnector),
                                          {"system": description.system, "description": description,
                                           "__doc__": description.summary})
    return made
