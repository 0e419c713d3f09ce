"""The webhook receiver: POST /webhooks/membership (Standard Webhooks 1.0) and GET /healthz."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal
from uuid import UUID

import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from config.settings import Settings, SettingsError
from domain.values import subject_reference
from triggers.dispatch import Dispatcher, DispatchUnavailable, dispatch
from triggers.events import Event, MemberEvent, SettledEvent, WithdrawnEvent, typed
from triggers.signature import SignatureError, verify

PATH = "/webhooks/membership"
RETRY_AFTER_S = 30
log = structlog.get_logger("slett.receiver")


class Answer(BaseModel):
    """What the receiver did with a delivery."""

    status: Literal["started", "pending", "done", "resumed", "queued", "ignored"]
    flow_run_id: UUID | None = Field(None, description="the member's erase-member run (none while queued)")
    request_id: str | None = Field(None, description="the erasure request the delivery belongs to")
    resumed: list[UUID] = Field(default_factory=list, description="the runs an invoice.settled resumed")


class Problem(BaseModel):
    """Why a delivery was refused; `errors` lists a bad payload's fields (never their values)."""

    detail: str
    errors: list[dict[str, Any]] = Field(default_factory=list)


class TooLarge(Exception):
    """The body is over the limit."""


HEADERS = [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
           for name, text in (("webhook-id", "the message id; the same for every retry of one message"),
                              ("webhook-timestamp", "Unix seconds when this attempt was signed"),
                              ("webhook-signature", "space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body>"))]
REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text} for code, text in (
        (400, "the body is not JSON"), (401, "missing, malformed or wrong signature, or a stale timestamp"),
        (413, "the body is over the limit"), (422, "the payload is not a valid event"),
        (503, "Prefect cannot be reached; deliver again (see Retry-After)"))}


def create_app(settings: Settings, dispatcher: Dispatcher, clock: Callable[[], float] = time.time) -> FastAPI:
    """The receiver for these settings; `clock` gives Unix seconds (tests move it, never sleep)."""
    keys = settings.webhook_keys()
    if not keys:
        raise SettingsError("no webhook secret: set SLETT_WEBHOOK_SECRETS to whsec_<base64> "
                            "(two, separated by a space, while rotating)")
    controllers = frozenset(path.stem for path in settings.controllers_dir.glob("*.yaml"))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start = getattr(dispatcher, "start", None)
        if start is not None:  # a QueuedDispatcher drains what the last process left queued
            start()
        yield
        close = getattr(dispatcher, "aclose", None)
        if close is not None:
            await close()

    app = FastAPI(title="slett webhook receiver", version="1", lifespan=lifespan,
                  description="Signed webhooks from the membership system start and resume erasures.")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the receiver answers."""
        return {"status": "ok"}

    @app.post(PATH, status_code=202, response_model=Answer, responses=REFUSALS,
              openapi_extra={"parameters": HEADERS})
    async def membership(request: Request) -> JSONResponse:
        """Verify the signature over the raw body, then validate, then start or resume an erasure."""
        try:
            body = await _read(request, settings.webhook_max_body_bytes)
        except TooLarge:
            return _refuse(413, f"body over {settings.webhook_max_body_bytes} bytes")
        try:
            signed = verify(keys, request.headers, body, clock(), settings.webhook_tolerance_s)
        except SignatureError as error:
            return _refuse(401, str(error))
        try:
            envelope = Event.model_validate_json(body)
            event = typed(envelope)
        except ValidationError as error:
            if any(e["type"] == "json_invalid" for e in error.errors()):
                return _refuse(400, "the body is not JSON", webhook_id=signed.webhook_id)
            return _invalid(error, signed.webhook_id)
        if event is None:
            log.info("webhook ignored", webhook_id=signed.webhook_id, type=envelope.type)
            return _answer(Answer(status="ignored"))
        if event.data.controller not in controllers:
            return _refuse(422, f"unknown controller; known: {sorted(controllers)}", webhook_id=signed.webhook_id)
        try:
            receipt = await dispatch(dispatcher, signed.webhook_id, event)
        except DispatchUnavailable as error:
            log.warning("webhook deferred", webhook_id=signed.webhook_id, reason=str(error))
            return _refuse(503, f"{error}; deliver again", headers={"Retry-After": str(RETRY_AFTER_S)})
        log.info("webhook accepted", webhook_id=signed.webhook_id, type=event.type,
                 controller=event.data.controller, status=receipt.status,
                 subject_ref=subject_reference(settings.subject_key, event.data.controller, event.data.member_id),
                 flow_run_id=str(receipt.flow_run_id or ""), resumed=len(receipt.resumed))
        return _answer(Answer(status=receipt.status, flow_run_id=receipt.flow_run_id,
                              request_id=receipt.request_id, resumed=list(receipt.resumed)))

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _read(request: Request, limit: int) -> bytes:
    """The raw body, refused as soon as it passes `limit` (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    # isdigit() alone accepts "²" and other Unicode digits, which int() refuses.
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.model_dump(mode="json"), 202)


def _refuse(status: int, detail: str, webhook_id: str | None = None, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    if status != 503:
        log.info("webhook refused", status=status, detail=detail, webhook_id=webhook_id)
    return JSONResponse(Problem(detail=detail, errors=errors or []).model_dump(mode="json"), status, headers)


def _invalid(error: ValidationError, webhook_id: str) -> JSONResponse:
    # Field names and messages only: a value could be personal data the sender should not have sent.
    errors = [{"loc": [str(part) for part in e["loc"]], "msg": e["msg"], "type": e["type"]}
              for e in error.errors(include_url=False, include_input=False, include_context=False)]
    return _refuse(422, "the payload is not a valid event", webhook_id, errors)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the request body the handler validates by hand (after the signature)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    body = TypeAdapter(MemberEvent | SettledEvent | WithdrawnEvent | Event).json_schema(
        ref_template="#/components/schemas/{model}")
    document.setdefault("components", {}).setdefault("schemas", {}).update(body.pop("$defs", {}))
    document["paths"][PATH]["post"]["requestBody"] = {
        "required": True, "content": {"application/json": {"schema": body}}}
    app.openapi_schema = document
    return document
