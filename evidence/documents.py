"""Evidence as documents: plain JSON values, their canonical form and digest, fenced in markdown artifacts."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

_FENCE = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def plain(value: object) -> Any:
    """A JSON value for dataclasses, enums, dates, tuples and sets (sets sorted, so the form is stable)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def canonical_json(value: object) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 kept (the form digests are taken over)."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256(value: object) -> str:
    """The SHA-256 of a value's canonical JSON, or of a text as UTF-8."""
    text = value if isinstance(value, str) else canonical_json(value)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fenced(value: object) -> str:
    """A value as an indented JSON block in markdown: readable in the Prefect UI, parsed back exactly."""
    return "```json\n" + json.dumps(plain(value), indent=2, sort_keys=True, ensure_ascii=False) + "\n```"


def unfenced(markdown: object) -> dict[str, Any] | None:
    """The JSON object in a markdown artifact's first JSON block, or None if it has none."""
    if not isinstance(markdown, str):
        return None
    found = _FENCE.search(markdown)
    if found is None:
        return None
    try:
        value = json.loads(found[1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def table_data(data: object) -> list[dict[str, Any]]:
    """A table artifact's rows; the API returns them as JSON text."""
    rows = json.loads(data) if isinstance(data, str) else data
    return list(rows) if isinstance(rows, list) else []
