"""The settings slett gives the Prefect servers it starts, seen from a client of the test server (started with them)."""

from __future__ import annotations

import httpx
from prefect import get_client
from prefect.settings import PREFECT_CLIENT_CSRF_SUPPORT_ENABLED, temporary_settings


async def _paths_of_a_first_write() -> list[str]:
    """The paths a new API client requests to make its first write."""
    paths: list[str] = []

    async def note(request: httpx.Request) -> None:
        paths.append(request.url.path.rsplit("/api", 1)[-1])

    async with get_client(httpx_settings={"event_hooks": {"request": [note]}}) as client:
        await client.create_flow_from_name("csrf-probe")
    return paths


async def test_a_new_client_writes_without_asking_for_a_csrf_token_the_server_does_not_require(prefect_server):
    """A server slett starts requires no CSRF token and its clients ask for none; a client left to ask would ask
    before its first write."""
    told = await _paths_of_a_first_write()
    with temporary_settings(updates={PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: True}):
        left_to_ask = await _paths_of_a_first_write()

    assert (["/flows/"], ["/csrf-token", "/flows/"]) == (told, left_to_ask)
