"""The Eziteq stand-in: its own API style (snake_case, data/meta envelope, kroner as strings) and rules."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations


async def test_member_comes_in_a_data_envelope(client, sandbox):
    """A member is under "data", in snake_case, without invoices inline."""
    async with client("eziteq") as eziteq:
        body = (await eziteq.get("/api/v3/members/M1101")).json()

    assert sandbox.member("M1101").email == body["data"]["email"]
    assert {"member_no", "mobile_phone", "street_address", "marketing_consent", "state"} <= set(body["data"])


async def test_invoices_are_paged_with_kroner_strings(client):
    """Invoices come ten a page with meta, amounts as kroner strings."""
    async with client("eziteq") as eziteq:
        first = (await eziteq.get("/api/v3/members/M1101/invoices")).json()
        second = (await eziteq.get("/api/v3/members/M1101/invoices", params={"page": 2})).json()

    assert ({"page": 1, "per_page": 10, "total_pages": 2, "total": 12}, 10, 2) == (
        first["meta"], len(first["data"]), len(second["data"]))
    assert ("599.00", "0.00", "NOK") == tuple(first["data"][0][k] for k in ("amount", "balance", "currency"))


async def test_errors_are_a_list(client):
    """An unknown member is a 404 with Eziteq's list of error objects."""
    async with client("eziteq") as eziteq:
        missing = await eziteq.get("/api/v3/members/M9999")

    assert (404, "member_not_found") == (missing.status_code, missing.json()["errors"][0]["code"])


async def test_a_member_with_a_balance_cannot_be_anonymised(client, sandbox):
    """Anonymising a member who owes is 409, and once settled it succeeds."""
    async with client("eziteq") as eziteq:
        owing = await eziteq.post("/api/v3/members/M1102/anonymise")
        sandbox.settle("M1102")
        settled = await eziteq.post("/api/v3/members/M1102/anonymise")

    assert (409, 200) == (owing.status_code, settled.status_code)
    assert "anonymised" == sandbox.eziteq.members["M1102"].state


async def test_invoices_are_released_only_once_held(client, sandbox):
    """DELETE of the invoices is 409 for an active member and deletes them once the member is anonymised."""
    async with client("eziteq") as eziteq:
        active = await eziteq.delete("/api/v3/members/M1103/invoices")
        await eziteq.post("/api/v3/members/M1103/anonymise")
        released = await eziteq.delete("/api/v3/members/M1103/invoices")

    assert (409, 200, 12) == (active.status_code, released.status_code, released.json()["data"]["deleted_count"])
    assert ["anonymise", "release"] == [c.action for c in sandbox.applied_calls("M1103")]
