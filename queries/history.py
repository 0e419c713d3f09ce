"""Reading the run history through the Prefect API: erasure runs, release runs and their artifacts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    ArtifactFilter,
    ArtifactFilterKey,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import Artifact, ArtifactCollection, FlowRun, StateType
from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort

from config.deployments import ERASE_MEMBER, request_tag
from evidence.documents import unfenced
from queries.pages import PAGE, every_page


def request_id_of(run: FlowRun) -> str:
    """The request an erase-member run serves: its request_id parameter, else the run's own id."""
    return str(run.parameters.get("request_id") or run.id)


async def flow_runs(client: PrefectClient, flow_name: str, states: Iterable[StateType] | None = None,
                    started_after: datetime | None = None, tags: Iterable[str] = ()) -> list[FlowRun]:
    """Every run of a flow, newest first, optionally only in some state types or after a time."""
    run_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(states))) if states else None,
        expected_start_time=FlowRunFilterExpectedStartTime(after_=started_after) if started_after else None,
        tags=FlowRunFilterTags(all_=list(tags)) if tags else None)
    flow_filter = FlowFilter(name=FlowFilterName(any_=[flow_name]))
    return await every_page(lambda limit, offset: client.read_flow_runs(
        flow_filter=flow_filter, flow_run_filter=run_filter, sort=FlowRunSort.EXPECTED_START_TIME_DESC,
        limit=limit, offset=offset))


async def runs_of_request(client: PrefectClient, request_id: str) -> list[FlowRun]:
    """The erase-member runs of one request, newest first."""
    tagged = await flow_runs(client, ERASE_MEMBER, tags=[request_tag(request_id)])
    if tagged:
        return tagged
    # A run that never started has no request tag yet: find it by its parameter.
    return [run for run in await flow_runs(client, ERASE_MEMBER) if request_id_of(run) == request_id]


async def latest_artifacts(client: PrefectClient, prefix: str) -> dict[str, ArtifactCollection]:
    """The newest version of every artifact whose key starts with `prefix`, by key."""
    page = await every_page(lambda limit, offset: client.read_latest_artifacts(
        artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(like_=prefix)),
        limit=limit, offset=offset))
    # The API matches anywhere in the key: keep those that start with the prefix.
    return {a.key: a for a in page if a.key and a.key.startswith(prefix)}


async def artifact_versions(client: PrefectClient, prefix: str) -> list[Artifact]:
    """Every version of every artifact whose key starts with `prefix`, oldest first."""
    page = await every_page(lambda limit, offset: client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=prefix)), sort=ArtifactSort.CREATED_DESC,
        limit=limit, offset=offset))
    versions = [a for a in page if a.key and a.key.startswith(prefix)]
    return sorted(versions, key=lambda a: (a.created is None, a.created))


async def newest_versions(client: PrefectClient, prefix: str, limit: int, offset: int = 0) -> list[Artifact]:
    """One page of the artifact versions whose key contains `prefix`, newest first; filter by prefix after."""
    return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=prefix)),
                                       sort=ArtifactSort.CREATED_DESC, limit=limit, offset=offset)


async def latest_artifact(client: PrefectClient, key: str) -> Artifact | None:
    """The newest version of the artifact with this key, if any."""
    found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                        sort=ArtifactSort.CREATED_DESC, limit=1)
    return found[0] if found else None


async def latest_document(client: PrefectClient, key: str) -> dict[str, Any] | None:
    """The JSON document in the newest version of a markdown artifact, if any."""
    artifact = await latest_artifact(client, key)
    return unfenced(artifact.data) if artifact else None


COUNTED = 1000  # run ids counted in one call: the count has no page limit, a listing has (PAGE)


async def existing_runs(client: PrefectClient, run_ids: Iterable[str], counted: int = COUNTED) -> set[str]:
    """Which of these flow runs Prefect still has (the others were deleted or vacuumed): counted `counted` at a
    time, and a batch listed a page at a time only when some of it, not all, is still there."""
    wanted = sorted(set(run_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), counted):
        batch = wanted[start:start + counted]
        there = await client.count_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id) for run_id in batch])))
        # Mostly all of a batch is there (recent runs) or none (vacuumed long ago): one call tells.
        if there == len(batch):
            found |= set(batch)
            continue
        for first in range(0, len(batch) if there else 0, PAGE):
            ids = [UUID(run_id) for run_id in batch[first:first + PAGE]]
            page = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)),
                                               limit=PAGE)
            found |= {str(run.id) for run in page}
    return found
