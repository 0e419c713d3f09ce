"""The LifeVision stand-in: searches by POST body, deletes with suppression, refuses suppressed re-imports."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from sandbox.lifevision import normal_phone


async def test_search_is_a_post_body(client, sandbox):
    """Contacts are searched by externalId, email or phone in a JSON body; an empty search is 400."""
    member = sandbox.member("M1101")
    async with client("lifevision") as lifevision:
        by_phone = await lifevision.post("/api/v2/contacts/search", json={"phone": member.phone.replace(" ", "")})
        empty = await lifevision.post("/api/v2/contacts/search", json={})

    assert ["lv-001101"] == [c["contactId"] for c in by_phone.json()["results"]]
    assert (400, "INVALID_QUERY") == (empty.status_code, empty.json()["error"]["code"])


@pytest.mark.parametrize("which", ["email", "phone"])
async def test_a_deleted_contact_cannot_be_imported_again(which, client, sandbox):
    """After deletion, importing the same e-mail or phone (however written) is refused with 409."""
    member = sandbox.member("M1101")
    again = {"email": member.email.upper(), "phone": normal_phone(member.phone)}[which]
    async with client("lifevision") as lifevision:
        await lifevision.delete("/api/v2/contacts/lv-001101", params={"suppress": "true"})
        refused = await lifevision.post("/api/v2/contacts", json={which: again, "firstName": "Igjen"})
        other = await lifevision.post("/api/v2/contacts", json={which: "ny@example.no" if which == "email"
                                                                  else "+47 400 00 000"})

    assert (409, "SUPPRESSED") == (refused.status_code, refused.json()["error"]["code"])
    assert 201 == other.status_code


async def test_suppression_can_be_read_by_contact_id(client):
    """The suppression entry of a deleted contact is found by its contact id and shows only hashes."""
    async with client("lifevision") as lifevision:
        before = await lifevision.get("/api/v2/suppressions/by-contact/lv-001101")
        deleted = await lifevision.delete("/api/v2/contacts/lv-001101")
        after = await lifevision.get("/api/v2/suppressions/by-contact/lv-001101")

    assert (404, 200, 3) == (before.status_code, deleted.status_code, deleted.json()["messagesDeleted"])
    assert ("HMAC-SHA256", 64) == (after.json()["algorithm"], len(after.json()["hashes"]["email"]))


async def test_deleting_without_suppression_is_refused(client, sandbox):
    """LifeVision always suppresses what it deletes: suppress=false is 400 and deletes nothing."""
    async with client("lifevision") as lifevision:
        answer = await lifevision.delete("/api/v2/contacts/lv-001101", params={"suppress": "false"})

    assert 400 == answer.status_code
    assert "lv-001101" in sandbox.lifevision.contacts


def test_phones_are_compared_in_one_form():
    """A Norwegian number written with spaces, without +47, or with 0047 compares as one."""
    assert {"+4791234567"} == {normal_phone(p) for p in ("+47 912 34 567", "91234567", "0047 91234567")}
