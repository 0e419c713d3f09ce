"""The evidence chain, without Prefect: sealing, and naming the first request whose evidence changed."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from evidence.chain import GENESIS, Problem, Sealed, seal, verify_chain
from evidence.documents import canonical_json, sha256

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def evidence(request_id: str, status: str = "done") -> dict[str, Any]:
    return {"request": {"request_id": request_id, "controller": "demo", "subject_ref": "sr-abc"},
            "status": status, "steps": [{"system": "nets", "status": "erased", "retain_until": "2031-12-31"}]}


def chain(*request_ids: str) -> list[Sealed]:
    """Records sealed one after another, stored a second apart."""
    records: list[Sealed] = []
    for n, request_id in enumerate(request_ids):
        head = records[-1] if records else None
        record = seal("demo", evidence(request_id), {f"erasure-{request_id}": "t" * 64}, head)
        records.append(Sealed(record.body, record.digest, T0 + timedelta(seconds=n)))
    return records


def current(records: list[Sealed]) -> dict[str, str]:
    return {key: digest for r in records for key, digest in r.body["artifacts"].items()}


def altered(record: Sealed, reseal: bool = False, created: datetime | None = None) -> Sealed:
    body = copy.deepcopy(record.body)
    body["evidence"]["steps"][0]["retain_until"] = "2027-01-01"
    return Sealed(body, sha256(body) if reseal else record.digest, created or record.created)


def first(report) -> tuple[str, int] | None:
    return (report.problems[0].request_id, report.problems[0].sequence) if report.problems else None


def test_digest_is_sha256_of_the_canonical_json_of_the_record():
    """A record's digest is SHA-256 over its body as sorted, compact JSON, and links to the one before."""
    a, b = chain("r1", "r2")

    text = json.dumps(b.body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == b.digest
    assert (GENESIS, a.digest) == (a.body["previous"], b.body["previous"])
    assert (1, 2) == (a.sequence, b.sequence)


def test_canonical_json_ignores_key_order():
    """The same values in another key order have the same canonical text, so the same digest."""
    assert canonical_json({"b": 1, "a": [2, {"d": 3, "c": 4}]}) == canonical_json({"a": [2, {"c": 4, "d": 3}], "b": 1})


def test_an_untouched_chain_verifies():
    """Records sealed in order, with their artifacts unchanged, verify with no problem."""
    records = chain("r1", "r2", "r3")

    report = verify_chain("demo", records, current(records))

    assert (True, 3, 3, records[-1].digest) == (report.intact, report.records, report.head_sequence,
                                                report.head_digest)


def test_evidence_changed_in_place_is_named():
    """Evidence edited in place no longer matches its digest; that request is named, not the ones after."""
    records = chain("r1", "r2", "r3")
    records[1] = altered(records[1])

    report = verify_chain("demo", records, current(records))

    assert ("r2", 2) == first(report)
    assert 1 == len(report.problems)


def test_evidence_changed_and_sealed_again_is_named_by_the_next_record():
    """Evidence edited with a fresh digest is caught by the next record, which sealed the old digest; the
    edited request is named."""
    records = chain("r1", "r2", "r3")
    records[1] = altered(records[1], reseal=True)

    report = verify_chain("demo", records, current(records))

    assert ("r2", 2) == first(report)
    assert "sealed again" in report.problems[0].reason


def test_altered_new_version_is_named():
    """A newer copy of a request's evidence with other content is out of place in the chain: named."""
    records = chain("r1", "r2", "r3")
    forged = altered(records[0], reseal=True, created=T0 + timedelta(minutes=5))

    report = verify_chain("demo", [*records, forged], current(records))

    assert ("r1", 1) == first(report)
    assert "not a sealed record" in report.problems[0].reason


def test_removed_record_is_reported_where_the_chain_resumes():
    """A deleted record leaves a gap: the record after it is named with the missing number."""
    records = chain("r1", "r2", "r3")

    report = verify_chain("demo", [records[0], records[2]], current(records))

    assert ("r3", 3) == first(report)
    assert "record #2 before it is missing (deleted)" == report.problems[0].reason


def test_changed_table_is_named():
    """A table artifact whose newest version differs from what the evidence sealed names its request."""
    records = chain("r1", "r2")
    artifacts = current(records) | {"erasure-r1": "x" * 64}

    report = verify_chain("demo", records, artifacts)

    assert ("r1", 1) == first(report)
    assert "erasure-r1 was changed" in report.problems[0].reason


def test_the_first_of_several_changes_is_named_first():
    """With two requests changed, the earlier in the chain comes first."""
    records = chain("r1", "r2", "r3", "r4")
    records[3] = altered(records[3])
    records[1] = altered(records[1])

    report = verify_chain("demo", records, current(records))

    assert ["r2", "r4"] == [p.request_id for p in report.problems]


def test_evidence_artifact_without_a_record_is_named():
    """An evidence artifact whose record was replaced by anything else cannot verify; its request is named."""
    report = verify_chain("(unreadable)", [Sealed.unreadable("evidence-r9", T0)], {})

    assert [("r9", "its evidence artifact holds no sealed record")] == [(p.request_id, p.reason)
                                                                        for p in report.problems]


def test_a_table_is_checked_against_the_last_record_that_sealed_it():
    """A request's table changed after a later record of the same request (its extension) sealed only the
    extension is still caught: each artifact is checked against the last record that sealed it."""
    records = chain("r1", "r2")
    extension = seal("demo", {"request": {"request_id": "r1"}, "extension": {"reason": "x"}},
                     {"extension-r1": "e" * 64}, records[-1])
    records.append(Sealed(extension.body, extension.digest, T0 + timedelta(minutes=1)))
    artifacts = current(records) | {"erasure-r1": "x" * 64}

    report = verify_chain("demo", records, artifacts)

    assert [("r1", "its artifact erasure-r1 was changed after sealing")] == [
        (p.request_id, p.reason) for p in report.problems]


def test_unsealed_tables_are_named_after_the_chain_walk():
    """A table no record seals (its record deleted) is reported with its request, after the chain's own
    problems."""
    records = chain("r1", "r2")
    missing = Problem(0, "r3", "its evidence table erasure-r3 is in no sealed evidence record")

    report = verify_chain("demo", records, current(records), [missing])

    assert (False, [missing]) == (report.intact, list(report.problems))
