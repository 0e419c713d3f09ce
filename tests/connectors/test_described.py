"""Described processors: a description is checked when it is loaded, and a mistake is named by file, line, field."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from connectors.contract import Action, Permanent, Subject
from connectors.described import FOLDER, descriptions
from connectors.described.model import DescriptionError, load_description
from connectors.http import use_transports
from connectors.registry import CONNECTORS, connect, known_systems
from tests.connectors.conftest import sandbox_settings

IBOOKING = (FOLDER / "ibooking.yaml").read_text(encoding="utf-8")


def written(tmp_path: Path, text: str, name: str = "ibooking") -> Path:
    """A description file in a folder of its own."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_description_loads_and_says_what_to_confirm():
    """Each file in connectors/described loads, and an assumed API lists what to confirm with the vendor."""
    found = descriptions()

    assert {"ibooking", "fixit", "lifevision", "physica", "crm", "imagebank", "access", "app"} == set(found)
    assert all(d.api == "published" or d.confirm for d in found.values())


def test_a_misspelt_field_is_named_with_its_file_and_line(tmp_path):
    """A field the model does not know is refused with the file, the line it is on and its path."""
    path = written(tmp_path, IBOOKING.replace("  delete: {delete: \"/customers/{id}\", idempotent: true}",
                                              "  delete: {delete: \"/customers/{id}\", idempotnt: true}"))
    line = 1 + IBOOKING.splitlines().index("  delete: {delete: \"/customers/{id}\", idempotent: true}")

    with pytest.raises(DescriptionError) as raised:
        load_description(path)

    assert f"{path}, line {line}, erase.delete.idempotnt: Extra inputs are not permitted" == str(raised.value)


def test_an_unknown_placeholder_is_refused(tmp_path):
    """A path naming a value slett does not have ({customer}) is refused, naming the values it may use."""
    path = written(tmp_path, IBOOKING.replace('"/customers/{id}/bookings"', '"/customers/{customer}/bookings"'))

    with pytest.raises(DescriptionError,
                       match=r"line 21, categories.bookings.read: unknown placeholder\(s\) \[.customer.]"):
        load_description(path)


def test_a_call_must_name_one_method(tmp_path):
    """A call with no method key (or two) says which keys name one."""
    path = written(tmp_path, IBOOKING.replace("{get: /customers, ", "{path: /customers, "))

    with pytest.raises(DescriptionError, match="line 13, lookup: name exactly one method"):
        load_description(path)


def test_takes_names_the_processors_own_categories(tmp_path):
    """What a category's deletion takes with it must be a category of the same processor."""
    path = written(tmp_path, IBOOKING.replace("takes: [bookings]", "takes: [invoices]"))

    with pytest.raises(DescriptionError, match=r"takes names \['invoices'\]: not categories of this processor"):
        load_description(path)


def test_an_assumed_api_must_say_what_to_confirm(tmp_path):
    """An assumed API with nothing to confirm is refused; a published one must name its source."""
    start, end = IBOOKING.index("confirm:"), IBOOKING.index("summary:")
    unconfirmed = written(tmp_path, IBOOKING[:start] + IBOOKING[end:])
    unsourced = written(tmp_path, IBOOKING.replace("api: assumed", "api: published"), "other")

    with pytest.raises(DescriptionError, match="lists what an integrator must confirm"):
        load_description(unconfirmed)
    with pytest.raises(DescriptionError, match="a published API names its source"):
        load_description(unsourced)


def test_an_action_without_a_read_back_is_refused(tmp_path):
    """Every action under erase needs its read-back under verify."""
    path = written(tmp_path, IBOOKING.replace("verify:\n  delete:\n    - {get: \"/customers/{id}\", expect: gone}\n",
                                              "verify: {}\n"))

    with pytest.raises(DescriptionError, match=r"no read-back for \['delete'\]"):
        load_description(path)


def test_a_file_named_for_another_processor_is_refused(tmp_path):
    """The file's name is the processor's: a description of ibooking in fixit.yaml is refused."""
    written(tmp_path, IBOOKING, "fixit")

    with pytest.raises(DescriptionError, match="system is 'ibooking'; name the file after it"):
        descriptions(tmp_path)


def test_bad_yaml_is_named(tmp_path):
    """A file that is not YAML says so, with its path."""
    path = written(tmp_path, "system: [ibooking\n")

    with pytest.raises(DescriptionError, match=f"{path}: not valid YAML"):
        load_description(path)


def test_a_described_processor_offers_only_what_its_file_describes():
    """The flows ask a connector by attribute: Physica (release refused) has release but no guest purge,
    Ibooking purges guests and course participants but has no release, LifeVision has neither."""
    known_systems()
    offered = {system: {name for name in ("release", "stale_guests", "expired_participants")
                        if hasattr(CONNECTORS[system], name)}
               for system in ("physica", "ibooking", "fixit", "lifevision")}

    assert {"physica": {"release"}, "ibooking": {"stale_guests", "expired_participants"},
            "fixit": {"stale_guests"}, "lifevision": set()} == offered


def shaped(answer: object) -> httpx.MockTransport:
    """A processor whose every answer is `answer`: a real vendor shaped other than the description says."""
    return httpx.MockTransport(lambda request: httpx.Response(200, json=answer))


@pytest.mark.parametrize(("answer", "expected"), [
    ({"customers": []}, "fixit: GET /api/customers: the answer holds no list there; name where it is with "
                        "`items` in connectors/described/fixit.yaml"),
    ([{"id": 7, "email": "kari@example.no"}], "fixit: GET /api/customers: the answer has no field 'CustomerId'; "
                                               "check connectors/described/fixit.yaml"),
])
async def test_an_answer_shaped_otherwise_names_the_file_to_correct(answer, expected):
    """A vendor's answer that does not match its description fails Permanent, naming the call, the field and
    the file, never a value from the answer."""
    with use_transports({"fixit": shaped(answer)}):
        async with connect("fixit", sandbox_settings()) as (fixit, _):
            with pytest.raises(Permanent) as raised:
                await fixit.lookup(Subject("demo", "M1001"))

    assert expected == str(raised.value)


async def test_a_read_back_nobody_described_is_refused_not_passed(open_connector, subject):
    """Verifying an action the file has no read-back for fails Permanent: nothing is verified by default."""
    async with open_connector("physica") as (physica, _):
        holdings = await physica.lookup(subject("M1003"))
        with pytest.raises(Permanent, match="no read-back is described for delete"):
            await physica.verify(holdings, Action.DELETE)
