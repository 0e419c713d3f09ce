"""A request's deadline on its run (GDPR Art. 12(3)): tags, the request artifact, extensions, warnings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from prefect import get_client, runtime, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import ArtifactCreate
from prefect.events import emit_event
from prefect.exceptions import PrefectHTTPStatusError

from config.dates import DUE_SOON, OVERDUE, gdpr_deadline

# Moved to config/ and domain/ (evidence/ reads them and never imports tasks/); their old names stay here.
from config.dates import WARN_DAYS as WARN_DAYS
from config.dates import deadline_flag as deadline_flag
from config.deployments import member_tag, request_tag
from config.workdays import ONE_MONTH as ONE_MONTH
from domain.values import Extension as Extension  # a result pickled before the move names it here
from domain.values import Request, artifact_key
from evidence.chain import record_markdown
from evidence.documents import fenced, plain, sha256
from evidence.ledger import Ledger, NewRecord, open_ledger
from queries.history import latest_artifact, latest_document, runs_of_request

DEADLINE_PREFIX = "deadline:"
FLAG_TAGS = {OVERDUE: "deadline-overdue", DUE_SOON: "deadline-due-soon"}
EXTENDED_TAG = "deadline-extended"


class ExtensionRefused(Exception):
    """The extension is not allowed; the message says why."""


def plan_extension(request_id: str, received: date, reason: str, recorded_by: str, today: date,
                   already: Extension | None = None) -> Extension:
    """An extension by two further months, checked against Art. 12(3)."""
    original = gdpr_deadline(received)
    if already is not None:
        raise ExtensionRefused(f"request {request_id} was already extended to {already.deadline} "
                               f"({already.reason}); Art. 12(3) allows one extension of two months")
    if not reason.strip():
        raise ExtensionRefused("an extension needs its reason: Art. 12(3) requires telling the member why")
    if today > original:
        # The member must be told of the extension within one month of receipt, so not after the deadline.
        raise ExtensionRefused(f"request {request_id}: the deadline {original} has passed; an extension "
                               "must be decided and told to the member within one month of receipt")
    return Extension(request_id, original, gdpr_deadline(received, extended=True), reason.strip(), recorded_by,
                     datetime.now(UTC))


def deadline_tags(tags: Iterable[str], deadline: date, flag: str | None = None,
                  extended: bool = False) -> list[str]:
    """The run's tags with its deadline, extension mark and warning flag set to these, others kept."""
    ours = {*FLAG_TAGS.values(), EXTENDED_TAG}
    kept = [t for t in tags if not t.startswith(DEADLINE_PREFIX) and t not in ours]
    marks = [f"{DEADLINE_PREFIX}{deadline.isoformat()}", *([EXTENDED_TAG] if extended else []),
             *([FLAG_TAGS[flag]] if flag else [])]
    return [*kept, *marks]


def request_markdown(request: Request) -> str:
    """The request artifact: when it came, its deadline and why that date, by reference only."""
    return (f"Request `{request.request_id}` ({request.kind.value}) for subject `{request.subject_ref}` at "
            f"{request.controller}: received {request.received:%Y-%m-%d %H:%M} UTC, to be answered by "
            f"**{request.deadline}** ({request.deadline_reason}).\n\n" + fenced(request_document(request)) + "\n")


def request_document(request: Request) -> dict[str, Any]:
    """The request as the register reads it; the member id stays out."""
    return {"request_id": request.request_id, "controller": request.controller, "kind": request.kind.value,
            "subject_ref": request.subject_ref, "received": plain(request.received),
            "deadline": plain(request.deadline), "deadline_reason": request.deadline_reason}


def extension_markdown(extension: Extension) -> str:
    """The extension artifact: the notice to the member (nb, en) and the recorded facts."""
    return "\n".join([
        f"Deadline for request `{extension.request_id}` extended from {extension.original_deadline} to "
        f"**{extension.deadline}** (GDPR Art. 12(3)) by {extension.recorded_by}.", "",
        f"*Til medlemmet:* Vi trenger mer tid til å behandle henvendelsen din og forlenger svarfristen til "
        f"{extension.deadline:%d.%m.%Y}. Grunnen er: {extension.reason}", "",
        f"*To the member:* We need more time to handle your request and extend the deadline to "
        f"{extension.deadline:%d %B %Y}. The reason is: {extension.reason}", "",
        fenced(extension), ""])


async def read_extension(ledger: Ledger, request_id: str) -> Extension | None:
    """The request's extension as the ledger sealed it, if any."""
    sealed = [r for r in await ledger.records(request_id=request_id) if r.kind == "extension"]
    return Extension.from_document(sealed[-1].sealed.body["evidence"]["extension"]) if sealed else None


async def set_tags(client: PrefectClient, run_id: UUID, tags: list[str]) -> bool:
    """Replace a run's tags (the API has no add-one-tag); False when Prefect no longer has the run."""
    try:
        await client.update_flow_run(run_id, tags=tags)
    except PrefectHTTPStatusError as error:
        if error.response.status_code != 404:
            raise
        return False
    return True


@task(name="register-request", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
async def register_request(request: Request, ledger_url: str) -> date:
    """Put the request's deadline on its run: a `request-<id>` artifact once, deadline tags, the member's tag."""
    run_id = runtime.flow_run.id
    key = artifact_key("request", request.request_id)
    async with get_client() as client:
        if await latest_artifact(client, key) is None:
            await acreate_markdown_artifact(key=key, markdown=request_markdown(request),
                                            description=f"Request {request.request_id}: due {request.deadline}")
        extension = await read_extension(await open_ledger(ledger_url), request.request_id)
        deadline = extension.deadline if extension else request.deadline
        run = await client.read_flow_run(UUID(str(run_id)))
        tags = deadline_tags(run.tags, deadline, extended=extension is not None)
        # The member's tag makes a run started by hand (UI, CLI) one a webhook for the member joins.
        mine = [request_tag(request.request_id), member_tag(request.controller, request.member_id)]
        await set_tags(client, run.id, [*tags, *(tag for tag in mine if tag not in tags)])
    return deadline


async def extend_request(ledger: Ledger, request_id: str, reason: str, recorded_by: str, today: date) -> Extension:
    """Seal an Art. 12(3) extension into the ledger and show it on the request's newest run: artifact, tags and
    an event."""
    async with get_client() as client:
        runs = await runs_of_request(client, request_id)
        if not runs:
            raise ExtensionRefused(f"no erase-member run for request {request_id}")
        run = runs[0]
        document = await latest_document(client, artifact_key("request", request_id))
        received = (datetime.fromisoformat(document["received"]) if document
                    else run.created or datetime.now(UTC))
        extension = plan_extension(request_id, received.date(), reason, recorded_by, today,
                                   await read_extension(ledger, request_id))
        controller = str((document or {}).get("controller") or run.parameters.get("controller", ""))
        await seal_extension(ledger, client, run.id,
                             document or {"request_id": request_id, "controller": controller}, extension)
        await set_tags(client, run.id, deadline_tags(run.tags, extension.deadline, extended=True))
    emit_event(event="slett.request.deadline-extended", resource=run_resource(run.id, request_id),
               payload={"request_id": request_id, "deadline": extension.deadline.isoformat(),
                        "original_deadline": extension.original_deadline.isoformat()})
    return extension


async def seal_extension(ledger: Ledger, client: PrefectClient, run_id: UUID, request: dict[str, Any],
                         extension: Extension) -> None:
    """Seal the extension into the controller's chain as a record of its own (it moves the deadline the
    register shows, so `--verify` must catch a changed or forged one), then show it on the run."""
    key = artifact_key("extension", extension.request_id)
    markdown = extension_markdown(extension)
    controller = str(request["controller"])
    stored = await ledger.seal(NewRecord(controller, "extension", extension.request_id, str(run_id),
                                         {"request": request, "extension": plain(extension),
                                          "artifacts": {key: sha256(markdown)}}))
    await client.create_artifact(ArtifactCreate(
        key=key, type="markdown", flow_run_id=run_id, data=markdown,
        description=f"Deadline extended to {extension.deadline} (GDPR Art. 12(3))"))
    await client.create_artifact(ArtifactCreate(
        key=artifact_key("evidence", extension.request_id), type="markdown", flow_run_id=run_id,
        data=record_markdown(stored.sealed),
        description=f"Evidence record #{stored.sealed.sequence} of {controller} (extension), "
        f"sha256 {stored.sealed.digest}"))


def run_resource(run_id: UUID, request_id: str) -> dict[str, str]:
    """The Prefect event resource for a request's run."""
    return {"prefect.resource.id": f"prefect.flow-run.{run_id}", "slett.request-id": request_id}
