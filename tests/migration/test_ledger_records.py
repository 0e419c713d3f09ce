"""What the code with the ledger leaves in Prefect: its evidence artifact names no member, and `slett ledger import`
takes it for the view it is, never for an old record to import."""

from __future__ import annotations

import pytest
from prefect import get_client

from config.settings import load_settings
from connectors.http import use_transports
from domain.values import artifact_key
from evidence.ledger import open_ledger
from queries.history import latest_artifact
from sandbox.world import Sandbox
from tasks.migration import import_all
from tests.flow_driver import Flows

pytestmark = pytest.mark.slow


async def test_a_held_erasure_leaves_no_member_id_in_prefect_and_is_not_imported_again(deployments):
    """An erasure that holds records seals its holds with the member id in the ledger; its evidence artifact
    shows the record without it, and an import afterwards seals nothing more for the request."""
    world = Sandbox()
    member = world.add_member(journal=True).member_id
    with use_transports(world.transports()):
        run = await Flows(deployments).erase("demo", member)
    request_id = (await run.result()).request.request_id
    ledger = await open_ledger(load_settings().ledger_url)
    sealed = await ledger.records(request_id=request_id, with_holds=True)
    async with get_client() as client:
        artifact = await latest_artifact(client, artifact_key("evidence", request_id))
        await import_all(ledger, client)

    # The erasure's record; the suppression entry and the acknowledgment its first step sealed come before it.
    [erasure] = [r for r in sealed if r.kind == "erasure"]
    assert "COMPLETED" == run.state_name
    assert ["suppression", "letter", "erasure"] == [r.kind for r in sealed]
    assert erasure.holds and {member} == {row["member_id"] for row in erasure.holds}
    assert artifact is not None and member not in str(artifact.data) and erasure.sealed.digest in str(artifact.data)
    assert [r.sealed.digest for r in sealed] == [r.sealed.digest for r in await ledger.records(request_id=request_id)]
