"""The evidence chain: each request's evidence sealed with SHA-256 and linked to its controller's previous one.

A record is `{controller, sequence, previous, evidence, artifacts}` plus `digest`, the SHA-256 of the
canonical JSON of the rest. `previous` is the digest of the controller's record before it, so changing
any sealed record, or removing one, breaks the links after it. Records are stored as `evidence-<request>`
markdown artifacts; the head is found by reading them back, so the chain lives only in run history.
A deadline extension is sealed as a record of its own (a further version of `evidence-<request>`). Removing
the newest record breaks no link, so every `erasure-` table and `extension-` artifact must also be in a record.

Two requests of one controller sealing at once would both link to the same head. Sealing therefore
holds a Prefect global concurrency limit of one slot per controller (`slett-evidence-<controller>`,
created on first use, leased so a crashed holder frees it) from reading the head to storing the record.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ArtifactCollection
from prefect.concurrency.asyncio import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from domain.values import artifact_key
from evidence.documents import fenced, sha256, table_data, unfenced
from queries.history import artifact_versions, latest_artifacts, newest_versions
from queries.pages import PAGE

GENESIS = "0" * 64
PREFIX = "evidence-"
TABLE, LETTER, EXTENSION = "erasure-", "letter-", "extension-"
UNREADABLE = "(unreadable)"


@dataclass(frozen=True)
class Sealed:
    """One stored evidence record: its body, the digest it claims, and when the server stored it."""

    body: dict[str, Any]
    digest: str
    created: datetime | None = None

    @classmethod
    def of(cls, document: dict[str, Any] | None, created: datetime | None = None) -> Sealed | None:
        """The record in an evidence artifact's JSON, or None if it holds none."""
        if not document or "digest" not in document or "sequence" not in document:
            return None
        body = {k: v for k, v in document.items() if k != "digest"}
        return cls(body, str(document["digest"]), created)

    @classmethod
    def unreadable(cls, key: str, created: datetime | None) -> Sealed:
        """An evidence artifact that holds no record any more: it can never verify."""
        return cls({"controller": UNREADABLE, "evidence": {"request": {"request_id": key.removeprefix(PREFIX)}}},
                   "", created)

    @property
    def controller(self) -> str:
        """The controller whose chain this record is in."""
        return str(self.body.get("controller"))

    @property
    def sequence(self) -> int:
        """The record's place in its controller's chain, from 1."""
        return int(self.body.get("sequence", 0))

    @property
    def request_id(self) -> str:
        """The request whose evidence this is."""
        return str(self.body.get("evidence", {}).get("request", {}).get("request_id", "?"))

    @property
    def intact(self) -> bool:
        """Whether the body still has the digest it was sealed with."""
        return sha256(self.body) == self.digest

    def document(self) -> dict[str, Any]:
        """The record as stored."""
        return {**self.body, "digest": self.digest}


def seal(controller: str, evidence: dict[str, Any], artifacts: Mapping[str, str], head: Sealed | None) -> Sealed:
    """The next record of a controller's chain after `head` (None for the first)."""
    body = {"controller": controller, "sequence": head.sequence + 1 if head else 1,
            "previous": head.digest if head else GENESIS, "evidence": evidence, "artifacts": dict(artifacts)}
    return Sealed(body, sha256(body))


def record_markdown(record: Sealed) -> str:
    """The evidence artifact: the seal in words, then the record as JSON."""
    return (f"Evidence record #{record.sequence} of {record.controller}'s chain, request "
            f"`{record.request_id}`.\n\n- sha256: `{record.digest}`\n- previous: `{record.body['previous']}`\n\n"
            + fenced(record.document()) + "\n")


@dataclass(frozen=True)
class Problem:
    """Where a chain fails to verify: the request whose evidence was changed, and how we know."""

    sequence: int
    request_id: str
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """One controller's chain as verified: its length, its head, and what is wrong with it."""

    controller: str
    records: int
    head_sequence: int
    head_digest: str
    problems: tuple[Problem, ...] = ()

    @property
    def intact(self) -> bool:
        """Whether every record, link and sealed artifact checks out."""
        return not self.problems


def _link_problem(record: Sealed, before: Sealed | None) -> tuple[int, Problem] | None:
    """What is wrong with the link from `record` back to the record stored before it, and whether the
    fault lies with the record before (-1) or this one (0)."""
    expected_previous = before.digest if before else GENESIS
    expected_sequence = before.sequence + 1 if before else 1
    if record.body.get("previous") == expected_previous:
        if record.sequence == expected_sequence:
            return None
        return 0, Problem(record.sequence, record.request_id,
                          f"its sequence number was changed (expected #{expected_sequence})")
    if before is not None and before.intact and record.sequence == expected_sequence:
        # This record is intact and was sealed over a different digest of its predecessor: the
        # predecessor was changed and sealed again afterwards.
        return -1, Problem(before.sequence, before.request_id,
                           f"its evidence was changed and sealed again after record #{record.sequence} "
                           f"(request {record.request_id}) had sealed the original digest")
    if record.sequence > expected_sequence:
        missing = (f"record #{expected_sequence} before it is" if record.sequence == expected_sequence + 1
                   else f"records #{expected_sequence}-#{record.sequence - 1} before it are")
        return 0, Problem(record.sequence, record.request_id, f"{missing} missing (deleted)")
    return 0, Problem(record.sequence, record.request_id,
                      f"it was stored after record #{expected_sequence - 1} but claims place #{record.sequence}: "
                      "a copy or an altered new version, not a sealed record")


def verify_chain(controller: str, records: Iterable[Sealed], current: Mapping[str, str],
                 unsealed: Iterable[Problem] = ()) -> ChainReport:
    """Walk a controller's records in the order they were stored; `current` is the SHA-256 of the newest
    version of each table, letter and extension artifact, to compare with what the last record sealing it
    sealed; `unsealed` names the tables and extensions that no record seals."""
    ordered = sorted(records, key=lambda r: (r.created is None, r.created, r.sequence))
    found: list[tuple[int, Problem]] = []
    before: Sealed | None = None
    last_seal: dict[str, tuple[int, Sealed, str]] = {}
    for position, record in enumerate(ordered):
        if not record.digest:
            found.append((position, Problem(0, record.request_id, "its evidence artifact holds no sealed record")))
        elif not record.intact:
            found.append((position, Problem(record.sequence, record.request_id,
                                            "its evidence does not match its SHA-256: changed after sealing")))
        elif (link := _link_problem(record, before)) is not None:
            found.append((position + link[0], link[1]))
        before = record
        for key, digest in record.body.get("artifacts", {}).items():
            last_seal[key] = (position, record, digest)
    for key, (position, record, digest) in sorted(last_seal.items()):
        if current.get(key) != digest:
            what = "was removed" if key not in current else "was changed after sealing"
            found.append((position, Problem(record.sequence, record.request_id, f"its artifact {key} {what}")))
    found += [(len(ordered), problem) for problem in unsealed]
    head = ordered[-1] if ordered else None
    return ChainReport(controller, len(ordered), head.sequence if head else 0, head.digest if head else GENESIS,
                       tuple(problem for _, problem in sorted(found, key=lambda item: item[0])))


HEAD_PAGE = 10  # evidence records read first when looking for a controller's head
CHAIN_LOCK = "slett-evidence-"  # the prefix of each controller's one-slot global concurrency limit


@contextlib.asynccontextmanager
async def chain_lock(controller: str) -> AsyncIterator[None]:
    """Hold the controller's chain alone, from reading its head to storing the next record."""
    name = f"{CHAIN_LOCK}{controller}"
    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    # The shortest lease the server grants: a holder killed mid-seal frees the chain within a minute.
    async with concurrency(name, occupy=1, timeout_seconds=300, lease_duration=60, strict=True):
        yield


async def chain_head(client: PrefectClient, controller: str) -> Sealed | None:
    """The controller's newest record, read back from the newest evidence artifacts."""
    # Sealing waits for this under the controller's lock: the head is nearly always among the newest few
    # records, so read a few first and more only when they are another controller's.
    offset, size = 0, HEAD_PAGE
    while True:
        page = await newest_versions(client, PREFIX, size, offset)
        for artifact in page:
            record = Sealed.of(unfenced(artifact.data), artifact.created) if (
                artifact.key or "").startswith(PREFIX) else None
            if record is not None and record.controller == controller:
                return record
        if len(page) < size:
            return None
        offset, size = offset + size, min(PAGE, size * 2)


async def read_records(client: PrefectClient) -> dict[str, list[Sealed]]:
    """Every stored evidence record, every version, by controller (those that hold none under UNREADABLE)."""
    chains: dict[str, list[Sealed]] = {}
    for artifact in await artifact_versions(client, PREFIX):
        record = Sealed.of(unfenced(artifact.data), artifact.created) or Sealed.unreadable(
            artifact.key or PREFIX, artifact.created)
        chains.setdefault(record.controller, []).append(record)
    return chains


async def current_artifacts(client: PrefectClient) -> dict[str, ArtifactCollection]:
    """The newest version of every evidence table, letter and deadline extension, by key."""
    found: dict[str, ArtifactCollection] = {}
    for prefix in (TABLE, LETTER, EXTENSION):
        found |= await latest_artifacts(client, prefix)
    return found


def artifact_digest(key: str, data: object) -> str:
    """The SHA-256 a record seals for an artifact: of a table's rows, or of a markdown text."""
    return sha256(table_data(data)) if key.startswith(TABLE) else sha256(str(data))


async def current_artifact_digests(client: PrefectClient) -> dict[str, str]:
    """The SHA-256 of the newest version of every evidence table, letter and deadline extension, by key."""
    return {key: artifact_digest(key, a.data) for key, a in (await current_artifacts(client)).items()}


async def unsealed(client: PrefectClient, chains: Mapping[str, Iterable[Sealed]],
                   artifacts: Mapping[str, ArtifactCollection]) -> dict[str, list[Problem]]:
    """The tables and extensions that no stored record seals (its record deleted, or never sealed), by
    controller: a deleted newest record has no later record to betray it, but its table is still there."""
    sealed = {key for records in chains.values() for record in records for key in record.body.get("artifacts", {})}
    found: dict[str, list[Problem]] = {}
    for key, artifact in sorted(artifacts.items()):
        if key in sealed or not key.startswith((TABLE, EXTENSION)):
            continue
        controller, request_id = await _owner(client, key, artifact)
        what = "evidence table" if key.startswith(TABLE) else "deadline extension"
        found.setdefault(controller, []).append(
            Problem(0, request_id, f"its {what} {key} is in no sealed evidence record (deleted, or never sealed)"))
    return found


async def _owner(client: PrefectClient, key: str, artifact: ArtifactCollection) -> tuple[str, str]:
    """The controller and request of an artifact, from its flow run's parameters where it still has one."""
    prefix, _, rest = key.partition("-")
    try:
        run = await client.read_flow_run(artifact.flow_run_id) if artifact.flow_run_id else None
    except ObjectNotFound:
        run = None
    if run is None:
        return UNREADABLE, rest
    request_id = str(run.parameters.get("request_id") or "")
    return (str(run.parameters.get("controller") or UNREADABLE),
            request_id if request_id and artifact_key(prefix, request_id) == key else rest)


async def verify_all(client: PrefectClient, controller: str | None = None) -> list[ChainReport]:
    """Verify every controller's chain (or one, and what cannot be told apart by controller)."""
    chains = await read_records(client)
    artifacts = await current_artifacts(client)
    current = {key: artifact_digest(key, a.data) for key, a in artifacts.items()}
    missing = await unsealed(client, chains, artifacts)
    found = set(chains) | set(missing)
    names = [controller, *([UNREADABLE] if UNREADABLE in found else [])] if controller else sorted(found)
    return [verify_chain(name, chains.get(name, []), current, missing.get(name, ())) for name in names]


async def verify(controller: str | None = None) -> list[ChainReport]:
    """Verify every controller's chain (or one) from the run history."""
    async with get_client() as client:
        return await verify_all(client, controller)
