"""Seeded members of the other chains: K24, Aktiv365 and Vekstly, each at its own chain's processors."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date

import pytest

from sandbox.people import CHAIN_SEEDED, COURSE_ENDED, JOURNAL_LAST_ENTRY
from sandbox.stripe import stripe_id
from sandbox.world import Sandbox


def where(sandbox: Sandbox, member_id: str) -> set[str]:
    """The systems that hold the member."""
    number = int(member_id[1:])
    held = {
        "exceline": member_id in sandbox.exceline.members,
        "eziteq": member_id in sandbox.eziteq.members,
        "ibooking": str(70_000 + number) in sandbox.ibooking.customers,
        "fixit": 80_000 + number in sandbox.fixit.customers,
        "lifevision": any(c.external_id == member_id for c in sandbox.lifevision.contacts.values()),
        "mailchimp": member_id in sandbox.mailchimp.member_ids.values(),
        "nets": f"NC-{number}" in sandbox.nets.payers,
        "physica": f"P-{number}" in sandbox.physica.patients,
        "stripe": any(c["metadata"].get("member_id") == member_id for c in sandbox.stripe.customers.values()),
        **{twin.system: twin.of(member_id) is not None for twin in sandbox.plain_twins},
    }
    return {system for system, here in held.items() if here}


def test_each_chain_seeds_its_members():
    """The seed holds K24's M1101-M1103, Aktiv365's M1201-M1203 and Vekstly's M1301-M1303."""
    sandbox = Sandbox()

    assert {chain: list(seeded) for chain, seeded in CHAIN_SEEDED.items()} == {
        chain: [m.member_id for m in members] for chain, members in sandbox.chains.items()}


@pytest.mark.parametrize(("member_id", "systems"), [
    ("M1101", {"eziteq", "lifevision", "nets", "physica", "mailchimp"}),
    ("M1102", {"eziteq", "lifevision", "nets", "mailchimp"}),
    ("M1201", {"exceline", "ibooking", "fixit", "nets"}), ("M1203", {"exceline", "ibooking", "nets"}),
    ("M1301", {"stripe", "mailchimp", "ibooking"}), ("M1001", {"exceline", "ibooking", "mailchimp", "nets"}),
    ("M1401", {"exceline", "ibooking", "nets", "lifevision", "access", "app"}),
    ("M1501", {"exceline", "ibooking", "nets", "physica", "crm", "imagebank"})])
def test_members_are_only_at_their_chains_processors(member_id, systems):
    """A member is at the processors of their chain (the journal only with one), nowhere else."""
    assert systems == where(Sandbox(), member_id)


def test_k24_facts():
    """M1101 has journals at Physica and Eziteq; M1102 owes at Eziteq until settled."""
    sandbox = Sandbox()

    assert JOURNAL_LAST_ENTRY.isoformat() == sandbox.eziteq.members["M1101"].journal_notes[0]["written_on"]
    assert sandbox.eziteq.members["M1102"].owes()
    assert 1 == sandbox.settle("M1102")
    assert not sandbox.eziteq.members["M1102"].owes()


def test_aktiv365_collection_and_vekstly_courses():
    """M1202's claim is in collection; Vekstly's participants carry their course end and wish to be kept."""
    sandbox = Sandbox()

    assert "collection" in {i.status for i in sandbox.exceline.members["M1202"].invoices}
    courses = {c.external_id: (c.courses[0]["endsOn"], c.keep_after_course)
               for c in sandbox.ibooking.customers.values() if c.courses}
    assert {"M1301": (COURSE_ENDED.isoformat(), False), "M1302": (COURSE_ENDED.isoformat(), True),
            "M1303": ("2027-03-31", False)} == courses
    charges = {c["id"]: c["status"] for c in sandbox.stripe.charges}
    assert ("succeeded", "pending") == (charges[stripe_id("ch", "M1301")], charges[stripe_id("ch", "M1303")])


def test_add_member_to_a_chain():
    """add_member(chain=...) places a new member at that chain's processors; an unknown chain is refused."""
    sandbox = Sandbox()

    member = sandbox.add_member(chain="vekstly", course_end=date(2026, 6, 30), keep_after_course=True)

    assert {"stripe", "mailchimp", "ibooking"} == where(sandbox, member.member_id)
    with pytest.raises(ValueError, match="unknown chain"):
        sandbox.add_member(chain="sats")
