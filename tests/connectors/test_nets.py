"""Nets: card tokens deleted, AvtaleGiro mandates deleted by a polled job, transactions kept."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date

import pytest

from connectors.contract import Action, Permanent, Status


async def test_lookup_finds_tokens_mandates_and_last_transaction(open_connector, subject):
    """The member's customer, card token and mandate are found, with the last transaction date."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1001"))

    assert ("customer/NC-1001", "card/tok_001001a", "mandate/AG-1001") == holdings.ids
    assert {"card_tokens", "avtalegiro_mandates", "transactions"} == holdings.categories
    assert date(2026, 1, 15) == holdings.facts.last_transaction_date


async def test_mandate_deletion_is_accepted_then_polled_to_done(open_connector, subject, sandbox):
    """A mandate deletion is an accepted job; polling it reaches erased, and then the read-back verifies."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1001"))
        accepted = await nets.erase(holdings, Action.DELETE, "k1")
        early = await nets.verify(holdings, Action.DELETE)
        polls = [await nets.poll(accepted.reference) for _ in range(sandbox.nets.job_polls)]
        check = await nets.verify(holdings, Action.DELETE)

    assert (Status.ACCEPTED, 2) == (accepted.status, accepted.count)
    assert accepted.reference in sandbox.nets.jobs
    assert (Status.PENDING, False) == (early.status, early.verified)
    assert [Status.ACCEPTED, Status.ERASED] == [poll.status for poll in polls]
    assert (Status.ERASED, True) == (check.status, check.verified)


async def test_card_token_only_is_erased_at_once(open_connector, subject):
    """With only a card token, erase is ERASED at once: there is no job."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1004"))
        outcome = await nets.erase(holdings, Action.DELETE, "k1")
        check = await nets.verify(holdings, Action.DELETE)

    assert (Status.ERASED, 1, None) == (outcome.status, outcome.count, outcome.reference)
    assert check.verified


async def test_nothing_left_is_already_absent(open_connector, subject):
    """Once tokens and mandates are gone, another erase is already-absent."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1004"))
        await nets.erase(holdings, Action.DELETE, "k1")
        again = await nets.erase(holdings, Action.DELETE, "k2")

    assert Status.ALREADY_ABSENT == again.status


async def test_transactions_are_kept_and_restricted(open_connector, subject, sandbox):
    """Erasing keeps every transaction (bookkeeping) and marks it restricted."""
    async with open_connector("nets") as (nets, _):
        outcome = await nets.erase(await nets.lookup(subject("M1001")), Action.DELETE, "k1")

    transactions = sandbox.nets.customers["NC-1001"].transactions
    assert 12 == len(transactions)
    assert all(t["restricted"] for t in transactions)
    assert "transactions kept" in outcome.detail


async def test_open_invoice_month_has_no_transaction(open_connector, subject):
    """An unpaid month has no transaction, so the last transaction is the month before."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1002"))

    assert date(2025, 12, 15) == holdings.facts.last_transaction_date


async def test_unknown_job_is_permanent(open_connector):
    """Polling a job Nets does not know is Permanent."""
    async with open_connector("nets") as (nets, _):
        with pytest.raises(Permanent, match="HTTP 404"):
            await nets.poll("job_99999")
