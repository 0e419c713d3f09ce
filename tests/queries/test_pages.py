"""Reading a listing to its end."""

from __future__ import annotations

from queries.pages import every_page


async def test_every_page_reads_until_a_short_page() -> None:
    """Pages are asked for at growing offsets until one comes back shorter than the page size."""
    items = list(range(7))
    asked: list[tuple[int, int]] = []

    async def read(limit: int, offset: int) -> list[int]:
        asked.append((limit, offset))
        return items[offset:offset + limit]

    assert items == await every_page(read, page=3)
    assert [(3, 0), (3, 3), (3, 6)] == asked


async def test_every_page_asks_once_more_after_a_full_last_page() -> None:
    """A listing that ends on a full page is confirmed by one empty page."""
    items = list(range(4))

    async def read(limit: int, offset: int) -> list[int]:
        return items[offset:offset + limit]

    assert items == await every_page(read, page=2)
