"""Scan what the orchestration keeps (database, result storage, logs) for personal values."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Hit:
    """A personal value found in a file; `value_index` says which, never the value itself."""

    path: str
    value_index: int
    offset: int


def encodings(value: str) -> set[bytes]:
    """The byte forms a value takes on disk: UTF-8, JSON-escaped, and lowercased."""
    forms = {value, value.lower(), json.dumps(value)[1:-1], json.dumps(value.lower())[1:-1]}
    return {form.encode("utf-8") for form in forms if form}


def files_under(paths: Iterable[Path]) -> Iterator[Path]:
    """Every regular file in or under the given paths."""
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.is_file())


def scan(paths: Iterable[Path], values: Iterable[str]) -> list[Hit]:
    """Every place a value occurs in the files under `paths`."""
    needles = [(index, encodings(value)) for index, value in enumerate(values) if value]
    hits = []
    for path in files_under(paths):
        data = path.read_bytes()
        for index, forms in needles:
            for form in forms:
                offset = data.find(form)
                if offset >= 0:
                    hits.append(Hit(str(path), index, offset))
                    break
    return hits


async def scan_database(url: str, values: Iterable[str]) -> list[Hit]:
    """Every table and column of a Prefect database (SQLite or PostgreSQL) where a value occurs."""
    from sqlalchemy import MetaData, select
    from sqlalchemy.ext.asyncio import create_async_engine

    needles = [(index, {form.decode() for form in encodings(value)}) for index, value in enumerate(values) if value]
    engine = create_async_engine(url)
    hits: list[Hit] = []
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            for table in metadata.sorted_tables:
                result = await connection.stream(select(table))
                async for row in result:
                    for column, cell in zip(table.columns, row, strict=True):
                        text = cell if isinstance(cell, str) else json.dumps(cell, default=str)
                        hits += [Hit(f"{table.name}.{column.name}", index, 0)
                                 for index, forms in needles if any(form in text for form in forms)]
    finally:
        await engine.dispose()
    return hits
