"""The sandbox: stand-in processors with their own state, seeded demo members per chain, one journal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Protocol

import httpx
from starlette.types import ASGIApp

from sandbox import exceline, eziteq, fixit, ibooking, lifevision, mailchimp, nets, physica, plain, stripe
from sandbox.faults import FaultInjector, Faults
from sandbox.guests import Guests
from sandbox.journal import Call, Journal
from sandbox.limits import RateLimit, Throttle, too_many_requests
from sandbox.people import (
    CHAIN_SEEDED,
    CHAIN_SYSTEMS,
    JOURNAL_LAST_ENTRY,
    SEEDED,
    SYSTEMS,
    DemoMember,
    People,
    Profile,
)
from sandbox.transport import SandboxTransport
from sandbox.webhooks import Delivery, WebhookSender


class Processor(Protocol):
    """One stand-in processor's state."""

    system: str

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Give the member what the profile says this processor holds."""

    def clear(self) -> None:
        """Forget everything."""


class Sandbox:
    """Stand-in processors for demos, tests and benchmarks: stateful ASGI apps with fault switches."""

    def __init__(self, seed: int = 2025) -> None:
        self.seed = seed
        self.journal = Journal()
        self.webhooks: WebhookSender | None = None  # set to send member.terminated and invoice.settled
        self.exceline = exceline.Exceline()
        self.ibooking = ibooking.Ibooking()
        self.mailchimp = mailchimp.Mailchimp()
        self.nets = nets.Nets()
        self.physica = physica.Physica()
        self.eziteq = eziteq.Eziteq()
        self.fixit = fixit.Fixit()
        self.lifevision = lifevision.Lifevision()
        self.stripe = stripe.Stripe()
        # Plain-REST stand-ins for systems the seeds name by role only (MOVA's CRM and image bank, Spenst's
        # access control and app): one shape, each under its own name.
        self.crm, self.imagebank, self.access, self.app = plain.crm(), plain.imagebank(), plain.access(), plain.app()
        self.faults = {system: Faults(seed=seed + n) for n, system in enumerate(SYSTEMS)}
        self.limits = {system: RateLimit() for system in SYSTEMS}
        built = {"exceline": exceline.build(self.exceline, self.journal),
                 "ibooking": ibooking.build(self.ibooking, self.journal),
                 "mailchimp": mailchimp.build(self.mailchimp, self.journal),
                 "nets": nets.build(self.nets, self.journal),
                 "physica": physica.build(self.physica, self.journal),
                 "eziteq": eziteq.build(self.eziteq, self.journal),
                 "fixit": fixit.build(self.fixit, self.journal),
                 "lifevision": lifevision.build(self.lifevision, self.journal),
                 "stripe": stripe.build(self.stripe, self.journal),
                 **{twin.system: plain.build(twin, self.journal) for twin in self.plain_twins}}
        refusals = {"stripe": stripe.rate_limited}
        fault_bodies = {"stripe": stripe.fault_body}
        self.apps: dict[str, ASGIApp] = {
            system: Throttle(FaultInjector(app, self.faults[system], fault_bodies.get(system)), self.limits[system],
                             refusals.get(system, too_many_requests))
            for system, app in built.items()}
        self._populate()

    @property
    def processors(self) -> dict[str, Processor]:
        """Each processor's state, by system."""
        return {"exceline": self.exceline, "ibooking": self.ibooking, "mailchimp": self.mailchimp,
                "nets": self.nets, "physica": self.physica, "eziteq": self.eziteq, "fixit": self.fixit,
                "lifevision": self.lifevision, "stripe": self.stripe,
                **{twin.system: twin for twin in self.plain_twins}}

    @property
    def plain_twins(self) -> tuple[plain.PlainProcessor, ...]:
        """The plain-REST stand-ins."""
        return (self.crm, self.imagebank, self.access, self.app)

    @property
    def guests(self) -> dict[str, Guests]:
        """The guests (visitors with no paying agreement) of each processor that has them."""
        return {"exceline": self.exceline.guests, "ibooking": self.ibooking.guests, "fixit": self.fixit.guests,
                "eziteq": self.eziteq.guests}

    def _populate(self) -> None:
        self._people = People(self.seed)
        self._everyone: dict[str, DemoMember] = {}
        self.members = [self._enrol(self._people.make(member_id), profile)
                        for member_id, profile in SEEDED.items()]
        self.chains = {chain: [self._enrol(self._people.make(member_id), profile)
                               for member_id, profile in seeded.items()]
                       for chain, seeded in CHAIN_SEEDED.items()}

    def _enrol(self, member: DemoMember, profile: Profile) -> DemoMember:
        for system, processor in self.processors.items():
            if profile.at(system):
                processor.enrol(member, profile)
        self._everyone[member.member_id] = member
        return member

    def transports(self) -> dict[str, httpx.ASGITransport]:
        """An in-process transport per system (base URL `http://{system}.sandbox`)."""
        return {system: SandboxTransport(app=app) for system, app in self.apps.items()}

    def add_member(self, *, open_invoice: bool = False, journal: bool = False, in_collection: bool = False,
                   absent_from: Iterable[str] = (), chain: str = "demo", course_end: date | None = None,
                   keep_after_course: bool = False, card: bool = False, mandate: bool = False,
                   member_until: date | None = None) -> DemoMember:
        """A new fake member in every processor of `chain` (physica only with a journal), except `absent_from`;
        at Nets with a card stored at Nexi Checkout and an AvtaleGiro mandate only when asked."""
        absent = frozenset(absent_from)
        if unknown := absent - set(SYSTEMS):
            raise ValueError(f"absent_from names unknown systems {sorted(unknown)}; known: {list(SYSTEMS)}")
        if chain not in CHAIN_SYSTEMS:
            raise ValueError(f"unknown chain {chain!r}; known: {sorted(CHAIN_SYSTEMS)}")
        profile = Profile(open_invoice=open_invoice, in_collection=in_collection, absent_from=absent,
                          journal_last_entry=JOURNAL_LAST_ENTRY if journal else None,
                          systems=CHAIN_SYSTEMS[chain], course_end=course_end, keep_after_course=keep_after_course,
                          card=card, mandate=mandate, member_until=member_until)
        return self._enrol(self._people.make(), profile)

    def add_guests(self, systems: str | Iterable[str], count: int, last_visit: date) -> dict[str, range]:
        """Add `count` guests who last visited on `last_visit` at each named system ("all": every system with
        guests); the new guests' numbers per system (`sandbox.guests[system].id_of(n)` is the id)."""
        return {system: self.guests[system].add(count, last_visit) for system in self._named(systems, self.guests)}

    def limit(self, systems: str | Iterable[str], per_second: float | None, burst: int | None = None,
              max_batch: int | None = None) -> None:
        """Enforce a rate limit (requests a second, None lifts it) and, where guests are purged, a batch cap."""
        for system in self._named(systems, self.limits):
            self.limits[system].configure(per_second, burst)
            if max_batch is not None and system in self.guests:
                self.guests[system].max_batch = max_batch

    def _named(self, systems: str | Iterable[str], known: Mapping[str, object]) -> list[str]:
        named = list(known) if systems == "all" else [systems] if isinstance(systems, str) else list(systems)
        if unknown := sorted(set(named) - set(known)):
            raise ValueError(f"unknown systems {unknown}; known here: {sorted(known)}")
        return named

    def member(self, member_id: str) -> DemoMember:
        """A demo member by id."""
        return self._everyone[member_id]

    def settle(self, member_id: str) -> int:
        """Pay the member's open invoices in the membership system (each sends invoice.settled); how many."""
        if member_id in self.eziteq.members:  # K24's membership system
            unpaid = [str(i.invoice_no) for i in self.eziteq.members[member_id].invoices if i.balance_ore]
            paid = self.eziteq.settle(member_id)
        else:
            unpaid = [i.invoice_id for i in self.exceline.members[member_id].invoices if i.open_amount_ore]
            paid = self.exceline.settle(member_id)
        for invoice_id in unpaid:
            if self.webhooks:
                self.webhooks.emit("invoice.settled", member_id, self.chain_of(member_id), invoice_id=invoice_id)
        return paid

    def terminate(self, member_id: str, controller: str | None = None) -> Delivery | None:
        """End the membership; with webhooks set, the membership system sends member.terminated."""
        self.member(member_id)  # a KeyError for a member the sandbox does not know
        if member_id in self.exceline.members:
            self.exceline.members[member_id].status = "terminated"
        chain = controller or self.chain_of(member_id)
        return self.webhooks.emit("member.terminated", member_id, chain) if self.webhooks else None

    def forget(self, member_id: str, controller: str | None = None) -> Delivery | None:
        """The member asks to be forgotten; with webhooks set, the membership system sends erasure.requested."""
        self.member(member_id)
        chain = controller or self.chain_of(member_id)
        return self.webhooks.emit("erasure.requested", member_id, chain) if self.webhooks else None

    def withdraw_marketing(self, member_id: str, controller: str | None = None) -> Delivery | None:
        """The member withdraws marketing consent; with webhooks set, the membership system sends
        marketing.withdrawn."""
        self.member(member_id)
        chain = controller or self.chain_of(member_id)
        return self.webhooks.emit("marketing.withdrawn", member_id, chain) if self.webhooks else None

    def chain_of(self, member_id: str) -> str | None:
        """The chain a seeded member belongs to (None for the demo members and added ones)."""
        return next((chain for chain, members in self.chains.items()
                     if any(m.member_id == member_id for m in members)), None)

    def exceline_last_invoice_date(self, member_id: str) -> date:
        """The date of the member's last invoice in the membership system."""
        return max(invoice.invoice_date for invoice in self.exceline.members[member_id].invoices)

    def destructive_calls_for(self, member_id: str) -> list[str]:
        """The systems that applied a destructive call for the member, in order of their first."""
        return self.journal.destructive_calls_for(member_id)

    def applied_calls(self, member_id: str) -> list[Call]:
        """Every destructive call for the member that changed something, in order."""
        return self.journal.applied_calls(member_id)

    def all_personal_values(self) -> set[str]:
        """Every name, e-mail, phone and address of every member (for privacy audits)."""
        return {value for member in self._everyone.values() for value in member.personal_values()}

    def reset(self) -> None:
        """Back to the seeded members, no journal, healthy processors."""
        for processor in self.processors.values():
            processor.clear()
        self.journal.clear()
        for faults in self.faults.values():
            faults.reset()
        for limit in self.limits.values():
            limit.configure(None)
        for guests in self.guests.values():
            guests.max_batch = Guests.max_batch
        self._populate()
