"""What an operator does from the Prefect UI, done through the same API calls: read the deployment's
parameter form, rerun a finished request, retry a failed run."""

from __future__ import annotations

from collections import Counter

import pytest
from prefect import get_client
from prefect.client.schemas.objects import FlowRun, State, StateType

from tests.flows.conftest import execute
from tests.flows.test_erase_member import ONE_ERASURE_OF_M1001

pytestmark = pytest.mark.slow


async def start(deployment_id, **parameters) -> FlowRun:
    """A run of erase-member as the UI's custom-run form creates it: parameters, no idempotency key."""
    async with get_client() as client:
        return await client.create_flow_run_from_deployment(deployment_id, parameters=parameters)


async def test_every_erase_member_parameter_has_a_description_in_the_deployment(deployments):
    """The registered deployment's parameter schema (what the UI's form shows) describes each parameter
    with the flow docstring's Args."""
    async with get_client() as client:
        deployment = await client.read_deployment(deployments["erase-member"])

    schema = deployment.parameter_openapi_schema
    assert schema is not None
    properties = schema["properties"]
    assert ["controller", "member_id", "kind", "request_id"] == list(properties)
    assert all(len(p.get("description", "")) > 20 for p in properties.values())
    assert ["controller", "member_id"] == schema["required"]


async def test_rerun_of_a_finished_request_by_hand_reverifies_and_changes_nothing(deployments, sandbox):
    """Running erase-member again by hand with a finished request's id completes, reads every processor
    back, and applies no destructive call a second time."""
    first = await execute(await start(deployments["erase-member"], controller="demo", member_id="M1001",
                                      request_id="by-hand-m1001"))
    applied = sandbox.applied_calls("M1001")

    again = await execute(await start(deployments["erase-member"], controller="demo", member_id="M1001",
                                      request_id="by-hand-m1001"))

    evidence = await again.result()
    assert ("COMPLETED", "COMPLETED") == (first.state_name, again.state_name)
    assert all(step.verified for step in evidence.steps)
    assert applied == sandbox.applied_calls("M1001")


async def test_retry_of_a_failed_run_resumes_at_the_failed_step(deployments, sandbox):
    """A run that failed at one processor (marketing already stopped, the membership system untouched),
    retried as the UI's Retry button does it (the same run set to AwaitingRetry), completes without
    repeating what had been done: each destructive call applied once."""
    sandbox.faults["ibooking"].configure(error_rate=1.0)
    failed = await execute(await start(deployments["erase-member"], controller="demo", member_id="M1001"))
    before = Counter((call.system, call.action) for call in sandbox.applied_calls("M1001"))
    sandbox.faults["ibooking"].reset()

    async with get_client() as client:
        # The UI's Retry: POST /flow_runs/{id}/set_state {type: SCHEDULED, name: AwaitingRetry}, not forced.
        await client.set_flow_run_state(failed.flow_run.id, State(type=StateType.SCHEDULED, name="AwaitingRetry",
                                                                  message="Retry from the UI"), force=False)
        retried = await execute(await client.read_flow_run(failed.flow_run.id))

    after = Counter((call.system, call.action) for call in sandbox.applied_calls("M1001"))
    assert ("FAILED", "COMPLETED") == (failed.state_name, retried.state_name)
    assert Counter({("mailchimp", "delete"): 2}) == before
    assert ONE_ERASURE_OF_M1001 == after
