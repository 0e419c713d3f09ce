"""The Stripe stand-in: the real API's list, search, delete, error and idempotency shapes."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from sandbox.stripe import stripe_id

CUSTOMER = stripe_id("cus", "M1301")


async def test_list_by_email_is_a_list_object(client, sandbox):
    """GET /v1/customers?email= answers Stripe's list object."""
    async with client("stripe") as stripe:
        body = (await stripe.get("/v1/customers", params={"email": sandbox.member("M1301").email})).json()

    assert ("list", "/v1/customers", False, [CUSTOMER]) == (
        body["object"], body["url"], body["has_more"], [c["id"] for c in body["data"]])


async def test_delete_then_404_resource_missing(client):
    """DELETE answers the deleted stub; again, 404 resource_missing; GET still shows the stub."""
    async with client("stripe") as stripe:
        first = await stripe.delete(f"/v1/customers/{CUSTOMER}")
        again = await stripe.delete(f"/v1/customers/{CUSTOMER}")
        shown = await stripe.get(f"/v1/customers/{CUSTOMER}")

    assert {"id": CUSTOMER, "object": "customer", "deleted": True} == first.json() == shown.json()
    assert (404, "resource_missing", "invalid_request_error") == (
        again.status_code, again.json()["error"]["code"], again.json()["error"]["type"])


async def test_idempotent_post_replays_and_refuses_other_parameters(client, sandbox):
    """A POST with a used Idempotency-Key replays the first answer (Idempotent-Replayed); with other
    parameters it is a 400 idempotency_error; nothing is created twice."""
    async with client("stripe") as stripe:
        first = await stripe.post("/v1/customers", data={"email": "ny@example.no"}, headers={"Idempotency-Key": "c1"})
        again = await stripe.post("/v1/customers", data={"email": "ny@example.no"}, headers={"Idempotency-Key": "c1"})
        other = await stripe.post("/v1/customers", data={"email": "annen@example.no"},
                                  headers={"Idempotency-Key": "c1"})

    assert (first.json(), "true") == (again.json(), again.headers["Idempotent-Replayed"])
    assert (400, "idempotency_error") == (other.status_code, other.json()["error"]["type"])
    assert 1 == sum(c["email"] == "ny@example.no" for c in sandbox.stripe.customers.values())


async def test_post_bodies_are_form_encoded(client):
    """A JSON body is refused the way Stripe refuses it."""
    async with client("stripe") as stripe:
        answer = await stripe.post(f"/v1/customers/{CUSTOMER}", json={"metadata": {"a": "b"}})

    assert 400 == answer.status_code
    assert "unsupported Content-Type application/json" in answer.json()["error"]["message"]


async def test_metadata_update_and_search(client):
    """metadata[...] fields update the customer; search finds it by metadata."""
    async with client("stripe") as stripe:
        await stripe.post(f"/v1/customers/{CUSTOMER}", data={"metadata[note]": "x"})
        found = (await stripe.get("/v1/customers/search", params={"query": "metadata['note']:'x'"})).json()
        bad = await stripe.get("/v1/customers/search", params={"query": "name~'x'"})

    assert ("search_result", [CUSTOMER]) == (found["object"], [c["id"] for c in found["data"]])
    assert 400 == bad.status_code


async def test_missing_key_is_stripes_401(client):
    """Without a key, Stripe's 401 error object."""
    async with client("stripe", authorised=False) as stripe:
        answer = await stripe.get("/v1/customers")

    assert (401, "invalid_request_error") == (answer.status_code, answer.json()["error"]["type"])


async def test_charges_list_newest_first(client):
    """Charges of a customer are a list object, with Stripe's amount in øre and status."""
    async with client("stripe") as stripe:
        body = (await stripe.get("/v1/charges", params={"customer": CUSTOMER})).json()

    assert [("succeeded", 490_000, "nok")] == [(c["status"], c["amount"], c["currency"]) for c in body["data"]]


PREVIEW = {"Stripe-Version": "2026-04-22.preview"}


async def test_searches_page_at_stripes_default_of_10(client, sandbox):
    """A search answers 10 results unless asked for more, with `next_page` to the next 10."""
    [course] = [c for c in sandbox.stripe.charges if c["metadata"].get("member_id") == "M1301"]
    sandbox.stripe.charges += [{**course, "id": f"ch_extra{n:02d}"} for n in range(14)]
    query = {"query": "metadata['member_id']:'M1301'"}
    async with client("stripe") as stripe:
        first = (await stripe.get("/v1/charges/search", params=query)).json()
        second = (await stripe.get("/v1/charges/search", params={**query, "page": first["next_page"]})).json()

    assert (10, True, 5, False, None) == (len(first["data"]), first["has_more"], len(second["data"]),
                                          second["has_more"], second["next_page"])


async def test_a_redaction_job_is_validated_before_it_can_run(client, sandbox):
    """A new job is `created`, then `validating`, then `ready`; run before it is ready is refused; run, it is
    `redacting` and only later `succeeded`, when the charge is redacted."""
    [course] = [c for c in sandbox.stripe.charges if c["metadata"].get("member_id") == "M1301"]
    async with client("stripe", headers=PREVIEW) as stripe:
        job = (await stripe.post("/v1/privacy/redaction_jobs", data={"objects[charges][]": course["id"]})).json()
        early = await stripe.post(f"/v1/privacy/redaction_jobs/{job['id']}/run")
        seen = [(await stripe.get(f"/v1/privacy/redaction_jobs/{job['id']}")).json()["status"] for _ in range(2)]
        ran = (await stripe.post(f"/v1/privacy/redaction_jobs/{job['id']}/run")).json()
        before = dict(course["billing_details"])
        done = (await stripe.get(f"/v1/privacy/redaction_jobs/{job['id']}")).json()

    assert ("created", 400, ["validating", "ready"]) == (job["status"], early.status_code, seen)
    assert ("redacting", "succeeded") == (ran["status"], done["status"])
    assert ("[redacted]", "[redacted]") == (course["billing_details"]["email"], course["billing_details"]["name"])
    assert "[redacted]" != before["email"]  # still there while the job was redacting


async def test_a_job_of_more_than_10_objects_fails_validation(client, sandbox):
    """Stripe takes at most 10 object ids in a new job: an 11th fails its validation with too_many_objects."""
    [course] = [c for c in sandbox.stripe.charges if c["metadata"].get("member_id") == "M1301"]
    sandbox.stripe.charges += [{**course, "id": f"ch_extra{n:02d}"} for n in range(10)]
    objects = {f"objects[charges][{n}]": f"ch_extra{n:02d}" for n in range(10)} | {"objects[charges][10]": course["id"]}
    async with client("stripe", headers=PREVIEW) as stripe:
        job = (await stripe.post("/v1/privacy/redaction_jobs", data=objects)).json()
        states = [(await stripe.get(f"/v1/privacy/redaction_jobs/{job['id']}")).json()["status"] for _ in range(2)]
        errors = (await stripe.get(f"/v1/privacy/redaction_jobs/{job['id']}/validation_errors")).json()

    assert ["validating", "failed"] == states
    assert ("list", ["too_many_objects"]) == (errors["object"], [e["code"] for e in errors["data"]])


async def test_redaction_jobs_need_a_preview_version(client, sandbox):
    """Without a preview Stripe-Version, Stripe knows no redaction jobs: its 404 for an unknown URL, no code."""
    async with client("stripe") as stripe:
        answer = await stripe.post("/v1/privacy/redaction_jobs", data={"objects[charges][]": "ch_x"})

    assert (404, "invalid_request_error", None) == (
        answer.status_code, answer.json()["error"]["type"], answer.json()["error"].get("code"))
