"""Stripe's published OpenAPI spec as a test transport: every request sent and every answer read is checked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from connectors.stripe_api import API_VERSION

SPEC_FILE = Path(__file__).resolve().parents[2] / "shared" / "specs" / "stripe-openapi-subset.json"
SPEC_URI = "urn:stripe-openapi-subset"
ERROR = {"$ref": f"{SPEC_URI}#/components/schemas/error"}
FORM, JSON = "application/x-www-form-urlencoded", "application/json"

# Redaction jobs are a preview API, absent from the published spec: these are the shapes Stripe's API reference
# documents for them (docs.stripe.com/api/privacy/redaction-job and .../redaction-job-validation-error), held
# to as strictly as the spec's own (no field beyond the documented ones).
_JOB = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "object", "created", "livemode", "status", "validation_behavior"],
    "properties": {
        "id": {"type": "string", "pattern": "^prj_"}, "object": {"enum": ["privacy.redaction_job"]},
        "created": {"type": "integer"}, "livemode": {"type": "boolean"},
        "objects": {"type": "object", "nullable": True, "additionalProperties": {
            "type": "array", "nullable": True, "items": {"type": "string"}}},
        "status": {"enum": ["canceled", "canceling", "created", "failed", "ready", "redacting", "succeeded",
                            "validating"]},
        "validation_behavior": {"enum": ["error", "fix"]}}}
_VALIDATION_ERROR = {
    "type": "object", "additionalProperties": False, "required": ["id", "object", "code", "message"],
    "properties": {
        "id": {"type": "string"}, "object": {"enum": ["privacy.redaction_job_validation_error"]},
        "code": {"enum": ["invalid_cascading_source", "invalid_file_purpose", "invalid_state", "locked_by_other_job",
                          "too_many_objects"]},
        "erroring_object": {"type": "object", "nullable": True, "additionalProperties": False,
                            "required": ["id", "object_type"],
                            "properties": {"id": {"type": "string"}, "object_type": {"type": "string"}}},
        "message": {"type": "string"}}}
_LIST_OF_ERRORS = {"type": "object", "required": ["object", "url", "has_more", "data"], "properties": {
    "object": {"enum": ["list"]}, "url": {"type": "string"}, "has_more": {"type": "boolean"},
    "data": {"type": "array", "items": _VALIDATION_ERROR}}}
_OBJECTS = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    kind: {"type": "array", "items": {"type": "string"}} for kind in (
        "charges", "checkout_sessions", "customers", "identity_verification_sessions", "invoices",
        "issuing_cardholders", "payment_intents", "radar_value_list_items", "setup_intents")}}
_NOTHING = {"type": "object", "additionalProperties": False}
_PAGING = [{"name": name, "in": "query", "schema": schema} for name, schema in (
    ("limit", {"type": "integer", "minimum": 1, "maximum": 100}), ("starting_after", {"type": "string"}),
    ("ending_before", {"type": "string"}))]


def _documented(body: dict[str, Any] | None, answer: dict[str, Any], parameters: list[Any] | None = None
                ) -> dict[str, Any]:
    operation: dict[str, Any] = {"parameters": parameters or [], "x-preview": True, "responses": {
        "200": {"content": {"application/json": {"schema": answer}}},
        "default": {"content": {"application/json": {"schema": ERROR}}}}}
    if body is not None:
        operation["requestBody"] = {"content": {"application/x-www-form-urlencoded": {"schema": body}}}
    return operation


PREVIEW_PATHS: dict[str, dict[str, Any]] = {
    "/v1/privacy/redaction_jobs": {"post": _documented({
        "type": "object", "additionalProperties": False, "required": ["objects"],
        "properties": {"objects": _OBJECTS, "validation_behavior": {"enum": ["error", "fix"]}}}, _JOB)},
    "/v1/privacy/redaction_jobs/{job}": {"get": _documented(None, _JOB)},
    "/v1/privacy/redaction_jobs/{job}/run": {"post": _documented(_NOTHING, _JOB)},
    "/v1/privacy/redaction_jobs/{job}/cancel": {"post": _documented(_NOTHING, _JOB)},
    "/v1/privacy/redaction_jobs/{job}/validation_errors": {"get": _documented(None, _LIST_OF_ERRORS, _PAGING)},
}


@cache
def spec() -> dict[str, Any]:
    """Stripe's spec subset, with the documented preview paths beside its own."""
    loaded: dict[str, Any] = json.loads(SPEC_FILE.read_text())
    loaded["paths"] = {**loaded["paths"], **PREVIEW_PATHS}
    patched: dict[str, Any] = _nullable_references(loaded)
    return patched


def _nullable_references(node: Any) -> Any:
    # Stripe's spec marks a nullable reference as `nullable: true` beside `anyOf` with no `type` (OpenAPI 3.0.0
    # practice, as Stripe's own libraries read it); OpenAPI 3.0.3 validators honour `nullable` only beside a
    # `type`, so such a schema gets an explicit null branch.
    if isinstance(node, list):
        return [_nullable_references(item) for item in node]
    if not isinstance(node, dict):
        return node
    patched = {key: _nullable_references(value) for key, value in node.items()}
    if patched.get("nullable") is True and "anyOf" in patched and "type" not in patched:
        patched["anyOf"] = [*patched["anyOf"], {"enum": [None]}]
    return patched


@cache
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec(), default_specification=DRAFT4))
    return registry


def at(*parts: str | int) -> dict[str, str]:
    """A reference to the schema at a place in the spec (its own "#/components/..." references then resolve)."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return {"$ref": f"{SPEC_URI}#/{'/'.join(escaped)}"}


def problems_with(schema: dict[str, Any], instance: Any) -> list[str]:
    """Where `instance` does not fit `schema` (OpenAPI 3.0 semantics, the spec's references resolved)."""
    validator = OAS30Validator(schema, registry=_registry())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
            for e in validator.iter_errors(instance)]


def operation_of(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The spec's operation for a request, and its path template; None when the spec has no such operation."""
    for template, operations in spec()["paths"].items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        # A literal segment beats a parameter: /v1/customers/search is not /v1/customers/{customer}.
        if re.match(pattern, path) and (template.count("{") == 0 or path not in _literal_paths()):
            found = operations.get(method.lower())
            return (template, found) if found else None
    return None


@cache
def _literal_paths() -> frozenset[str]:
    return frozenset(template for template in spec()["paths"] if "{" not in template)


def form_object(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A form body as Stripe reads it: `a[b]=x` is {"a": {"b": "x"}}, `a[0]=x` and `a[]=x` make lists."""
    parsed: dict[str, Any] = {}
    for name, value in pairs:
        keys = [name.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", name)]
        holder = parsed
        for key in keys[:-1]:
            holder = holder.setdefault(key, {})
        holder[keys[-1] or str(len(holder))] = value
    nested: dict[str, Any] = _lists(parsed)
    return nested


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def _query_value(value: str, schema: dict[str, Any]) -> Any:
    return int(value) if schema.get("type") == "integer" and value.lstrip("-").isdigit() else value


@dataclass
class SpecCheck:
    """The spec's verdict on each exchange: requests and answers that do not fit, and what was checked."""

    version: str = API_VERSION
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def request(self, request: httpx.Request) -> tuple[str, dict[str, Any]] | None:
        """Check a request's operation, version header, query and form body."""
        where = f"{request.method} {request.url.path}"
        found = operation_of(request.method, request.url.path)
        if found is None:
            self.problems.append(f"{where}: not an operation of Stripe's spec (nor a documented preview one)")
            return None
        template, operation = found
        expected = "a preview version" if operation.get("x-preview") else self.version
        sent = request.headers.get("stripe-version", "")
        if (operation.get("x-preview") and not sent.endswith(".preview")) or (
                not operation.get("x-preview") and sent != self.version):
            self.problems.append(f"{where}: Stripe-Version {sent or 'missing'}, expected {expected}")
        method = request.method.lower()
        declared = {p["name"]: (n, p) for n, p in enumerate(operation.get("parameters", [])) if p["in"] == "query"}
        for name, value in request.url.params.multi_items():
            if name not in declared:
                self.problems.append(f"{where}: query parameter {name} is not in the spec")
                continue
            number, parameter = declared[name]
            schema = at("paths", template, method, "parameters", number, "schema")
            self._add(where, "query " + name, problems_with(schema, _query_value(value, parameter["schema"])))
        body = request.content.decode()
        if request.method in ("POST", "DELETE") and "requestBody" in operation:
            schema = at("paths", template, method, "requestBody", "content", FORM, "schema")
            self._add(where, "form body", problems_with(schema, form_object(parse_qsl(body, keep_blank_values=True))))
        self.checked.append(f"{request.method} {template}")
        return found

    def response(self, request: httpx.Request, template: str, status: int, body: bytes) -> None:
        """Check an answer against the operation's response for its status (or the default one, the error)."""
        answers = spec()["paths"][template][request.method.lower()]["responses"]
        code = str(status) if str(status) in answers else "default"
        where = f"{request.method} {request.url.path} -> {status}"
        if code not in answers:
            self.problems.append(f"{where}: no response in the spec for this status")
            return
        schema = at("paths", template, request.method.lower(), "responses", code, "content", JSON, "schema")
        self._add(where, "answer", problems_with(schema, json.loads(body)))

    def _add(self, where: str, what: str, found: list[str]) -> None:
        self.problems += [f"{where}: {what}: {problem}" for problem in found]


class SpecTransport(httpx.AsyncBaseTransport):
    """Passes each request to the twin, holding the request and the twin's answer to Stripe's spec."""

    def __init__(self, inner: httpx.AsyncBaseTransport, check: SpecCheck) -> None:
        self.inner = inner
        self.check = check

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check the request, send it, check the answer."""
        found = self.check.request(request)
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if found is not None:
            self.check.response(request, found[0], response.status_code, body)
        return httpx.Response(response.status_code, headers=response.headers, content=body,
                              extensions=response.extensions)


def spec_checked(transports: dict[str, httpx.ASGITransport], check: SpecCheck
                 ) -> dict[str, httpx.AsyncBaseTransport]:
    """The sandbox's transports with Stripe's held to the spec."""
    return {**transports, "stripe": SpecTransport(transports["stripe"], check)}
