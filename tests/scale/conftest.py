"""The scale configuration: Prefect server on PostgreSQL, two workers on one work pool."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _unavailable(reason: str) -> None:
    # CI has PostgreSQL: there a skip would hide an untested scale configuration.
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the scale tests")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test module, dropped afterwards."""
    name = f"slett_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError, ImportError) as error:
        _unavailable(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({type(error).__name__})")
    yield f"{POSTGRES}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
