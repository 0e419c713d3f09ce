"""Releases: once a hold expires, exactly the records it kept are deleted, and the read-back sees them gone."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date

import pytest

from connectors.contract import Action, Holdings, Permanent, Releaser, Status
from connectors.described import described_connectors
from connectors.described.connector import RefusesRelease
from connectors.exceline import ExcelineConnector
from connectors.eziteq import EziteqConnector
from connectors.nets import NetsConnector
from connectors.stripe import StripeConnector
from sandbox.exceline_records import add_record

BOOKKEEPING = ("invoices", "payments", "customer ledger")


async def test_exceline_release_deletes_exactly_the_kept_invoices(open_connector, subject, sandbox):
    """After anonymisation, a release deletes the member's kept invoice lines, and nobody else's."""
    others = {m: len(r.invoices) for m, r in sandbox.exceline.members.items() if m != "M1001"}
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject("M1001"))
        await exceline.erase(holdings, Action.ANONYMISE, "k1")
        before = await exceline.verify(holdings, Action.RELEASE)
        outcome = await exceline.release(holdings, BOOKKEEPING, "r1")
        after = await exceline.verify(holdings, Action.RELEASE)
        looked = await exceline.lookup(subject("M1001"))

    assert (Status.FAILED, False) == (before.status, before.verified)
    assert (Status.ERASED, Action.RELEASE, 12) == (outcome.status, outcome.action, outcome.count)
    assert (Status.ERASED, True) == (after.status, after.verified)
    assert ("invoices" not in looked.categories, None) == (True, looked.facts.last_invoice_date)
    assert [] == sandbox.exceline.members["M1001"].invoices
    assert others == {m: len(r.invoices) for m, r in sandbox.exceline.members.items() if m != "M1001"}


async def test_exceline_refuses_to_release_an_active_members_invoices(open_connector, subject, sandbox):
    """Invoices of a member not yet anonymised or restricted are not held: the release is Permanent (409)."""
    async with open_connector("exceline") as (exceline, _):
        with pytest.raises(Permanent, match="HTTP 409"):
            await exceline.release(await exceline.lookup(subject("M1001")), ("invoices",), "r1")

    assert 12 == len(sandbox.exceline.members["M1001"].invoices)


async def test_a_replayed_release_deletes_once(open_connector, subject, sandbox):
    """A release replayed with its key gets the first answer and applies nothing new."""
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject("M1001"))
        await exceline.erase(holdings, Action.ANONYMISE, "k1")
        first = await exceline.release(holdings, ("invoices",), "r1")
        again = await exceline.release(holdings, ("invoices",), "r1")

    assert first == again
    releases = [c for c in sandbox.journal.calls_for("M1001") if c.action == "release"]
    assert [True, False] == [c.applied for c in releases]


async def test_eziteq_release_deletes_invoices_and_keeps_journal_notes(open_connector, subject, sandbox):
    """At Eziteq a release deletes the kept invoices; the journal notes stay (journal law)."""
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(subject("M1101"))
        await eziteq.erase(holdings, Action.ANONYMISE, "k1")
        outcome = await eziteq.release(holdings, BOOKKEEPING, "r1")
        check = await eziteq.verify(holdings, Action.RELEASE)

    record = sandbox.eziteq.members["M1101"]
    assert (Status.ERASED, 12, True) == (outcome.status, outcome.count, check.verified)
    assert ([], 1) == (record.invoices, len(record.journal_notes))
    assert 12 == len(sandbox.eziteq.members["M1102"].invoices)


@pytest.mark.parametrize("system", ["eziteq", "physica"])
async def test_journals_are_never_released(system, open_connector, subject, sandbox):
    """A release of a journal is refused before any call, citing the journal laws."""
    member = "M1101"
    async with open_connector(system) as (connector, client):
        holdings = await connector.lookup(subject(member))
        sent = client.attempts
        with pytest.raises(Permanent, match="helsepersonelloven") as refused:
            await connector.release(holdings, ("journal",), "r1")

    assert sent == client.attempts
    assert "pasientjournalloven" in str(refused.value)


async def test_physica_refuses_whatever_the_categories(open_connector, subject):
    """Physica holds only journals: any release there is refused."""
    async with open_connector("physica") as (physica, _):
        with pytest.raises(Permanent, match="release refused"):
            await physica.release(await physica.lookup(subject("M1003")), BOOKKEEPING, "r1")


async def test_a_release_of_what_is_not_kept_is_refused(open_connector, subject):
    """Asking Exceline to release photos (never held) is Permanent and names what a release there covers."""
    async with open_connector("exceline") as (exceline, client):
        with pytest.raises(Permanent, match="a release here covers"):
            await exceline.release(Holdings.of("exceline", ids=["M1001"]), ("photo",), "r1")

    assert 0 == client.attempts


async def test_nets_release_deletes_exactly_the_kept_payments(open_connector, subject, sandbox):
    """Once the payments are held, a release deletes the member's kept payments (an assumed call), and nobody
    else's."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1004"))
        await nets.erase(holdings, Action.DELETE, "k1")
        after_erase = await nets.verify(holdings, Action.DELETE)
        before = await nets.verify(holdings, Action.RELEASE)
        outcome = await nets.release(holdings, ("transactions",), "r1")
        after = await nets.verify(holdings, Action.RELEASE)

    assert after_erase.verified and not before.verified
    assert (Status.ERASED, 12, True) == (outcome.status, outcome.count, after.verified)
    assert [] == sandbox.nets.payers["NC-1004"].transactions
    assert 12 == len(sandbox.nets.payers["NC-1001"].transactions)


async def test_nets_refuses_while_a_mandate_is_active(open_connector, subject, sandbox):
    """While the payer's AvtaleGiro mandate is active the payments are in use, not held: the release is
    Permanent (HTTP 409)."""
    member = sandbox.add_member(mandate=True)
    async with open_connector("nets") as (nets, _):
        with pytest.raises(Permanent, match="HTTP 409"):
            await nets.release(await nets.lookup(subject(member.member_id)), ("transactions",), "r1")

    assert 12 == len(sandbox.nets.payers[f"NC-{member.number}"].transactions)


async def test_releasers_meet_the_contract(open_connector):
    """Exceline, Eziteq, Nets, Stripe and Physica (which refuses) are releasers (mypy checks the signatures)."""
    async with open_connector("nets") as (_, client):
        releasers: list[Releaser] = [ExcelineConnector(client), EziteqConnector(client), NetsConnector(client),
                                     StripeConnector(client)]
        physica = described_connectors()["physica"](client)
        assert isinstance(physica, RefusesRelease)
        releasers.append(physica)

    assert {"exceline", "eziteq", "nets", "stripe", "physica"} == {
        r.system for r in releasers}  # type: ignore[attr-defined]


async def test_exceline_release_through_a_day_deletes_only_the_older_records(open_connector, subject, sandbox):
    """A release of the invoices and purchases dated up to a day deletes those, and keeps the newer ones held
    for their own dates, each call with its own key."""
    record = sandbox.exceline.members["M1001"]
    add_record(record, "purchases", date(2025, 6, 1))
    add_record(record, "purchases", date(2026, 2, 1))
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject("M1001"))
        await exceline.erase(holdings, Action.ANONYMISE, "k1")
        invoices = await exceline.release(holdings, BOOKKEEPING, "r1:2025", through=date(2025, 12, 31))
        purchases = await exceline.release(holdings, ("purchases",), "r2:2025", through=date(2025, 12, 31))

    assert (11, 1) == (invoices.count, purchases.count)
    assert [date(2026, 1, 1)] == [invoice.invoice_date for invoice in record.invoices]
    assert ["2026-02-01"] == [r["purchasedOn"] for r in record.records["purchases"]]


async def test_exceline_and_eziteq_keep_the_contract_restricted_until_it_is_released(open_connector, subject,
                                                                                    sandbox):
    """The signed membership contract is reported by lookup, kept restricted when the member is anonymised,
    and deleted by its release."""
    async with open_connector("exceline") as (exceline, _):
        excelines = await exceline.lookup(subject("M1001"))
        await exceline.erase(excelines, Action.ANONYMISE, "k1")
        kept = [c["restricted"] for c in sandbox.exceline.members["M1001"].records["contracts"]]
        await exceline.release(excelines, ("contracts",), "r1")
    async with open_connector("eziteq") as (eziteq, _):
        eziteqs = await eziteq.lookup(subject("M1101"))
        await eziteq.erase(eziteqs, Action.ANONYMISE, "k1")
        kept_at_eziteq = [c["restricted"] for c in sandbox.eziteq.members["M1101"].contracts]
        released = await eziteq.release(eziteqs, ("contracts",), "r1")

    assert ("contracts" in excelines.categories, "contracts" in eziteqs.categories) == (True, True)
    assert ([True], [True]) == (kept, kept_at_eziteq)
    assert "contracts" not in sandbox.exceline.members["M1001"].records
    assert (1, []) == (released.count, sandbox.eziteq.members["M1101"].contracts)


async def test_nets_release_through_a_day_keeps_the_newer_transactions(open_connector, subject, sandbox):
    """Nets deletes the transactions dated up to the day and keeps the next financial year's."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1004"))
        await nets.erase(holdings, Action.DELETE, "k1")
        outcome = await nets.release(holdings, ("transactions",), "r1", through=date(2025, 12, 31))

    assert (11, ["2026-01-15"]) == (outcome.count, [t["transaction_date"]
                                                    for t in sandbox.nets.payers["NC-1004"].transactions])
