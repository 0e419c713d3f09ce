"""Stand-in for Nets: card tokens, AvtaleGiro mandates (deleted by an asynchronous job), transactions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.auth import BearerAuth
from sandbox.exceline import BILLED_MONTHS, MONTHLY_FEE_ORE
from sandbox.exceline_records import through_of
from sandbox.journal import Journal
from sandbox.people import DemoMember, Profile


@dataclass
class Customer:
    """A payer: card tokens, AvtaleGiro mandates and the transactions bookkeeping keeps."""

    customer_id: str
    member_ref: str
    cards: dict[str, dict[str, str]]
    mandates: dict[str, dict[str, str]]
    transactions: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """The customer as the API shows it."""
        return {"customerId": self.customer_id, "memberRef": self.member_ref,
                "cardTokens": list(self.cards.values()), "avtaleGiroMandates": list(self.mandates.values()),
                "transactions": self.transactions}

    def restrict_transactions(self) -> None:
        """Mark the transactions kept for bookkeeping as restricted (GDPR Art. 18)."""
        for transaction in self.transactions:
            transaction["restricted"] = True


@dataclass
class Job:
    """A mandate deletion running at Nets: done after a number of polls."""

    job_id: str
    mandate_id: str
    polls_left: int

    def as_json(self) -> dict[str, str]:
        """The job as the API shows it."""
        return {"jobId": self.job_id, "mandateId": self.mandate_id,
                "status": "pending" if self.polls_left > 0 else "done"}


@dataclass
class Nets:
    """Nets' state: customers, where each token and mandate lives, and the deletion jobs."""

    system = "nets"
    job_polls: int = 2
    customers: dict[str, Customer] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add the member as a payer: a card token and/or a mandate, and a year of payments."""
        customer = Customer(f"NC-{member.number}", member.member_id, {}, {}, [])
        if profile.card:
            token = f"tok_{member.number:06d}a"
            customer.cards[token] = {"token": token, "brand": "VISA", "last4": "4242", "expiry": "2028-08"}
        if profile.mandate:
            mandate = f"AG-{member.number}"
            customer.mandates[mandate] = {"mandateId": mandate, "status": "active", "createdAt": "2025-02-01"}
        kind = "avtalegiro" if profile.mandate else "card"
        customer.transactions = [
            {"transactionId": f"T-{member.number}-{y}{m:02d}", "date": f"{y}-{m:02d}-15",
             "amountOre": MONTHLY_FEE_ORE, "kind": kind, "restricted": False}
            for y, m in BILLED_MONTHS if not (profile.open_invoice and (y, m) == BILLED_MONTHS[-1])]
        self.customers[customer.customer_id] = customer
        for resource in (customer.customer_id, *customer.cards, *customer.mandates):
            self.owners[resource] = customer.customer_id

    def customer_of(self, resource: str) -> Customer | None:
        """The customer a token, mandate or customer id belongs to."""
        return self.customers.get(self.owners.get(resource, ""))

    def poll(self, job_id: str) -> Job | None:
        """Count one poll of a job; the job deletes its mandate when it finishes."""
        job = self.jobs.get(job_id)
        if job and job.polls_left > 0:
            job.polls_left -= 1
            owner = self.customer_of(job.mandate_id)
            if job.polls_left == 0 and owner:
                owner.mandates.pop(job.mandate_id, None)
        return job

    def clear(self) -> None:
        """Forget every customer and job."""
        self.customers.clear()
        self.owners.clear()
        self.jobs.clear()


def build(state: Nets, journal: Journal) -> ASGIApp:
    """Nets' API for cards, AvtaleGiro and jobs."""

    def not_found(what: str) -> Response:
        return JSONResponse({"error": {"code": "not_found", "message": f"{what} not found"}}, 404)

    def member_ref(resource: str) -> str | None:
        owner = state.customer_of(resource)
        return owner.member_ref if owner else None

    async def customers(request: Request) -> Response:
        ref = request.query_params.get("memberRef")
        found = [c.as_json() for c in state.customers.values() if c.member_ref == ref]
        return JSONResponse({"data": found})

    async def customer(request: Request) -> Response:
        found = state.customers.get(request.path_params["customer_id"])
        return JSONResponse(found.as_json()) if found else not_found("customer")

    async def delete_card(request: Request) -> Response:
        token = request.path_params["token"]

        def apply() -> tuple[Response, bool]:
            owner = state.customer_of(token)
            if not owner or owner.cards.pop(token, None) is None:
                return not_found("card token"), False
            owner.restrict_transactions()
            return Response(status_code=204), True

        return journal.once(state.system, request, member_ref(token), "delete", apply)

    async def delete_mandate(request: Request) -> Response:
        mandate_id = request.path_params["mandate_id"]

        def apply() -> tuple[Response, bool]:
            owner = state.customer_of(mandate_id)
            mandate = owner.mandates.get(mandate_id) if owner else None
            if not owner or not mandate:
                return not_found("mandate"), False
            running = next((j for j in state.jobs.values() if j.mandate_id == mandate_id), None)
            job = running or Job(f"job_{len(state.jobs) + 1:05d}", mandate_id, state.job_polls)
            state.jobs[job.job_id] = job
            mandate["status"] = "deletion_requested"  # no further claims are sent to the bank
            owner.restrict_transactions()
            if job.polls_left == 0:
                owner.mandates.pop(mandate_id)
            return JSONResponse(job.as_json(), 202), running is None

        return journal.once(state.system, request, member_ref(mandate_id), "mandate-deletion", apply)

    async def release_transactions(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        try:
            through = through_of(request)
        except ValueError:
            return JSONResponse({"error": {"code": "invalid_through", "message": "through: YYYY-MM-DD"}}, 400)

        def apply() -> tuple[Response, bool]:
            found = state.customers.get(customer_id)
            if not found:
                return not_found("customer"), False
            if found.cards or found.mandates:
                # A payer with a live card or mandate still pays: their transactions are not held, they are in use.
                return JSONResponse({"error": {"code": "payment_methods_active",
                                               "message": "delete card tokens and mandates first"}}, 409), False
            kept = [t for t in found.transactions
                    if through is not None and date.fromisoformat(t["date"]) > through]
            deleted, found.transactions = len(found.transactions) - len(kept), kept
            return JSONResponse({"customerId": customer_id, "deleted": deleted}), bool(deleted)

        return journal.once(state.system, request, member_ref(customer_id), "release", apply)

    async def job(request: Request) -> Response:
        found = state.poll(request.path_params["job_id"])
        return JSONResponse(found.as_json()) if found else not_found("job")

    return BearerAuth(Starlette(routes=[
        Route("/v1/customers", customers),
        Route("/v1/customers/{customer_id}", customer),
        Route("/v1/customers/{customer_id}/transactions", release_transactions, methods=["DELETE"]),
        Route("/v1/card-tokens/{token}", delete_card, methods=["DELETE"]),
        Route("/v1/avtalegiro/mandates/{mandate_id}/deletion-requests", delete_mandate, methods=["POST"]),
        Route("/v1/jobs/{job_id}", job),
    ]))
