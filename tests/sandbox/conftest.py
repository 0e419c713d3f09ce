"""Sandbox tests: a fresh sandbox and plain httpx clients to its apps."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sandbox.world import Sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh sandbox with the seeded demo members."""
    return Sandbox()


@pytest.fixture
def client(sandbox: Sandbox) -> Callable[..., httpx.AsyncClient]:
    """An httpx client to one system's app, authorised unless told otherwise."""

    def open_(system: str, authorised: bool = True, timeout: float = 5.0,
              headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        headers = ({"Authorization": "Bearer test"} if authorised else {}) | (headers or {})
        return httpx.AsyncClient(transport=sandbox.transports()[system], base_url=f"http://{system}.sandbox",
                                 headers=headers, timeout=timeout)

    return open_
