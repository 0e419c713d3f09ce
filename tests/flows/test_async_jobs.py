"""A processor that erases by an asynchronous job, in erase-member: a fake registered by name for these tests.

No processor of the chains answers an erasure with a job any more (Nets' mandate-deletion job was an invented
endpoint; Stripe's redaction jobs run at a release, tests/flows/test_release_holds.py and
tests/connectors/test_stripe_release.py). The flow's job handling stays: a connector that answers `accepted` is
polled in its own task run until its job ends.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import load_settings
from connectors.contract import Action, Holdings, Outcome, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import CONNECTORS, known_systems
from flows.setup import flow_settings
from tests.flows.conftest import recorded_task_runs

pytestmark = pytest.mark.slow

JOB_POLLS = 2  # polls before the fake's job is done


class AsyncJobs:
    """A processor with no HTTP whose erasure is a job: accepted, running for JOB_POLLS polls, then done."""

    system = "async-jobs"
    polls: Counter[str] = Counter()

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """One record per member."""
        return Holdings.of(self.system, ids=[f"record/{subject.member_id}"])

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """A job is accepted, named after the idempotency key."""
        return Outcome.accepted(self.system, f"job:{key}")

    async def poll(self, reference: str) -> Outcome:
        """Accepted until polled JOB_POLLS times, then erased."""
        self.polls[reference] += 1
        if self.polls[reference] < JOB_POLLS:
            return Outcome.accepted(self.system, reference)
        return Outcome.erased(self.system, reference=reference)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Gone once a job of its has finished."""
        finished = any(count >= JOB_POLLS for count in self.polls.values())
        return Outcome(self.system, Status.ERASED if finished else Status.FAILED, action, verified=finished)


@pytest.fixture
def chain_with_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo chain with the fake processor before its membership system, for this test only."""
    known_systems()
    CONNECTORS[AsyncJobs.system] = AsyncJobs
    controllers = tmp_path / "controllers"
    shutil.copytree(load_settings().controllers_dir, controllers)
    demo = controllers / "demo.yaml"
    demo.write_text(demo.read_text().replace(
        "  - system: exceline", "  - system: async-jobs\n    role: payment\n    action: delete\n"
                                "  - system: exceline", 1))
    monkeypatch.setenv("SLETT_CONTROLLERS_DIR", str(controllers))
    # It has an API, in the test's imagination: an address and a key, never called.
    monkeypatch.setenv("SLETT_PROCESSORS__ASYNC-JOBS__BASE_URL", "http://async-jobs.invalid")
    monkeypatch.setenv("SLETT_PROCESSORS__ASYNC-JOBS__API_KEY", "test")
    flow_settings.cache_clear()
    yield
    flow_settings.cache_clear()
    del CONNECTORS[AsyncJobs.system]
    AsyncJobs.polls.clear()


async def test_only_a_processors_asynchronous_job_gets_a_task_run_to_poll_it(chain_with_a_job, sandbox,
                                                                              run_erasure):
    """Of M1001's processors only the fake answers with a job: one await-job task run polls it until it is done,
    and its step ends erased and verified, like every other. Physica, which has no record of M1001, gets no task
    run (nothing to call): five erase-in-system runs for the six processors."""
    run = await run_erasure("M1001")

    tasks = await recorded_task_runs(run.flow_run.id,
                                     lambda found: any(t.name.startswith("record-evidence") for t in found))
    names = Counter(t.name.rsplit("-", 1)[0] for t in tasks)
    steps = {step.system: step for step in (await run.result()).steps}
    assert "COMPLETED" == run.state_name
    assert (1, 5) == (names["await-job"], names["erase-in-system"])
    assert [JOB_POLLS] == list(AsyncJobs.polls.values())
    assert ("erased", True) == (steps["async-jobs"].status, steps["async-jobs"].verified)
