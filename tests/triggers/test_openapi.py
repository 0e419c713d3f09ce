"""Schemathesis against the receiver's OpenAPI document: generated requests, signed or not, never get a 5xx
and every answer is one the document declares."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.settings import load_settings
from tests.triggers.conftest import NOW, PATH, SECRET, Clock, RecordingDispatcher, ours, signed
from triggers.app import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BOUNDED = settings(max_examples=120, deadline=2000, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def receiver_schema() -> schemathesis.BaseSchema:
    """The receiver's document, served by the app in this process, with positive and negative examples."""
    app = create_app(load_settings(webhook_secrets=[SECRET]), RecordingDispatcher(), Clock())
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return loaded


schema = receiver_schema()


def test_document_names_the_webhook_headers_and_answers():
    """The document declares the three Standard Webhooks headers and every answer the receiver gives."""
    operation = schema.raw_schema["paths"][PATH]["post"]

    assert ["webhook-id", "webhook-timestamp", "webhook-signature"] == [p["name"] for p in operation["parameters"]]
    assert {"202", "400", "401", "413", "422", "503"} == set(operation["responses"])


@schema.parametrize()
@BOUNDED
def test_generated_requests_get_no_server_error(case):
    """Requests as schemathesis generates them (headers included, so signatures are wrong) get no 5xx and
    only declared answers."""
    response = case.call()

    case.validate_response(response, checks=CHECKS)


def serialised(body: object) -> bytes:
    """The bytes on the wire: JSON for a generated value; raw bytes (negative examples) as they are."""
    if body is NOT_SET:
        return b""
    return body if isinstance(body, bytes) else json.dumps(body).encode()


async def post(app: Any, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """One POST to the app in this process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
        return await client.post(PATH, content=body, headers=headers)


@schema.include(path=PATH).parametrize()
@BOUNDED
def test_generated_bodies_correctly_signed_get_no_server_error(case):
    """Generated bodies, correctly signed so that validation and dispatch are reached, get no 5xx and only
    declared answers."""
    body = serialised(case.body)
    headers = signed(body, timestamp=NOW, signer=ours)

    response = asyncio.run(post(case.operation.schema.app, body, headers))

    assert 401 != response.status_code
    case.validate_response(response, checks=CHECKS)
