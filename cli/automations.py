"""Crash detection, recovery and the DPO's notifications on a Prefect server: automations, made idempotently.

1. A run whose heartbeats stop (its process or machine died) is marked Crashed by the zombie automation;
   a worker marks a run Crashed itself when the run's process exits badly; recover-crashed marks a run
   Crashed that stayed Pending too long (its process died before it started).
2. Each Crashed erase-member, withdraw-marketing or release-holds run starts the recover-crashed deployment, which
   sweeps every crashed run: rerun within the budget, escalate beyond it.
3. The recover-crashed deployment's own interval schedule (config/deployments.py, and so prefect.yaml) is the
   backstop. It is a schedule, not an automation: after a server restart Prefect holds back events that
   follow ones it saw before (up to 15 minutes) and forgets the zombie watch of the last seconds, and a
   proactive "no sweep for a while" trigger was seen never to fire in that window. The sweep checks
   heartbeats itself, so nothing waits on those events.
4. With `--notify <block>`, two more tell the DPO through a Prefect notification block the operator chose
   (e-mail, Slack, Teams ...): a run escalated (crashed beyond its budget) or a request due within 7 days or
   overdue; and a run of an erasure flow that failed (a processor's retries ran out, a manual step past its
   time, a resume Prefect refused). The text names runs and requests by id, never a member.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prefect import get_client
from prefect.automations import ChangeFlowRunState, EventTrigger, Posture, RunDeployment, SendNotification
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import StateType
from prefect.events.schemas.automations import Automation, AutomationCore
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings

from config.deployments import DEPLOYMENTS, RECOVER_CRASHED
from flows.recover_crashed import RECOVERABLE

SILENT_BEATS = 4
ZOMBIES = "slett: crash flow runs whose heartbeat stopped"
RECOVERY = "slett: recover crashed erasures"
SWEEPER = DEPLOYMENTS[RECOVER_CRASHED].full_name
# Events that end a run's heartbeats on purpose: a final state, or a suspension (no process while it waits).
QUIET_ON_PURPOSE = frozenset({"Completed", "Failed", "Cancelled", "Cancelling", "Crashed", "Suspended", "Paused"})
DPO_ALERTS = "slett: tell the DPO of escalations and deadlines"
DPO_FAILURES = "slett: tell the DPO of failed erasures"
# slett's own events that need a person: emitted by recover-crashed and deadline-check.
ALERT_EVENTS = frozenset({"slett.run.escalated", "slett.request.deadline-due-soon", "slett.request.deadline-overdue"})
ALERT_SUBJECT = "slett: {{ event.event }}"
ALERT_BODY = """{{ event.event }} at {{ event.occurred }}
{% if event.payload.request_id %}Request {{ event.payload.request_id }} ({{ event.payload.controller }}), \
status {{ event.payload.status }}, deadline {{ event.payload.deadline }}, {{ event.payload.days_left }} day(s) left.
{% endif %}{% if event.payload.reason %}{{ event.payload.reason }}
{% endif %}Flow run: {{ event.resource.id }}"""
FAILURE_SUBJECT = "slett: {{ flow.name }} run {{ flow_run.name }} failed"
FAILURE_BODY = """{{ flow.name }} run {{ flow_run.name }} ({{ flow_run.id }}) failed at {{ event.occurred }}:
{{ flow_run.state.message }}
Tags: {{ flow_run.tags | join(', ') }}"""


def default_silence_s() -> int:
    """Four heartbeats' worth of silence at this environment's heartbeat frequency: one heartbeat lost while
    the server restarts (the flow's event client reconnects) must not make a live run a zombie."""
    return SILENT_BEATS * (get_current_settings().flows.heartbeat_frequency or 180)


def zombie_automation(silence_s: int) -> AutomationCore:
    """Marks a flow run Crashed once `silence_s` seconds pass after it started running, or after a heartbeat,
    with no further heartbeat or final state (its process died)."""
    return AutomationCore(
        name=ZOMBIES,
        description="A flow run's process died (kill -9, lost machine): nothing else would mark it. "
                    "recover-crashed then reruns it within its budget.",
        trigger=EventTrigger(
            # Running is watched too: a process killed before its first heartbeat reached the server. Not
            # Pending: on a busy machine a process may take minutes to start; recover-crashed waits longer.
            after={"prefect.flow-run.heartbeat", "prefect.flow-run.Running"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{state}" for state in QUIET_ON_PURPOSE)},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=silence_s),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message=f"silent for {silence_s} s (no heartbeat): its process is gone")],
    )


def recovery_automation(sweeper: UUID, parameters: dict[str, int]) -> AutomationCore:
    """Starts a recover-crashed run whenever a run of an erasure deployment crashes."""
    return AutomationCore(
        name=RECOVERY,
        description="Rerun crashed erasures at once (within their budget) instead of waiting for the sweep.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification({"prefect.resource.role": "flow",
                                                 "prefect.resource.name": list(RECOVERABLE)}),
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[RunDeployment(source="selected", deployment_id=sweeper, parameters=dict(parameters))],
    )


def alert_automation(block_id: UUID) -> AutomationCore:
    """Sends the DPO each escalation and each request due within 7 days or overdue, through the chosen block."""
    return AutomationCore(
        name=DPO_ALERTS,
        description="A person must act: a run escalated, or a request near or past its GDPR deadline.",
        trigger=EventTrigger(expect=set(ALERT_EVENTS), posture=Posture.Reactive, threshold=1),
        actions=[SendNotification(block_document_id=block_id, subject=ALERT_SUBJECT, body=ALERT_BODY)],
    )


def failure_automation(block_id: UUID) -> AutomationCore:
    """Sends the DPO every failed run of an erasure flow, with the reason Prefect keeps in its state."""
    return AutomationCore(
        name=DPO_FAILURES,
        description="An erasure or a release failed: a processor's retries ran out, a manual step is past its "
                    "time, or a resume was refused. Rerun it from the UI once the cause is fixed.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification({"prefect.resource.role": "flow",
                                                 "prefect.resource.name": list(RECOVERABLE)}),
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[SendNotification(block_document_id=block_id, subject=FAILURE_SUBJECT, body=FAILURE_BODY)],
    )


async def _upsert(client: PrefectClient, wanted: AutomationCore) -> str:
    existing: list[Automation] = list(await client.read_automations_by_name(wanted.name))
    for duplicate in existing[1:]:
        await client.delete_automation(duplicate.id)
    if existing:
        await client.update_automation(existing[0].id, wanted)
        return "updated"
    await client.create_automation(wanted)
    return "created"


async def ensure_crash_detection(silence_s: int | None = None, stuck_pending_s: int = 600,
                                 notify: str | None = None) -> dict[str, str]:
    """Create or update the automations (with `notify`, a block's "type-slug/name", the DPO's too); what was
    done to each.

    The recover-crashed deployment must be registered first (`slett serve`, `prefect deploy --all`).
    """
    silence = silence_s or default_silence_s()
    done = {}
    async with get_client() as client:
        try:
            sweeper = await client.read_deployment_by_name(SWEEPER)
        except ObjectNotFound:
            raise SetupError(f"no deployment {SWEEPER} yet: register the deployments first "
                             "(slett serve, or prefect deploy --all)") from None
        done[ZOMBIES] = f"{await _upsert(client, zombie_automation(silence))} (silence {silence} s)"
        sweep = {"silence_s": silence, "stuck_pending_s": stuck_pending_s}
        done[RECOVERY] = await _upsert(client, recovery_automation(sweeper.id, sweep))
        if notify:
            block_id = await _notification_block(client, notify)
            for wanted in (alert_automation(block_id), failure_automation(block_id)):
                done[wanted.name] = f"{await _upsert(client, wanted)} (through {notify})"
    return done


async def _notification_block(client: PrefectClient, name: str) -> UUID:
    """The id of the notification block called "type-slug/name" (as `prefect block ls` shows it)."""
    block_type, _, block_name = name.partition("/")
    if not block_name:
        raise SetupError(f"--notify takes a block as type-slug/name (e.g. slack-webhook/dpo), got {name!r}")
    try:
        document = await client.read_block_document_by_name(block_name, block_type)
    except ObjectNotFound:
        raise SetupError(f"no notification block {name!r} on the server: create it in the UI (Blocks) or with "
                         "prefect block create, then run this again") from None
    if "notify" not in (document.block_schema.capabilities if document.block_schema else []):
        raise SetupError(f"block {name!r} cannot send notifications (choose e.g. an e-mail, Slack or Teams block)")
    return document.id


class SetupError(Exception):
    """The server is not ready for crash detection; the message says what to do first."""
