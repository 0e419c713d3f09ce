"""A processor's REST API described as data: the calls slett makes, validated when the file is loaded."""

from __future__ import annotations

import functools
import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from config.yaml_lines import LinedYaml, load_lined
from connectors.actions import JOURNALS

METHODS = ("get", "post", "put", "patch", "delete")
# The values a call's path, parameters and body may name; anything else in braces is a mistake in the file.
PLACEHOLDERS = frozenset({"id", "member_id", "email", "phone", "name", "before", "limit", "cursor", "ids", "keeps"})
# A patient journal is never deleted, anonymised or de-identified by slett (connectors/actions.py): a description
# must make a category by such a name review-only.


class DescriptionError(Exception):
    """A processor description is wrong; the message names the file, the line and the field."""


class Strict(BaseModel):
    """A part of a description: unknown fields are refused, so a misspelt one is named, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def placeholders(template: str) -> set[str]:
    """The names in braces in a template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Call(Strict):
    """One request: written `get: /path` (or post, put, patch, delete), with parameters and a JSON body."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    params: dict[str, str] = {}
    body: dict[str, str] | None = Field(None, alias="json")
    idempotent: bool = False  # send Idempotency-Key (the step's key and the record's id)

    @model_validator(mode="before")
    @classmethod
    def _method_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "method" not in data:
            named = [m for m in METHODS if m in data]
            if len(named) != 1:
                raise ValueError(f"name exactly one method as the call's key ({', '.join(METHODS)})")
            data = {**data, "method": named[0].upper(), "path": data[named[0]]}
            del data[named[0]]
        return data

    @model_validator(mode="after")
    def _known_placeholders(self) -> Call:
        used = placeholders(self.path) | {n for v in [*self.params.values(), *(self.body or {}).values()]
                                          for n in placeholders(v)}
        if unknown := sorted(used - PLACEHOLDERS):
            raise ValueError(f"unknown placeholder(s) {unknown}; known: {sorted(PLACEHOLDERS)}")
        return self


class Listing(Call):
    """A call that answers records: where the list is in the answer (none: the answer is the list)."""

    items: str | None = None


class Lookup(Listing):
    """How the member's records are found: their ids, the category each is, dates to report."""

    id: str
    category: str
    last_journal_entry: str | None = None  # the field whose newest date is the journal's last entry


class Erase(Call):
    """One action's call, made once per record; `detail` goes into the evidence."""

    detail: str = ""


class Check(Call):
    """A read-back call per record and what its answer must show."""

    expect: Literal["gone", "present"] | None = None
    flag: str | None = None  # a field that must be true in the answer (a record gone passes)

    @model_validator(mode="after")
    def _one_expectation(self) -> Check:
        if (self.expect is None) == (self.flag is None):
            raise ValueError("say either `expect: gone|present` or `flag: <field>`")
        return self


class Page(Listing):
    """A paged listing: the parameter that carries the cursor, the field that holds the next one, the id."""

    cursor: str
    next: str
    id: str
    member: str | None = None  # the field holding the member's id at the chain, where the listing has one


class Bulk(Call):
    """A batch delete: `{ids}` in the body is the batch; `count` is the field saying how many went."""

    count: str
    ids_as: Literal["str", "int"] = "str"
    detail: str = ""


class DataCategory(Strict):
    """One category of the member's data: where it is read, its fields, and the calls that erase or hold it."""

    read: Listing  # the category's records for one looked-up id (an answer that is one record is one record)
    fields: dict[str, str] = {}  # slett's name of each personal field: the vendor's field (a.b for nested)
    restricted: str | None = None  # the record's field that is true once it is restricted (GDPR Art. 18)
    review_only: bool = False  # a journal: restricted as written for a clinician's review, never altered
    delete: Erase | None = None
    anonymise: Erase | None = None
    restrict: Erase | None = None  # restricts the records and clears every field not in `{keeps}`
    also: tuple[Check, ...] = ()  # further read-backs once the category is erased (a suppression entry kept)
    takes: tuple[str, ...] = ()  # the categories its deletion takes with it (a customer's bookings)

    @model_validator(mode="after")
    def _complete(self) -> DataCategory:
        if self.review_only and (self.delete or self.anonymise):
            raise ValueError("a review-only category (a journal) is never deleted or anonymised: "
                             "describe only restrict")
        if self.review_only and not self.restrict:
            raise ValueError("a review-only category (a journal) needs restrict: how to restrict it as written")
        if self.restrict and not self.restricted:
            raise ValueError("restrict needs `restricted`: the field the read-back finds true once restricted")
        if self.takes and not self.delete:
            raise ValueError("takes names what the category's deletion takes with it: describe delete")
        if (self.delete or self.anonymise or self.restrict) and not self.fields:
            raise ValueError("name the category's personal fields (fields: {our_name: vendorField}), so the "
                             "read-back can say which are left")
        return self

    def calls(self) -> dict[str, Erase]:
        """The actions this category offers, by name."""
        return {name: call for name, call in (("delete", self.delete), ("anonymise", self.anonymise),
                                              ("restrict", self.restrict)) if call is not None}


class Purge(Strict):
    """Records past a date, listed page by page and deleted in batches."""

    list: Page
    delete: Bulk


class Description(Strict):
    """One processor's API as slett uses it; `api` says whether it is published (with its source) or assumed."""

    system: str
    api: Literal["published", "assumed"]
    source: str | None = None
    confirm: tuple[str, ...] = ()  # what an integrator must confirm with the vendor
    summary: str
    lookup: Lookup
    categories: dict[str, DataCategory] = {}  # a category present when its read is not empty
    gone_when: tuple[int, ...] = (404,)
    erase: dict[Literal["delete", "anonymise", "restrict"], Erase]
    refused_because: str = ""  # why the actions not under `erase` are not offered
    verify: dict[Literal["delete", "anonymise", "restrict"], tuple[Check, ...]]
    release_refused: str | None = None  # a processor whose held records slett must never release
    guests: Purge | None = None
    course_participants: Purge | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Description:
        if self.api == "published" and not self.source:
            raise ValueError("a published API names its source")
        if self.api == "assumed" and not self.confirm:
            raise ValueError("an assumed API lists what an integrator must confirm with the vendor (confirm)")
        if missing := sorted(set(self.erase) - set(self.verify)):
            raise ValueError(f"no read-back for {missing}: add them under verify")
        if journals := sorted(n for n, c in self.categories.items() if n in JOURNALS and not c.review_only):
            raise ValueError(f"{journals}: a journal is never deleted, anonymised or de-identified by slett "
                             "(helsepersonelloven §§ 39-40): mark it review_only")
        if unknown := sorted({t for c in self.categories.values() for t in c.takes} - set(self.categories)):
            raise ValueError(f"takes names {unknown}: not categories of this processor")
        if (reviewed := [n for n, c in self.categories.items() if c.review_only]) and self.release_refused is None:
            raise ValueError(f"{reviewed} is review-only: say why its release is refused (release_refused)")
        return self


def load_description(path: Path) -> Description:
    """Load and check one description; a mistake is named by file, line and field."""
    return _checked(path, path.read_text(encoding="utf-8"))


# Each connector made reads its description: the same text is parsed and checked once per process.
@functools.lru_cache(maxsize=64)
def _checked(path: Path, text: str) -> Description:
    """The description a file's text holds, checked."""
    try:
        lined = load_lined(text)
    except yaml.YAMLError as exc:
        raise DescriptionError(f"{path}: not valid YAML: {exc}") from None
    try:
        return Description.model_validate(lined.data)
    except ValidationError as exc:
        raise DescriptionError("; ".join(where(path, lined, tuple(e["loc"]), e["msg"]) for e in exc.errors())) from None


def where(path: Path, lined: LinedYaml, loc: tuple[str | int, ...], message: str) -> str:
    """One problem as 'file, line N, field.path: message'."""
    line = lined.line_of(loc)
    field = ".".join(str(part) for part in loc)
    text = message.removeprefix("Value error, ")
    return f"{path}, line {line}" + (f", {field}" if field else "") + f": {text}"
