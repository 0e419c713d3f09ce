"""After a suite: look for every member's name, e-mail, phone and address in what the orchestration kept
(database rows, result storage, process logs), in time proportional to the data, not data x values.

cli/audit.py looks for each value in turn, which is right for an operator's list of a few identifiers;
a suite with 1,200 values indexes them by their first word and checks only where a word matches.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from cli.audit import Hit, encodings, files_under

WORD = re.compile(rb"[^\s\"',:;()\[\]{}<>=]+")


class Needles:
    """Every byte form of every value, found by the first word each form starts with."""

    def __init__(self, values: Iterable[str]) -> None:
        self.by_word: dict[bytes, list[tuple[int, bytes]]] = defaultdict(list)
        for index, value in enumerate(values):
            for form in encodings(value):
                first = WORD.match(form)
                if first:
                    self.by_word[first.group().lower()].append((index, form.lower()))

    def found_in(self, data: bytes) -> set[int]:
        """The indexes of the values that occur in `data`."""
        found: set[int] = set()
        lowered = data.lower()
        for word in WORD.finditer(lowered):
            for index, form in self.by_word.get(word.group(), ()):
                if lowered.startswith(form, word.start()):
                    found.add(index)
        return found


def scan_files(paths: Iterable[Path], needles: Needles) -> list[Hit]:
    """Every file under `paths` holding a value; which value by index, never the value."""
    return [Hit(str(path), index, 0) for path in files_under(paths) for index in needles.found_in(path.read_bytes())]


async def scan_rows(url: str, needles: Needles) -> list[Hit]:
    """Every table and column of a Prefect database holding a value."""
    from sqlalchemy import MetaData, select
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    hits: set[tuple[str, int]] = set()
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            for table in metadata.tables.values():  # any order: sorting trips over foreign-key cycles
                async for row in await connection.stream(select(table)):
                    for column, cell in zip(table.columns, row, strict=True):
                        text = cell if isinstance(cell, str) else json.dumps(cell, default=str)
                        hits.update((f"{table.name}.{column.name}", i) for i in needles.found_in(text.encode()))
    finally:
        await engine.dispose()
    return [Hit(where, index, 0) for where, index in sorted(hits)]
