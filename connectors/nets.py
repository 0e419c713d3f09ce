"""Nets: cards stored at Nexi Checkout and AvtaleGiro mandates ended by a person; payments held per field.

What is real, and its source:
- Nexi Checkout's Payment API v1 (https://developer.nexigroup.com/nexi-checkout/en-EU/api/): base
  `https://api.dibspayment.eu`, test `https://test.api.dibspayment.eu` (.../docs/test-environment); "the
  Authorization header specifying the private API key", the secret key itself with no scheme (so Nexi's PHP SDK,
  github.com/Nets-eCom/php-payment-sdk lib/Http/HttpClient.php).
- A stored card is a subscription or an unscheduled subscription: `GET /v1/subscriptions/{subscriptionId}`,
  `GET /v1/subscriptions?externalReference=`, `GET /v1/unscheduledsubscriptions/{unscheduledSubscriptionId}`,
  `GET /v1/unscheduledsubscriptions?externalReference=` (.../docs/manage-subscriptions/,
  .../docs/manage-unscheduled-subscriptions/; the SDK's lib/Api/SubscriptionApi.php). The API retrieves, charges
  and verifies them; neither the reference nor the SDK has a call that ends or deletes one (the SDK's client has
  no DELETE at all). So a person ends them with Nexi and confirms, and slett reads them back.
- AvtaleGiro: "A payment mandate is an agreement between a payer and the payer's bank"
  (https://www.mastercardpaymentservices.com/norway/utvikler/paymentmandates); the creditor Mandate API only
  fetches mandates, over mutual TLS with an eIDAS certificate
  (https://www.mastercardpaymentservices.com/norway_/Pages/creditor-mandate-api.aspx). Ending one is a person's
  step: stop the claims on its KID, tell the member they end it in their bank.

Assumptions (an integrator confirms them with Nets and Nexi):
- assumption: the member's stored cards carry their member id as `externalReference`; Nexi sets one only on
  subscriptions imported from another platform, so the chain must have imported (or mapped) them so.
- assumption: an ended stored card reads back 404 (what Nexi shows for one is not documented).
- assumption: the payee's records at Nets under `/v1/payers` (no public API found), at the same base URL:
  `GET /v1/payers?memberRef=` (the payer, its AvtaleGiro mandates by KID, the payments received),
  `POST|GET /v1/payers/{id}/categories/transactions` (restrict keeping fields; read back per field),
  `DELETE /v1/payers/{id}/transactions?through=` (an expired hold's payments).
Holdings ids: "payer/…" ("customer/…" from older code), "subscription/…", "unscheduled/…", "mandate/<KID>",
and "card/…" (a token older code found; a person ends it as a stored card).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from config.settings import ProcessorSettings
from connectors.actions import (
    CATEGORY_STATUS,
    done,
    erase_by_category,
    read_back,
    require,
    together,
    verify_by_category,
)
from connectors.contract import (
    Action,
    Category,
    CategoryErasure,
    Holdings,
    Outcome,
    RetentionFacts,
    Status,
    Subject,
    distinct_days,
)
from connectors.http import Address, ProcessorClient
from connectors.registry import register
from connectors.releases import BOOKKEEPING, releasable

LIVE_URL = "https://api.dibspayment.eu"  # Nexi Checkout's live base address (its test one: test.api.dibspayment.eu)
PAYERS = "/v1/payers"  # ASSUMED: the payee's records at Nets; no public API found
CARDS, MANDATES, TRANSACTIONS = "card_tokens", "avtalegiro_mandates", "transactions"
# Nexi Checkout's stored cards: (holdings id prefix, path, the id's field in Nexi's answer).
STORED = (("subscription", "/v1/subscriptions", "subscriptionId"),
          ("unscheduled", "/v1/unscheduledsubscriptions", "unscheduledSubscriptionId"))
CARD_KINDS = frozenset({"subscription", "unscheduled", "card"})
# What a bookkeeping hold keeps of a payment when no data map says (a plan from before data maps).
BOOKKEEPING_FIELDS = ("transaction_id", "transaction_date", "amount", "kid", "payer_name")
END_CARDS = ("{n} card(s) stored at Nexi Checkout ({ids}): Nexi's Payment API v1 only retrieves, charges and "
             "verifies them, with no call that ends one; a person ends them with Nexi (Checkout Portal or Nexi "
             "support) and confirms; slett then reads them back")
END_MANDATES = ("{n} AvtaleGiro mandate(s) (KID {ids}): a mandate is between the payer and their bank and the "
                "creditor Mandate API only reads mandates; a person stops sending claims on the KID (and deletes "
                "any claim already sent), tells the member they can end the mandate in their online bank, and "
                "confirms")


def address(settings: ProcessorSettings) -> Address:
    """Nexi Checkout's address: the configured base URL (else the live one) and the secret key as `Authorization`."""
    url = str(settings.base_url) if settings.base_url is not None else LIVE_URL
    return Address(url, headers={"Authorization": settings.api_key.get_secret_value()})


def _of(holdings: Holdings, *kinds: str) -> list[tuple[str, str]]:
    """The (kind, id) pairs of the holdings' ids of the given kinds."""
    pairs = [held.partition("/")[::2] for held in holdings.ids]
    return [(kind, nets_id) for kind, nets_id in pairs if kind in kinds]


def _payers(holdings: Holdings) -> list[str]:
    """The payee's record paths (ASSUMED) among the holdings, from this code's ids and older code's."""
    return [f"{PAYERS}/{nets_id}" for _, nets_id in _of(holdings, "payer", "customer")]


@register("nets")
class NetsConnector:
    """Nets: Nexi Checkout's stored cards (read: real), mandates (a person's step), payments (assumed API)."""

    system = "nets"
    # Each category is a resource of its own (…/categories/<name>): their calls may go at once.
    categories_at_once = True
    address = staticmethod(address)

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """The member's payer record and active mandates (assumed), their stored cards at Nexi (real), and the
        date of each payment."""
        found = await self._client.get(PAYERS, params={"memberRef": subject.member_id}, allow=frozenset())
        ids: list[str] = []
        categories: set[str] = set()
        payments: list[dict[str, Any]] = []
        for payer in found.json()["data"]:
            ids.append(f"payer/{payer['payerId']}")
            active = [m["kid"] for m in payer["avtaleGiroMandates"] if m["status"] == "active"]
            ids += [f"mandate/{kid}" for kid in active]
            categories |= {MANDATES} if active else set()
            payments += payer["transactions"]
        cards = await self._stored(subject.member_id)
        ids += cards
        categories |= {CARDS} if cards else set()
        days = distinct_days(date.fromisoformat(t["transaction_date"]) for t in payments)
        dated = (Category(TRANSACTIONS, len(payments), days),) if payments else ()
        return Holdings.of(self.system, ids=ids, categories=categories, dated=dated,
                           facts=RetentionFacts(transaction_dates=days))

    async def erase_category(self, holdings: Holdings, erasure: CategoryErasure, key: str) -> Outcome:
        """Payments: restricted, keeping only the hold's fields (assumed call). Stored cards and mandates: no
        call ends them, so the outcome is a person's step (MANUAL) that names them."""
        if erasure.category == CARDS:
            cards = [nets_id for _, nets_id in _of(holdings, *CARD_KINDS)]
            return self._by_person(erasure.action, END_CARDS, cards)
        if erasure.category == MANDATES:
            return self._by_person(erasure.action, END_MANDATES, [kid for _, kid in _of(holdings, "mandate")])
        return await erase_by_category(self._client, self.system, _payers(holdings), erasure, key)

    async def verify_category(self, holdings: Holdings, erasure: CategoryErasure) -> Outcome:
        """Stored cards: read back at Nexi, none may be left. Mandates: nothing slett may read; the person's
        confirmation stands for it (verified None). Payments: restricted, exactly the kept fields left."""
        if erasure.category == CARDS:
            left = await self._cards_left(holdings)
            return read_back(self.system, erasure.action, CATEGORY_STATUS[erasure.action], left,
                             "card(s) stored at Nexi Checkout")
        if erasure.category == MANDATES:
            return Outcome(self.system, Status.MANUAL, erasure.action, verified=None,
                           detail="no call slett may make reads a mandate back: the person's confirmation stands")
        return await verify_by_category(self._client, self.system, _payers(holdings), erasure)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """As a block (a plan from before data maps): payments restricted keeping the bookkeeping fields, and a
        person's step for the stored cards and mandates."""
        require(self.system, action, Action.DELETE)
        kept = await self.erase_category(
            holdings, CategoryErasure(TRANSACTIONS, Action.RESTRICT, BOOKKEEPING_FIELDS, "bookkeeping"), key)
        restricted = 0 if kept.status is Status.ALREADY_ABSENT else len(_payers(holdings))  # one call a payer
        steps = [o for o in [await self.erase_category(holdings, CategoryErasure(c, Action.DELETE), key)
                             for c in (CARDS, MANDATES)] if o.status is Status.MANUAL]
        if steps:
            return Outcome(self.system, Status.MANUAL, action, count=restricted,
                           detail="; ".join([*(s.detail for s in steps), "payments kept for bookkeeping, restricted"]))
        return done(self.system, action, Status.ERASED, restricted,
                    detail="payments kept for bookkeeping (bokføringsloven § 13), restricted")

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Released: no payment left. Erased as a block: no stored card left at Nexi and every payment restricted
        (a mandate's end rests on the person's confirmation)."""
        if action is Action.RELEASE:
            left = 0
            for payer in _payers(holdings):
                found = await self._client.get(payer)
                left += 0 if found.status_code == 404 else len(found.json()["transactions"])
            return read_back(self.system, action, Status.ERASED, left, "payment(s)")
        kept = await verify_by_category(self._client, self.system, _payers(holdings),
                                        CategoryErasure(TRANSACTIONS, Action.RESTRICT, BOOKKEEPING_FIELDS))
        left = await self._cards_left(holdings)
        if not kept.verified:
            return kept.with_(action=action)
        return read_back(self.system, action, Status.ERASED, left, "card(s) stored at Nexi Checkout")

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Delete the payments an expired bookkeeping hold kept, those dated up to `through` (assumed call)."""
        releasable(self.system, categories, BOOKKEEPING)
        params = {"through": through.isoformat()} if through else {}
        deleted = 0
        for payer in _payers(holdings):
            answer = await self._client.delete(f"{payer}/transactions", params=params,
                                               headers={"Idempotency-Key": f"{key}/{payer.rsplit('/', 1)[1]}"})
            deleted += 0 if answer.status_code == 404 else answer.json()["deleted"]
        dated = f" dated up to {through}" if through else ""
        return done(self.system, Action.RELEASE, Status.ERASED, deleted,
                    detail=f"payments{dated} deleted: the bookkeeping hold expired")

    async def poll(self, reference: str) -> Outcome:
        """Nets runs no jobs for slett. A job older code was given (a mandate deletion no real API offers) is a
        person's step now."""
        return Outcome(self.system, Status.MANUAL, Action.DELETE, reference=reference,
                       detail=END_MANDATES.format(n="the member's", ids="in Nets' records"))

    async def _stored(self, member_id: str) -> list[str]:
        """The member's stored cards at Nexi Checkout, found by their external reference (Nexi answers one)."""
        # Both kinds at once: a lookup's round trips are on the erasure's path.
        answers = await together(*(self._client.get(path, params={"externalReference": member_id})
                                   for _, path, _ in STORED))
        return [f"{kind}/{answer.json()[field]}" for (kind, _, field), answer in zip(STORED, answers, strict=True)
                if answer.status_code != 404]

    async def _cards_left(self, holdings: Holdings) -> int:
        """How many of the holdings' stored cards Nexi still has; a token older code found cannot be read."""
        paths = dict((kind, path) for kind, path, _ in STORED)
        left = 0
        for kind, nets_id in _of(holdings, "subscription", "unscheduled"):
            left += (await self._client.get(f"{paths[kind]}/{nets_id}")).status_code != 404
        return left

    def _by_person(self, action: Action, words: str, ids: list[str]) -> Outcome:
        """A person's step for what no call ends; already absent when there is nothing."""
        if not ids:
            return Outcome.already_absent(self.system, action)
        return Outcome(self.system, Status.MANUAL, action, count=len(ids), verified=None,
                       detail=words.format(n=len(ids), ids=", ".join(ids)))
