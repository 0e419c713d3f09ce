"""Stand-in for Stripe: the real API's shapes for customers, charges, paged lists and searches, deletion, error
objects, idempotent POSTs and redaction jobs (validated, then run, in Stripe's own time; 10 objects at most).
Deleting a customer keeps its charges (the merchant's payment records), as Stripe does."""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.auth import BearerAuth
from sandbox.journal import Journal
from sandbox.people import COURSE_PAID_ON, DemoMember, Profile

COURSE_FEE_ORE = 490_000
MAX_REDACTED = 10  # Stripe: at most 10 object ids in a new redaction job
LOCKING = frozenset({"created", "validating", "ready", "redacting"})  # a job in these holds its objects
OBJECT_KINDS = ("charges", "checkout_sessions", "customers", "identity_verification_sessions", "invoices",
                "issuing_cardholders", "payment_intents", "radar_value_list_items", "setup_intents")
UPDATABLE = frozenset({"email", "name", "phone", "description", "address", "shipping"})
TEXT = frozenset({"email", "name", "phone", "description"})
DEFAULT_PAGE = 10  # Stripe's page when no limit is asked for
ALPHABET = string.digits + string.ascii_letters
SEARCH = re.compile(r"^\s*(?:metadata\['(?P<key>[\w-]+)'\]|(?P<field>email))\s*:\s*'(?P<value>[^']*)'\s*$")


def stripe_id(prefix: str, seed: str) -> str:
    """A Stripe-looking id ("cus_…", "ch_…"), the same for the same seed."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:12])
    chars = []
    for _ in range(14):
        number, digit = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return f"{prefix}_{''.join(chars)}"


def error(status: int, kind: str, message: str, code: str | None = None, param: str | None = None) -> Response:
    """An error the way Stripe sends it."""
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body |= {"code": code, "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"}
    if param:
        body["param"] = param
    return JSONResponse({"error": body}, status)


def no_such(what: str, object_id: str) -> Response:
    """Stripe's 404 for an id that does not (or no longer) exist."""
    return error(404, "invalid_request_error", f"No such {what}: '{object_id}'", "resource_missing", "id")


def no_api_key() -> Response:
    """Stripe's 401."""
    return error(401, "invalid_request_error", "You did not provide an API key. You need to provide your API key "
                 "in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")


def unrecognized(request: Request) -> Response:
    """Stripe's 404 for a path it does not serve (no `code`: it is not a missing object)."""
    return error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.url.path}). "
                 "Please see https://stripe.com/docs or we can help at https://support.stripe.com/.")


def fault_body(status: int) -> bytes:
    """Stripe's error object for an injected fault: an api_error, or its rate_limit for a 429."""
    limited = status == 429
    body = {"type": "invalid_request_error" if limited else "api_error", "message": "sandbox fault"}
    return json.dumps({"error": body | ({"code": "rate_limit"} if limited else {})}).encode()


def rate_limited(retry_after: int) -> Response:
    """Stripe's 429 (with the Retry-After the sandbox's limiter adds)."""
    answer = error(429, "invalid_request_error", "Request rate limit exceeded. Learn more about rate limits here "
                   "https://stripe.com/docs/rate-limits.", "rate_limit")
    answer.headers["Retry-After"] = str(retry_after)
    return answer


def page_size(request: Request) -> int | Response:
    """The `limit` asked for: Stripe's default 10, at most 100."""
    try:
        limit = int(request.query_params.get("limit", str(DEFAULT_PAGE)))
    except ValueError:
        return error(400, "invalid_request_error", "Invalid integer: limit", param="limit")
    if not 1 <= limit <= 100:
        return error(400, "invalid_request_error", "limit must be between 1 and 100", param="limit")
    return limit


def listing(url: str, items: list[dict[str, Any]], request: Request) -> Response:
    """A page of a list object, with Stripe's limit and starting_after."""
    limit = page_size(request)
    if isinstance(limit, Response):
        return limit
    after = request.query_params.get("starting_after")
    start = next((n + 1 for n, item in enumerate(items) if item["id"] == after), 0) if after else 0
    page = items[start:start + limit]
    return JSONResponse({"object": "list", "url": url, "has_more": start + limit < len(items), "data": page})


def search_page(url: str, items: list[dict[str, Any]], request: Request) -> Response:
    """A page of a search result, with Stripe's limit and its opaque `page` cursor (`next_page`)."""
    limit = page_size(request)
    if isinstance(limit, Response):
        return limit
    cursor = request.query_params.get("page")
    start = int(cursor.removeprefix("page_")) if cursor and cursor.removeprefix("page_").isdigit() else 0
    more = start + limit < len(items)
    return JSONResponse({"object": "search_result", "url": url, "has_more": more,
                         "next_page": f"page_{start + limit}" if more else None, "data": items[start:start + limit]})


def unix(day: date) -> int:
    """Seconds since the epoch at noon UTC of a day, as Stripe's `created` fields are."""
    return int(datetime.combine(day, time(12), tzinfo=UTC).timestamp())


@dataclass
class Stripe:
    """Stripe's state: live customers, deleted customer ids (and their members), charges, redaction jobs, keys."""

    system = "stripe"
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)
    redactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, tuple[tuple[Any, ...], Response]] = field(default_factory=dict)
    # Redaction jobs: each job's validation errors, and charges a job may not redact (charge id: error code).
    validation_errors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unredactable: dict[str, str] = field(default_factory=dict)

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add the member as a customer with one course payment: succeeded, or pending with an open invoice."""
        customer = self.create({"email": member.email, "name": member.name, "phone": member.phone},
                               {"member_id": member.member_id}, seed=member.member_id, created=unix(COURSE_PAID_ON))
        pending = profile.open_invoice
        self.charges.append({
            "id": stripe_id("ch", member.member_id), "object": "charge", "amount": COURSE_FEE_ORE,
            "amount_captured": 0 if pending else COURSE_FEE_ORE, "amount_refunded": 0, "captured": not pending,
            "currency": "nok", "disputed": False,
            "customer": customer["id"], "created": unix(COURSE_PAID_ON), "description": "Vekstly kurs",
            "billing_details": {"email": member.email, "name": member.name, "phone": member.phone},
            "livemode": False, "metadata": {"member_id": member.member_id}, "paid": not pending, "refunded": False,
            "status": "pending" if pending else "succeeded", "redaction": None})

    def create(self, fields: dict[str, Any], metadata: dict[str, str], seed: str, created: int) -> dict[str, Any]:
        """A new customer object."""
        customer_id = stripe_id("cus", seed)
        self.customers[customer_id] = {
            "id": customer_id, "object": "customer", "address": None, "balance": 0, "created": created,
            "currency": "nok", "default_source": None, "delinquent": False, "description": None, "discount": None,
            "email": fields.get("email"), "invoice_prefix": customer_id[4:12].upper(),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                                 "rendering_options": None},
            "livemode": False, "metadata": metadata, "name": fields.get("name"), "next_invoice_sequence": 1,
            "phone": fields.get("phone"), "preferred_locales": [], "shipping": None, "tax_exempt": "none",
            "test_clock": None}
        return self.customers[customer_id]

    def member_of(self, customer_id: str) -> str | None:
        """The member behind a customer id, live or deleted."""
        live = self.customers.get(customer_id)
        return live["metadata"].get("member_id") if live else self.deleted.get(customer_id)

    def redact(self, charge_ids: list[str]) -> int:
        """Remove the personal data from charges for good (the charge stays, "[redacted]"); how many changed."""
        changed = 0
        for charge in self.charges:
            if charge["id"] in charge_ids and charge["redaction"] is None:
                charge.update(billing_details={"email": "[redacted]", "name": "[redacted]", "phone": "[redacted]"},
                              metadata={}, description="[redacted]", redaction={"status": "redacted"})
                changed += 1
        return changed

    def clear(self) -> None:
        """Forget every customer, charge and idempotency key."""
        self.customers.clear()
        self.deleted.clear()
        self.charges.clear()
        self.redactions.clear()
        self.validation_errors.clear()
        self.unredactable.clear()
        self.keys.clear()

    def new_job(self, charge_ids: list[str]) -> dict[str, Any]:
        """A redaction job as Stripe creates it: `created`, to be validated before it can run."""
        job_id = stripe_id("prj", f"{len(self.redactions)}-{','.join(charge_ids)}")
        self.redactions[job_id] = {
            "id": job_id, "object": "privacy.redaction_job", "created": int(datetime.now(UTC).timestamp()),
            "livemode": False, "objects": {kind: charge_ids if kind == "charges" else None for kind in OBJECT_KINDS},
            "status": "created", "validation_behavior": "error"}
        return self.redactions[job_id]

    def step(self, job: dict[str, Any]) -> None:
        """Move a job on by one state, as Stripe does in its own time (each read of it here is a moment later)."""
        if job["status"] == "created":
            job["status"] = "validating"
        elif job["status"] == "validating":
            self.validation_errors[job["id"]] = errors = self._validate(job)
            job["status"] = "failed" if errors else "ready"
        elif job["status"] == "redacting":
            self.redact(job["objects"]["charges"])
            job["status"] = "succeeded"
        elif job["status"] == "canceling":
            job["status"] = "canceled"

    def _validate(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = job["objects"]["charges"]
        if len(wanted) > MAX_REDACTED:
            return [self._invalid(job, "too_many_objects", None, f"A new job takes at most {MAX_REDACTED} objects.")]
        locked = {c for other in self.redactions.values() if other["id"] != job["id"] and other["status"] in LOCKING
                  for c in other["objects"]["charges"]}
        errors = []
        for charge in (c for c in self.charges if c["id"] in wanted):
            code = self.unredactable.get(charge["id"]) or ("locked_by_other_job" if charge["id"] in locked else None)
            code = code or ("invalid_state" if charge["status"] == "pending" else None)
            if code:
                errors.append(self._invalid(job, code, charge["id"], f"The charge cannot be redacted ({code})."))
        return errors

    def _invalid(self, job: dict[str, Any], code: str, charge_id: str | None, message: str) -> dict[str, Any]:
        number = len(self.validation_errors.get(job["id"], []))
        return {"id": stripe_id("prjve", f"{job['id']}-{number}-{charge_id}"),
                "object": "privacy.redaction_job_validation_error", "code": code,
                "erroring_object": {"id": charge_id, "object_type": "charge"} if charge_id else None,
                "message": message}


Form = list[tuple[str, str]]


def _params(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """Form fields and the metadata[...] ones apart, as Stripe reads an encoded body."""
    fields, metadata = {}, {}
    for name, value in form:
        if name.startswith("metadata[") and name.endswith("]"):
            metadata[name[9:-1]] = str(value)
        else:
            fields[name] = value
    return fields, metadata


def build(state: Stripe, journal: Journal) -> ASGIApp:
    """The parts of the Stripe API slett uses, and the POSTs it must not repeat by accident."""

    async def form_of(request: Request) -> Form | Response:
        kind = request.headers.get("content-type", "")
        if kind and not kind.startswith("application/x-www-form-urlencoded"):
            return error(400, "invalid_request_error", f"Invalid request: unsupported Content-Type {kind}. "
                         "If error persists and you need assistance, please contact support@stripe.com.")
        return parse_qsl((await request.body()).decode(), keep_blank_values=True)

    def idempotent(request: Request, form: Form, apply: Callable[[], Response]) -> Response:
        # Stripe replays the first answer to a key; the same key with other parameters is an error.
        key = request.headers.get("idempotency-key")
        if key is None:
            return apply()
        fingerprint = (request.method, request.url.path, tuple(sorted(form)))
        if key in state.keys:
            first, answer = state.keys[key]
            if first != fingerprint:
                return error(400, "idempotency_error", "Keys for idempotent requests can only be used with the "
                             f"same parameters they were first used with. Try using a key other than '{key}' "
                             "if you meant to execute a different request.")
            answer.headers["Idempotent-Replayed"] = "true"
            return answer
        answer = apply()
        state.keys[key] = (fingerprint, answer)
        return answer

    async def customers(request: Request) -> Response:
        email = request.query_params.get("email")
        found = [c for c in state.customers.values() if email is None or c["email"] == email]
        return listing("/v1/customers", found, request)

    async def search(request: Request) -> Response:
        query = SEARCH.match(request.query_params.get("query", ""))
        if not query:
            return error(400, "invalid_request_error", "Invalid search query; the sandbox understands "
                         "metadata['key']:'value' and email:'value'", param="query")
        key, value = query["key"], query["value"]
        found = [c for c in state.customers.values()
                 if (c["metadata"].get(key) if key else c["email"]) == value]
        return search_page("/v1/customers/search", found, request)

    async def create(request: Request) -> Response:
        form = await form_of(request)
        if isinstance(form, Response):
            return form
        fields, metadata = _params(form)

        def apply() -> Response:
            seed = f"created-{len(state.customers) + len(state.deleted)}-{fields.get('email')}"
            return JSONResponse(state.create(fields, metadata, seed, int(datetime.now(UTC).timestamp())))

        return idempotent(request, form, apply)

    async def customer(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        if customer_id in state.deleted:
            return JSONResponse({"id": customer_id, "object": "customer", "deleted": True})
        found = state.customers.get(customer_id)
        return JSONResponse(found) if found else no_such("customer", customer_id)

    async def update(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        form = await form_of(request)
        if isinstance(form, Response):
            return form
        fields, metadata = _params(form)

        def change() -> tuple[Response, bool]:
            found = state.customers.get(customer_id)
            if not found:
                return no_such("customer", customer_id), False
            before = {**found, "metadata": dict(found["metadata"])}
            # Stripe sets a field to null when it is sent empty; address and shipping only so here.
            found.update({k: v or None for k, v in fields.items() if k in UPDATABLE and (v == "" or k in TEXT)})
            found["metadata"] = {k: v for k, v in {**before["metadata"], **metadata}.items() if v != ""}
            return JSONResponse(found), found != before

        def apply() -> Response:
            if "gdpr_restricted" in metadata:
                return journal.once(state.system, request, state.member_of(customer_id), "restrict", change)
            return change()[0]

        return idempotent(request, form, apply)

    async def delete(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]

        def apply() -> tuple[Response, bool]:
            found = state.customers.pop(customer_id, None)
            if not found:
                return no_such("customer", customer_id), False
            state.deleted[customer_id] = found["metadata"].get("member_id", "")
            return JSONResponse({"id": customer_id, "object": "customer", "deleted": True}), True

        return journal.once(state.system, request, state.member_of(customer_id), "delete", apply)

    async def charges(request: Request) -> Response:
        wanted = request.query_params.get("customer")
        found = [c for c in state.charges if wanted is None or c["customer"] == wanted]
        return listing("/v1/charges", sorted(found, key=lambda c: -c["created"]), request)

    async def charge(request: Request) -> Response:
        found = next((c for c in state.charges if c["id"] == request.path_params["charge_id"]), None)
        return JSONResponse(found) if found else no_such("charge", request.path_params["charge_id"])

    async def update_charge(request: Request) -> Response:
        charge_id = request.path_params["charge_id"]
        form = await form_of(request)
        if isinstance(form, Response):
            return form
        fields, metadata = _params(form)
        if unknown := sorted(set(fields) - {"description"}):
            return error(400, "invalid_request_error", f"Received unknown parameter: {unknown[0]}", param=unknown[0])

        def change() -> tuple[Response, bool]:
            found = next((c for c in state.charges if c["id"] == charge_id), None)
            if not found:
                return no_such("charge", charge_id), False
            before = {**found, "metadata": dict(found["metadata"])}
            if "description" in fields:  # Stripe: an empty description is null
                found["description"] = fields["description"] or None
            found["metadata"] = {k: v for k, v in {**before["metadata"], **metadata}.items() if v != ""}
            return JSONResponse(found), found != before

        def apply() -> Response:
            owner = next((c["metadata"].get("member_id") or state.member_of(c["customer"])
                          for c in state.charges if c["id"] == charge_id), None)
            if "gdpr_restricted" in metadata:
                return journal.once(state.system, request, owner, "restrict:payments", change)
            return change()[0]

        return idempotent(request, form, apply)

    async def search_charges(request: Request) -> Response:
        query = SEARCH.match(request.query_params.get("query", ""))
        if not query or not query["key"]:
            return error(400, "invalid_request_error", "Invalid search query; the sandbox understands "
                         "metadata['key']:'value' for charges", param="query")
        found = [c for c in state.charges if c["metadata"].get(query["key"]) == query["value"]]
        return search_page("/v1/charges/search", sorted(found, key=lambda c: -c["created"]), request)

    def previewed(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        # Redaction jobs are a public preview: without a preview Stripe-Version, Stripe knows no such path.
        async def checked(request: Request) -> Response:
            if not request.headers.get("stripe-version", "").endswith(".preview"):
                return unrecognized(request)
            return await handler(request)

        return checked

    def job_of(request: Request) -> dict[str, Any] | Response:
        found = state.redactions.get(request.path_params["job_id"])
        return found if found else no_such("privacy.redaction_job", request.path_params["job_id"])

    async def create_redaction(request: Request) -> Response:
        form = await form_of(request)
        if isinstance(form, Response):
            return form
        wanted = [value for name, value in form if re.fullmatch(r"objects\[charges\]\[\d*\]", name)]
        unknown = sorted(set(wanted) - {c["id"] for c in state.charges})
        if not wanted or unknown:
            return error(400, "invalid_request_error", f"No such charge: '{unknown[0]}'" if unknown else
                         "Missing required param: objects.", "resource_missing" if unknown else "parameter_missing",
                         "objects")
        return idempotent(request, form, lambda: JSONResponse(state.new_job(wanted)))

    async def redaction(request: Request) -> Response:
        job = job_of(request)
        if isinstance(job, Response):
            return job
        state.step(job)
        return JSONResponse(job)

    async def validation_errors(request: Request) -> Response:
        job = job_of(request)
        if isinstance(job, Response):
            return job
        url = f"/v1/privacy/redaction_jobs/{job['id']}/validation_errors"
        return listing(url, state.validation_errors.get(job["id"], []), request)

    async def run_redaction(request: Request) -> Response:
        form = await form_of(request)
        if isinstance(form, Response):
            return form
        job = job_of(request)
        if isinstance(job, Response):
            return job
        charge_ids = list(job["objects"]["charges"])
        owner = next((c["metadata"].get("member_id") or state.member_of(c["customer"])
                      for c in state.charges if c["id"] in charge_ids), None)

        def apply() -> tuple[Response, bool]:
            if job["status"] != "ready":
                return error(400, "invalid_request_error", f"A redaction job can only be run when it is ready; "
                             f"this one is {job['status']}."), False
            job["status"] = "redacting"  # Stripe redacts in its own time: the job succeeds later
            return JSONResponse(job), True

        return idempotent(request, form, lambda: journal.once(state.system, request, owner, "redact", apply))

    async def cancel_redaction(request: Request) -> Response:
        job = job_of(request)
        if isinstance(job, Response):
            return job
        if job["status"] not in ("ready", "failed"):
            return error(400, "invalid_request_error", f"A redaction job can only be canceled when it is ready or "
                         f"failed; this one is {job['status']}.")
        job["status"] = "canceling"
        return JSONResponse(job)

    async def elsewhere(request: Request) -> Response:
        return unrecognized(request)

    return BearerAuth(Starlette(routes=[
        Route("/v1/customers", customers),
        Route("/v1/customers", create, methods=["POST"]),
        Route("/v1/customers/search", search),
        Route("/v1/customers/{customer_id}", customer),
        Route("/v1/customers/{customer_id}", update, methods=["POST"]),
        Route("/v1/customers/{customer_id}", delete, methods=["DELETE"]),
        Route("/v1/charges", charges),
        Route("/v1/charges/search", search_charges),
        Route("/v1/charges/{charge_id}", charge),
        Route("/v1/charges/{charge_id}", update_charge, methods=["POST"]),
        Route("/v1/privacy/redaction_jobs", previewed(create_redaction), methods=["POST"]),
        Route("/v1/privacy/redaction_jobs/{job_id}", previewed(redaction)),
        Route("/v1/privacy/redaction_jobs/{job_id}/validation_errors", previewed(validation_errors)),
        Route("/v1/privacy/redaction_jobs/{job_id}/run", previewed(run_redaction), methods=["POST"]),
        Route("/v1/privacy/redaction_jobs/{job_id}/cancel", previewed(cancel_redaction), methods=["POST"]),
        Route("/{anything:path}", elsewhere, methods=["GET", "POST", "DELETE"]),
    ]), deny=no_api_key)
