"""Bearer-token checking for the stand-in processors: any key will do, no key will not."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send


def unauthorised() -> Response:
    """The plain 401 most processors send."""
    return JSONResponse({"error": "missing or malformed bearer token"}, 401,
                        headers={"WWW-Authenticate": "Bearer"})


class BearerAuth:
    """ASGI middleware: a request without `Authorization: Bearer <key>` gets the processor's 401."""

    def __init__(self, app: ASGIApp, deny: Callable[[], Response] = unauthorised) -> None:
        self.app = app
        self.deny = deny

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an authorised request on; answer any other with 401."""
        if scope["type"] == "http":
            scheme, _, key = Headers(scope=scope).get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                await self.deny()(scope, receive, send)
                return
        await self.app(scope, receive, send)
