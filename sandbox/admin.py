"""The sandbox's own control endpoints (never subject to faults): settle, terminate, forget, withdraw marketing,
faults, journal, reset."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.world import Sandbox


def admin_app(sandbox: Sandbox) -> Starlette:
    """JSON endpoints to drive a running sandbox, mounted under /_sandbox."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "systems": sorted(sandbox.apps)})

    async def add_member(request: Request) -> Response:
        options: dict[str, Any] = await request.json() if await request.body() else {}
        try:
            member = sandbox.add_member(**options)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"memberId": member.member_id}, 201)

    async def settle(request: Request) -> Response:
        member_id = request.path_params["member_id"]
        if member_id not in sandbox.exceline.members and member_id not in sandbox.eziteq.members:
            return JSONResponse({"error": "member not found"}, 404)
        return JSONResponse({"memberId": member_id, "paid": sandbox.settle(member_id)})

    async def terminate(request: Request) -> Response:
        member_id = request.path_params["member_id"]
        options: dict[str, Any] = await request.json() if await request.body() else {}
        events = {"forget": sandbox.forget, "withdraw-marketing": sandbox.withdraw_marketing}
        event = events.get(request.url.path.rsplit("/", 1)[-1], sandbox.terminate)
        try:
            sent = event(member_id, options.get("controller"))
        except KeyError:
            return JSONResponse({"error": "member not found"}, 404)
        return JSONResponse({"memberId": member_id, "webhookId": sent.webhook_id if sent else None}, 202)

    async def webhooks(request: Request) -> Response:
        sent = sandbox.webhooks.deliveries if sandbox.webhooks else []
        return JSONResponse({"deliveries": [delivery.as_json() for delivery in sent]})

    async def faults(request: Request) -> Response:
        system = request.path_params["system"]
        if system not in sandbox.faults:
            return JSONResponse({"error": f"unknown system; known: {sorted(sandbox.faults)}"}, 404)
        try:
            sandbox.faults[system].configure(**await request.json())
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(sandbox.faults[system].switches())

    async def calls(request: Request) -> Response:
        member_id = request.path_params["member_id"]
        return JSONResponse({"memberId": member_id,
                             "calls": [call.as_json() for call in sandbox.journal.calls_for(member_id)]})

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return JSONResponse({"members": [member.member_id for member in sandbox.members]})

    return Starlette(routes=[
        Route("/health", health),
        Route("/members", add_member, methods=["POST"]),
        Route("/members/{member_id}/settle", settle, methods=["POST"]),
        Route("/members/{member_id}/terminate", terminate, methods=["POST"]),
        Route("/members/{member_id}/forget", terminate, methods=["POST"]),
        Route("/members/{member_id}/withdraw-marketing", terminate, methods=["POST"]),
        Route("/webhooks", webhooks),
        Route("/faults/{system}", faults, methods=["POST"]),
        Route("/calls/{member_id}", calls),
        Route("/reset", reset, methods=["POST"]),
    ])
