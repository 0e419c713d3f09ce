"""Reading a Prefect API listing to its end, a page at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

PAGE = 200  # the Prefect API's largest page
T = TypeVar("T")


async def every_page(read: Callable[[int, int], Awaitable[list[T]]], page: int = PAGE) -> list[T]:
    """Every item a listing returns, read with `read(limit, offset)` until a page comes back short."""
    found: list[T] = []
    while True:
        batch = await read(page, len(found))
        found += batch
        if len(batch) < page:
            return found
