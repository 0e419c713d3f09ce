"""The register shows, per request, who was told of the erasure (GDPR Art. 19) and the legal holds on the member,
and lists the legal holds in force: in JSON, CSV, markdown and HTML, from ledger records sealed before it did
(written_by_d3a4f20/, written_by_e521070/: their README.md say how they were written)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from cli.commands.record_of_processing import policies_dir
from evidence.ledger import legal_holds, open_ledger, records
from evidence.register import Register, compile_register
from evidence.register_html import render_html
from evidence.register_render import register_csv, register_json, register_markdown

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
TODAY = date(2026, 3, 10)  # the register's day: the Exceline hold runs to 2027, the Ibooking one was lifted 1 March
REQUEST, SUBJECT, OTHER = "old-aktiv365-1", "sr-0123456789abcdef01234567", "sr-fedcba9876543210fedcba98"
OLD_REQUEST = "old-aktiv365-0"
DATES = {"recorded": datetime.fromisoformat, "set_at": datetime.fromisoformat, "ends_on": date.fromisoformat,
         "lifted_on": date.fromisoformat}


@dataclass
class Compiled:
    """The register compiled from one folder's records, and its four renderings."""

    register: Register
    json: dict[str, Any]
    csv: list[dict[str, str]]
    markdown: str
    html: str

    def entry(self, request_id: str) -> dict[str, Any]:
        """One request's entry in the JSON."""
        return next(e for e in self.json["requests"] if e["request_id"] == request_id)

    def row(self, request_id: str) -> dict[str, str]:
        """One request's row in the CSV."""
        return next(r for r in self.csv if r["request_id"] == request_id)


async def compiled_from(folder: str, tmp_path: Path) -> Compiled:
    """The rows an older slett wrote, put into a fresh ledger as they were, and the register compiled from it."""
    written = json.loads((HERE / folder / "records.json").read_text(encoding="utf-8"))
    ledger = await open_ledger(f"sqlite:///{tmp_path}/{folder}.sqlite3")
    async with ledger.transaction() as connection:
        for name, table in (("evidence_record", records), ("legal_hold", legal_holds)):
            rows = [{k: DATES[k](v) if k in DATES and v else v for k, v in row.items()}
                    for row in written.get(name, [])]
            if rows:
                await connection.execute(table.insert(), rows)
    register = await compile_register(ledger, policies_dir(), TODAY, controller="aktiv365")
    return Compiled(register, register_json(register), list(csv.DictReader(io.StringIO(register_csv(register)))),
                    register_markdown(register), render_html(register))


@pytest.fixture
async def sealed(prefect_server: None, tmp_path: Path) -> Compiled:
    """The register from the records the code at d3a4f20 sealed: an erasure with its told list, legal holds."""
    return await compiled_from("written_by_d3a4f20", tmp_path)


@pytest.fixture
async def older(prefect_server: None, tmp_path: Path) -> Compiled:
    """The register from the record the code at e521070 sealed, before the evidence listed who was told."""
    return await compiled_from("written_by_e521070", tmp_path)


async def test_json_lists_per_request_each_recipient_told_how_when_and_by_whom(sealed):
    """A request's JSON entry lists every recipient its sealed evidence names: a person's notice with who sent it
    and the day, the erasure call itself with its day, and those not told with why; the chain stays intact."""
    told = sealed.entry(REQUEST)["told"]

    assert [("Kalibrert AS", "person", "2026-03-02", "Ola Drift"), ("ibooking", "api", "2026-03-03", None),
            ("fixit", "not told", None, None), ("nets", "not told", None, None),
            ("Credicare AS", "person", "2026-03-03", "Kari Drift"), ("Apility AS", "not told", None, None),
            ("Relisec AS", "not told", None, None), ("exceline", "api", "2026-03-03", None)] == [
        (t["recipient"], t["how"], t["on"], t["by"]) for t in told]
    assert "restrict notice confirmed" == told[4]["detail"]
    assert "not reached in this request" == told[2]["detail"]
    assert [True] == [c["intact"] for c in sealed.json["evidence_chains"]]


async def test_json_lists_each_legal_hold_on_the_requests_member_and_those_in_force(sealed):
    """A request's JSON entry lists every legal hold on its member at the chain (who set it, why, until when,
    lifted or not, in force on the register's day); the register's own list has every legal hold in force, the
    other member's too, and the counts say how many."""
    entry, section = sealed.entry(REQUEST), sealed.json["sections"]["legal_holds_in_force"]

    assert [("ibooking", "bookings", "Kari Drift", "Tvist om en booking, sak 12", None, "Ola Jurist", "2026-03-01",
             False),
            ("exceline", "visits", "Kari Drift", "Politiet ba om besøksloggen, sak 2026-44", "2027-03-02", None, None,
             True)] == [(h["system"], h["category"], h["set_by"], h["reason"], h["ends_on"], h["lifted_by"],
                         h["lifted_on"], h["in_force"]) for h in entry["legal_holds"]]
    assert "2026-03-02T10:00:00+00:00" == entry["legal_holds"][1]["set_at"]
    assert [(SUBJECT, "exceline", "visits"), (OTHER, "ibooking", "profile")] == [
        (h["subject_ref"], h["system"], h["category"]) for h in section]
    assert 2 == sealed.json["counts"]["legal holds in force"]
    # The ledger's legal_hold rows name the member by id; the register only by subject reference.
    assert ["A7001", "A7002"] == [m for m in ("A7001", "A7002") if m not in json.dumps([entry["legal_holds"], section])]


async def test_csv_has_the_recipients_told_and_the_legal_holds_in_one_cell_each(sealed):
    """The request's CSV row has a `told` cell listing each recipient (how, on which day, by whom) and a
    `legal_holds` cell listing each legal hold with whether it is in force."""
    row = sealed.row(REQUEST)

    told = row["told"].split("; ")
    assert 8 == len(told)
    assert "Credicare AS: person on 2026-03-03 by Kari Drift (restrict notice confirmed)" == told[4]
    assert "ibooking: api on 2026-03-03 (the erasure call itself: delete erased)" == told[1]
    assert ("legal hold on bookings at ibooking set by Kari Drift (Tvist om en booking, sak 12), lifted on 2026-03-01 "
            "by Ola Jurist; not in force; legal hold on visits at exceline set by Kari Drift (Politiet ba om "
            "besøksloggen, sak 2026-44), until 2027-03-02; in force") == row["legal_holds"]


async def test_markdown_has_tables_of_legal_holds_in_force_and_of_who_was_told(sealed):
    """The markdown summary has the legal holds in force, who was told of each erasure, and the legal holds on the
    requests' members, each as a table row."""
    text = sealed.markdown

    assert (f"| {SUBJECT} | exceline | visits | Kari Drift | Politiet ba om besøksloggen, sak 2026-44 "
            "| until 2027-03-02 |") in text
    assert f"| {OTHER} | ibooking | profile | Kari Drift | Skade under prøvetime, sak 7 | until lifted |" in text
    assert f"| {REQUEST} | Credicare AS | person | 2026-03-03 | Kari Drift | restrict notice confirmed |" in text
    assert (f"| {REQUEST} | ibooking | bookings | Kari Drift | Tvist om en booking, sak 12 | lifted on 2026-03-01 "
            "by Ola Jurist | not in force |") in text
    assert "## Legal holds in force" in text and "## Who was told of each erasure (GDPR Art. 19)" in text


async def test_html_shows_who_was_told_and_the_legal_holds_under_the_request_and_those_in_force(sealed):
    """The HTML page lists the legal holds in force in their own section and counts them, and under the request
    the recipients told (how, when, by whom) and the legal holds on its member."""
    page = sealed.html

    assert "Legal holds in force (2)" in page and 'id="count-legal-holds-in-force"' in page
    assert ('<tr class="told"><td>Credicare AS</td><td>credicare</td><td>person</td><td>2026-03-03</td>'
            "<td>Kari Drift</td><td>restrict notice confirmed</td></tr>") in page
    assert ('<tr class="legal-hold"><td>ibooking</td><td>bookings</td><td>Kari Drift</td><td>2026-02-20 08:00</td>'
            "<td>Tvist om en booking, sak 12</td><td>lifted on 2026-03-01 by Ola Jurist</td><td>no</td></tr>") in page
    assert 8 == page.count('<tr class="told">')


async def test_a_record_sealed_before_the_told_list_renders_with_none_in_every_format(older):
    """An erasure sealed by the code before the evidence listed who was told has no `told` list and no legal
    holds: the register lists it all the same, with an empty list in JSON, empty cells in CSV, no rows in
    markdown and the page saying none is listed."""
    entry, row = older.entry(OLD_REQUEST), older.row(OLD_REQUEST)

    assert ("done", [], []) == (entry["status"], entry["told"], entry["legal_holds"])
    assert ("", "", "done") == (row["told"], row["legal_holds"], row["status"])
    assert f"| {OLD_REQUEST} |" not in older.markdown.split("## Who was told of each erasure (GDPR Art. 19)")[1]
    assert "None listed: the request is not answered yet, or its evidence was sealed before slett listed" in older.html
    assert [] == older.json["sections"]["legal_holds_in_force"]
