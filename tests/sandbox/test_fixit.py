"""The Fixit stand-in: .NET-style PascalCase JSON, integer ids, Success flags and error codes."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date


async def test_customers_are_a_bare_pascal_case_list(client):
    """A search by member number returns a bare list of PascalCase customers with integer ids."""
    async with client("fixit") as fixit:
        found = (await fixit.get("/api/customers", params={"memberNo": "M1201"})).json()

    assert [81201] == [c["CustomerId"] for c in found]
    assert {"MemberNo", "FirstName", "Mobile"} <= set(found[0])


async def test_search_needs_a_member_number(client):
    """A search without memberNo is 400 with Fixit's error code."""
    async with client("fixit") as fixit:
        answer = await fixit.get("/api/customers")

    assert (400, False, 1001) == (answer.status_code, answer.json()["Success"], answer.json()["ErrorCode"])


async def test_delete_takes_the_treatments_and_is_journalled(client, sandbox):
    """Deleting a customer reports the treatments it took; a second delete is 404 and changes nothing."""
    async with client("fixit") as fixit:
        first = await fixit.delete("/api/customers/81201", headers={"Idempotency-Key": "a"})
        second = await fixit.delete("/api/customers/81201", headers={"Idempotency-Key": "b"})
        treatments = await fixit.get("/api/customers/81201/treatments")

    assert (200, 3) == (first.status_code, first.json()["DeletedTreatments"])
    assert (404, 1004, 404) == (second.status_code, second.json()["ErrorCode"], treatments.status_code)
    assert [True, False] == [c.applied for c in sandbox.journal.calls_for("M1201")]


async def test_guest_cursor_is_an_integer(client, sandbox):
    """Guest pages name the next page by the last CustomerId, an integer."""
    sandbox.add_guests("fixit", 3, last_visit=date(2025, 1, 1))

    async with client("fixit") as fixit:
        page = (await fixit.get("/api/guests", params={"lastVisitBefore": "2025-06-01", "take": 2})).json()

    assert ([5_000_001, 5_000_002], 5_000_002) == ([g["CustomerId"] for g in page["Guests"]], page["NextAfter"])
