"""The sandbox's world: seeded demo members, added members, settlement, auth and the journal."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import re
from datetime import date

import pytest

from sandbox.people import JOURNAL_LAST_ENTRY, SYSTEMS
from sandbox.world import Sandbox

PHONE = re.compile(r"^\+47 9\d\d \d\d \d\d\d$")


def test_seeded_members():
    """The seed holds M1001-M1004 with fake, unique contact details."""
    sandbox = Sandbox()

    assert ["M1001", "M1002", "M1003", "M1004"] == [m.member_id for m in sandbox.members]
    assert all(m.email.endswith("@example.no") and PHONE.match(m.phone) for m in sandbox.members)
    seeded = len(sandbox.members) + sum(len(chain) for chain in sandbox.chains.values())
    assert 4 * seeded == len(sandbox.all_personal_values())  # name, e-mail, phone and address each


def test_m1001_is_everywhere_but_the_journal():
    """M1001 is settled, books classes, is in two audiences and pays the invoice: Nets has their payments, no
    card stored at Nexi Checkout and no AvtaleGiro mandate."""
    sandbox = Sandbox()

    assert not sandbox.exceline.members["M1001"].owes()
    assert 3 == len(sandbox.ibooking.customers["71001"].bookings)
    assert 2 == sum(owner == "M1001" for owner in sandbox.mailchimp.member_ids.values())
    payer = sandbox.nets.payers["NC-1001"]
    assert (0, 0, 12) == (len(sandbox.nets.cards_of("M1001")), len(payer.mandates), len(payer.transactions))
    assert [] == [p for p in sandbox.physica.patients.values() if p.external_ref == "M1001"]


def test_m1002_owes_m1003_has_a_journal_m1004_is_partly_absent():
    """M1002 has an open invoice, M1003 a journal ending on a known date, M1004 no booking or newsletter."""
    sandbox = Sandbox()

    assert sandbox.exceline.members["M1002"].owes()
    assert JOURNAL_LAST_ENTRY.isoformat() == sandbox.physica.patients["P-1003"].last_entry
    assert "71004" not in sandbox.ibooking.customers
    assert "M1004" not in sandbox.mailchimp.member_ids.values()


def test_invoices_are_dated_2025_and_2026():
    """Invoice dates fall in 2025 and 2026, the last on 1 January 2026."""
    sandbox = Sandbox()

    years = {i.invoice_date.year for i in sandbox.exceline.members["M1001"].invoices}
    assert {2025, 2026} == years
    assert date(2026, 1, 1) == sandbox.exceline_last_invoice_date("M1001")


def test_added_members_are_unique():
    """Added members never share a name, e-mail, phone or address."""
    sandbox = Sandbox()

    added = [sandbox.add_member() for _ in range(300)]

    seeded = [*sandbox.members, *(member for chain in sandbox.chains.values() for member in chain)]
    values = [value for member in [*seeded, *added] for value in member.personal_values()]
    assert len(values) == len(set(values))
    assert len(values) == len(sandbox.all_personal_values())


def test_add_member_options():
    """add_member places the member as asked: open invoice, collection, journal, absences."""
    sandbox = Sandbox()

    owing = sandbox.add_member(open_invoice=True, in_collection=True)
    patient = sandbox.add_member(journal=True, absent_from=["nets", "mailchimp"])

    invoices = sandbox.exceline.members[owing.member_id].invoices
    assert {"open", "collection"} <= {i.status for i in invoices}
    assert [patient.member_id] == [p.external_ref for p in sandbox.physica.patients.values()
                                   if p.external_ref == patient.member_id]
    assert patient.member_id not in {p.member_ref for p in sandbox.nets.payers.values()}
    assert patient.member_id not in sandbox.mailchimp.member_ids.values()


def test_absent_from_unknown_system_is_refused():
    """Naming an unknown system in absent_from is an error that lists the known ones."""
    with pytest.raises(ValueError, match="unknown systems"):
        Sandbox().add_member(absent_from=["visma"])


def test_settle_pays_open_invoices():
    """settle() pays the member's open invoices."""
    sandbox = Sandbox()

    assert 1 == sandbox.settle("M1002")
    assert not sandbox.exceline.members["M1002"].owes()


def test_same_seed_same_world():
    """One seed builds the same members."""
    assert Sandbox(seed=3).members == Sandbox(seed=3).members
    assert Sandbox(seed=3).members != Sandbox(seed=4).members


def test_reset_restores_the_seed():
    """reset() brings back the seeded members and forgets the journal and added members."""
    sandbox = Sandbox()
    added = sandbox.add_member()
    del sandbox.ibooking.customers["71001"]
    sandbox.faults["nets"].configure(error_rate=1.0)

    sandbox.reset()

    assert "71001" in sandbox.ibooking.customers
    assert added.member_id not in sandbox.exceline.members
    assert 0.0 == sandbox.faults["nets"].error_rate


@pytest.mark.parametrize(("system", "path"), [
    ("exceline", "/api/v1/members/M1001"), ("ibooking", "/customers/71001"), ("mailchimp", "/3.0/lists"),
    ("nets", "/v1/payers/NC-1001"), ("physica", "/api/patients/P-1003")])
async def test_every_system_wants_a_bearer_token(client, system, path):
    """Without `Authorization: Bearer <key>` every system answers 401; with any key, 200 (Nets takes the key
    as it comes, as Nexi does)."""
    async with client(system, authorised=False) as anonymous, client(system) as authorised:
        statuses = ((await anonymous.get(path)).status_code, (await authorised.get(path)).status_code)

    assert (401, 200) == statuses


def test_systems_are_the_five():
    """The sandbox has one app and one set of faults per system."""
    sandbox = Sandbox()

    assert set(SYSTEMS) == set(sandbox.apps) == set(sandbox.faults) == set(sandbox.transports())


async def test_replay_with_same_key_is_recorded_unapplied(sandbox, client):
    """A destructive call replayed with its Idempotency-Key gets the same answer, journalled unapplied."""
    async with client("exceline") as exceline:
        first = await exceline.post("/api/v1/members/M1001/anonymise", headers={"Idempotency-Key": "k"})
        again = await exceline.post("/api/v1/members/M1001/anonymise", headers={"Idempotency-Key": "k"})

    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert [True, False] == [call.applied for call in sandbox.journal.calls_for("M1001")]


async def test_key_reused_for_another_call_is_refused(sandbox, client):
    """An Idempotency-Key reused for a different call is refused (422), not replayed."""
    async with client("ibooking") as ibooking:
        await ibooking.delete("/customers/71001", headers={"Idempotency-Key": "k"})
        other = await ibooking.delete("/customers/71002", headers={"Idempotency-Key": "k"})

    assert 422 == other.status_code
    assert "71002" in sandbox.ibooking.customers


async def test_destructive_calls_name_each_system_once_in_order(sandbox, client):
    """destructive_calls_for lists each system that applied a call, in order of its first, and never a
    call that changed nothing."""
    async with client("mailchimp") as mailchimp, client("exceline") as exceline:
        for list_id, digest in [k for k, m in sandbox.mailchimp.member_ids.items() if m == "M1001"] * 2:
            await mailchimp.post(f"/3.0/lists/{list_id}/members/{digest}/actions/delete-permanent")
        await exceline.post("/api/v1/members/M1001/anonymise")

    assert ["mailchimp", "exceline"] == sandbox.destructive_calls_for("M1001")
    assert ["mailchimp", "mailchimp", "exceline"] == [c.system for c in sandbox.applied_calls("M1001")]
    assert 5 == len(sandbox.journal.calls_for("M1001"))


async def test_open_invoice_blocks_anonymisation(client):
    """The membership system refuses to anonymise a member who owes money (409)."""
    async with client("exceline") as exceline:
        assert 409 == (await exceline.post("/api/v1/members/M1002/anonymise")).status_code


async def test_nexi_twin_reads_stored_cards_and_offers_no_call_to_end_one(sandbox, client):
    """The twin answers Nexi Checkout's reads of a stored card (by external reference and by id, with the secret
    key itself as Authorization) and, like Nexi, has no call that ends or deletes one; a person's end (what Nexi's
    Portal or support does) makes it read back 404."""
    member = sandbox.add_member(card=True)
    async with client("nets", headers={"Authorization": "secret-key"}) as nexi:
        found = (await nexi.get("/v1/subscriptions", params={"externalReference": member.member_id})).json()
        path = f"/v1/subscriptions/{found['subscriptionId']}"
        by_id = (await nexi.get(path)).status_code
        delete = (await nexi.delete(path)).status_code
        sandbox.nets.end_at_nexi(member.member_id)
        ended = (await nexi.get(path)).status_code

    assert ("CARD", "492500******0004") == (found["paymentDetails"]["paymentType"],
                                            found["paymentDetails"]["cardDetails"]["maskedPan"])
    assert (200, 405, 404) == (by_id, delete, ended)


async def test_physica_has_no_way_to_delete(client):
    """The journal API has no delete: DELETE is not allowed."""
    async with client("physica") as physica:
        assert 405 == (await physica.delete("/api/patients/P-1003")).status_code
