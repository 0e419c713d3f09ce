"""One definition of every deployment (config/deployments.py): prefect.yaml is written from it, and a pool gets
exactly its queues, schedules, tags and names."""

from __future__ import annotations

import uuid

import yaml
from prefect import get_client
from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

from config.deployments import DEPLOYMENTS, QUEUES, TAG, TIMEZONE
from config.settings import PROJECT_ROOT
from flows.catalog import load, prefect_yaml
from workers.pool import deploy_to_pool


def test_prefect_yaml_is_the_catalogue_written_out():
    """prefect.yaml is what `python -m flows.catalog` writes: a change to either alone fails here."""
    assert prefect_yaml() == (PROJECT_ROOT / "prefect.yaml").read_text()


def test_prefect_yaml_declares_every_deployment_on_its_queue_with_its_oslo_schedule():
    """Read back as Prefect reads it, prefect.yaml has each deployment's entrypoint, queue, tags and schedule."""
    declared = {d["name"]: d for d in yaml.safe_load(prefect_yaml())["deployments"]}

    assert list(DEPLOYMENTS) == list(declared)
    for name, deployment in DEPLOYMENTS.items():
        entry = declared[name]
        assert (deployment.path, deployment.queue, [TAG, *deployment.tags]) == (
            entry["entrypoint"], entry["work_pool"]["work_queue_name"], entry["tags"])
        if deployment.cron:
            assert [{"cron": deployment.cron, "timezone": TIMEZONE}] == entry["schedules"]
        if deployment.interval_s:
            assert [{"interval": deployment.interval_s}] == entry["schedules"]
        assert entry["work_pool"]["work_queue_name"] in QUEUES


def test_each_deployment_runs_the_flow_of_its_own_name():
    """A deployment's name is its flow's name: runs are found by either."""
    assert list(DEPLOYMENTS) == [load(name).name for name in DEPLOYMENTS]


async def test_a_pool_gets_the_catalogues_queues_in_order_and_each_deployment_on_its_queue_and_schedule(
        prefect_server):
    """deploy_to_pool makes the queues with their priorities and puts each deployment on its queue, with its
    tags and its schedule (crons in Oslo time)."""
    pool = f"catalogue-{uuid.uuid4().hex[:6]}"
    ids = await deploy_to_pool(pool)
    async with get_client() as client:
        queues = {q.name: q.priority for q in await client.read_work_queues(
            work_pool_name=pool, work_queue_filter=None)}
        deployed = {name: await client.read_deployment(ids[name]) for name in DEPLOYMENTS}
        pools = await client.read_work_pools(work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])))

    assert ["process"] == [p.type for p in pools]
    assert QUEUES == {name: priority for name, priority in queues.items() if name in QUEUES}
    for name, deployment in DEPLOYMENTS.items():
        got = deployed[name]
        assert (deployment.queue, [TAG, *deployment.tags]) == (got.work_queue_name, got.tags)
        crons = [(s.schedule.cron, s.schedule.timezone) for s in got.schedules if isinstance(s.schedule, CronSchedule)]
        intervals = [s.schedule.interval.total_seconds() for s in got.schedules
                     if isinstance(s.schedule, IntervalSchedule)]
        assert ([(deployment.cron, TIMEZONE)] if deployment.cron else []) == crons
        assert ([deployment.interval_s] if deployment.interval_s else []) == intervals
