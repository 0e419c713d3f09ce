"""Nets, AvtaleGiro and card payments: tokens deleted, mandates deleted by a job, transactions kept."""

from __future__ import annotations

from datetime import date

from connectors.actions import done, read_back, require
from connectors.contract import Action, Holdings, Outcome, RetentionFacts, Status, Subject, distinct_days
from connectors.http import ProcessorClient
from connectors.registry import register
from connectors.releases import BOOKKEEPING, releasable

CATEGORIES = {"card_tokens": "cardTokens", "avtalegiro_mandates": "avtaleGiroMandates",
              "transactions": "transactions"}
KEPT = "transactions kept for bookkeeping (bokføringsloven § 13), restricted"


@register("nets")
class NetsConnector:
    """Nets as we assume it (no such public API found); holdings ids are "customer/…", "card/…", "mandate/…"."""

    system = "nets"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """The member's customers, card tokens and mandates, and the date of each transaction."""
        found = await self._client.get("/v1/customers", params={"memberRef": subject.member_id},
                                       allow=frozenset())
        ids: list[str] = []
        categories: set[str] = set()
        dates: list[date] = []
        for customer in found.json()["data"]:
            ids.append(f"customer/{customer['customerId']}")
            ids += [f"card/{card['token']}" for card in customer["cardTokens"]]
            ids += [f"mandate/{mandate['mandateId']}" for mandate in customer["avtaleGiroMandates"]]
            dates += [date.fromisoformat(t["date"]) for t in customer["transactions"]]
            categories |= {category for category, key in CATEGORIES.items() if customer[key]}
        facts = RetentionFacts(transaction_dates=distinct_days(dates))
        return Holdings.of(self.system, ids=ids, categories=categories, facts=facts)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete card tokens, request mandate deletion (accepted: poll the job); keep transactions."""
        require(self.system, action, Action.DELETE)
        deleted, jobs = 0, []
        for held in holdings.ids:
            kind, _, nets_id = held.partition("/")
            headers = {"Idempotency-Key": f"{key}/{nets_id}"}
            if kind == "card":
                gone = await self._client.delete(f"/v1/card-tokens/{nets_id}", headers=headers)
                deleted += gone.status_code != 404
            elif kind == "mandate":
                asked = await self._client.post(f"/v1/avtalegiro/mandates/{nets_id}/deletion-requests",
                                                headers=headers)
                if asked.status_code != 404:
                    jobs.append(asked.json()["jobId"])
        if jobs:
            return Outcome.accepted(self.system, ",".join(jobs)).with_(count=deleted + len(jobs), detail=KEPT)
        return done(self.system, action, Status.ERASED, deleted, detail=KEPT)

    async def poll(self, reference: str) -> Outcome:
        """Erased once every mandate-deletion job in `reference` is done; accepted while any runs."""
        jobs = reference.split(",")
        for job_id in jobs:
            job = await self._client.get(f"/v1/jobs/{job_id}", allow=frozenset())
            if job.json()["status"] != "done":
                return Outcome.accepted(self.system, reference)
        return Outcome.erased(self.system, count=len(jobs), reference=reference)

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Delete the transactions an expired bookkeeping hold kept, those dated up to `through` (None: all)."""
        releasable(self.system, categories, BOOKKEEPING)
        params = {"through": through.isoformat()} if through else {}
        deleted = 0
        for nets_id in _customers(holdings):
            answer = await self._client.delete(f"/v1/customers/{nets_id}/transactions", params=params,
                                               headers={"Idempotency-Key": f"{key}/{nets_id}"})
            deleted += 0 if answer.status_code == 404 else answer.json()["deleted"]
        dated = f" dated up to {through}" if through else ""
        return done(self.system, Action.RELEASE, Status.ERASED, deleted,
                    detail=f"transactions{dated} deleted: the bookkeeping hold expired")

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """No card token or mandate may be left (a mandate whose deletion still runs is pending); after a
        release, no transaction either."""
        if action is Action.RELEASE:
            left = 0
            for nets_id in _customers(holdings):
                found = await self._client.get(f"/v1/customers/{nets_id}")
                left += 0 if found.status_code == 404 else len(found.json()["transactions"])
            return read_back(self.system, action, Status.ERASED, left, "transaction(s)")
        left = pending = 0
        for held in holdings.ids:
            kind, _, nets_id = held.partition("/")
            if kind != "customer":
                continue
            found = await self._client.get(f"/v1/customers/{nets_id}")
            if found.status_code == 404:
                continue
            customer = found.json()
            mandates = customer["avtaleGiroMandates"]
            pending += sum(m["status"] == "deletion_requested" for m in mandates)
            left += len(customer["cardTokens"]) + sum(m["status"] != "deletion_requested" for m in mandates)
        if pending and not left:
            return Outcome(self.system, Status.PENDING, action, count=pending, verified=False,
                           detail=f"read-back: {pending} mandate deletion(s) still running")
        return read_back(self.system, action, Status.ERASED, left + pending, "card token(s) or mandate(s)")


def _customers(holdings: Holdings) -> list[str]:
    """The Nets customer ids among the holdings' ids."""
    return [held.partition("/")[2] for held in holdings.ids if held.startswith("customer/")]
