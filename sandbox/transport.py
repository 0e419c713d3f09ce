"""An in-process transport to a sandbox app that, like a network, gives up when the read timeout passes."""

from __future__ import annotations

import asyncio

import httpx


class SandboxTransport(httpx.ASGITransport):
    """httpx.ASGITransport that honours the request's read timeout (the plain one waits forever)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Call the app; raise httpx.ReadTimeout if it has not answered within the read timeout."""
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            async with asyncio.timeout(timeout):
                return await super().handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout("the sandbox did not answer in time", request=request) from None
