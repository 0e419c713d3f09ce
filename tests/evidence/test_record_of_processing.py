"""`slett record-of-processing`: the Art. 30(1) record of each chain, derived from its policy file."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from config.policy import load_policy
from config.settings import PROJECT_ROOT

CONTROLLERS = sorted(p.stem for p in (PROJECT_ROOT / "config" / "controllers").glob("*.yaml"))


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_record_lists_every_processor_and_retention_rule_of_the_policy(controller, capsys):
    """The JSON record has one activity per processor of the policy file, and each retention rule with its
    categories, period and legal basis."""
    policy = load_policy(controller, PROJECT_ROOT / "config" / "controllers")

    assert 0 == main(["record-of-processing", "--controller", controller, "--format", "json"])
    record = json.loads(capsys.readouterr().out)

    assert {"key": controller, "name": policy.name} == record["controller"]
    assert [(p.system, p.supplier, p.role, p.action) for p in policy.processors] == [
        (a["processor"], a["supplier"], a["role"], a["at_erasure"]) for a in record["activities"]]
    assert [(r.name, list(r.categories), str(r.period), r.basis.citation) for r in policy.retention] == [
        (r["rule"], r["categories"], r["period"], r["basis"]) for r in record["time_limits"]["retention"]]
    held = {name for p in policy.processors for name in p.holds}
    assert held <= {r["rule"] for r in record["time_limits"]["retention"] if r["held_by"]}


def test_markdown_record_has_each_part_of_article_30_1(capsys):
    """The markdown record has parts (a) to (g), the chain's name and each processor's row."""
    assert 0 == main(["record-of-processing", "--controller", "demo"])
    text = capsys.readouterr().out

    assert text.startswith("# Record of processing activities · Demo Trening AS")
    for part in ("## (a) Controller", "## (b)-(d) Purposes", "## (e) Transfers", "## (f) Time limits",
                 "## (g) Security measures"):
        assert part in text
    assert "| physica | journal | physiotherapy and health care" in text
    assert "| bookkeeping | invoices, payments, customer ledger | bokføringsloven §13" in text


def test_unknown_controller_is_refused_with_the_available_ones(capsys):
    """A controller with no policy file is named, with the ones there are."""
    assert 2 == main(["record-of-processing", "--controller", "nosuchchain"])

    assert "no policy for controller 'nosuchchain'" in capsys.readouterr().out


def test_record_names_who_runs_a_system_and_each_processors_data_map(capsys):
    """K24's newsletter is Mailchimp run by Magy Media AS, and each processor's personal data are its data map's
    categories; every recipient is listed as a processor, Credicare among Aktiv365's."""
    assert 0 == main(["record-of-processing", "--controller", "k24", "--format", "json"])
    k24 = json.loads(capsys.readouterr().out)
    assert 0 == main(["record-of-processing", "--controller", "aktiv365", "--format", "json"])
    aktiv365 = json.loads(capsys.readouterr().out)

    mailchimp = next(a for a in k24["activities"] if a["processor"] == "mailchimp")
    assert ("Magy Media AS", ["newsletter"]) == (mailchimp["operated_by"], mailchimp["data_categories"])
    credicare = next(r for r in aktiv365["recipients"] if r["processor"] == "credicare")
    assert ("Credicare AS", "processor") == (credicare["supplier"], credicare["as"])
    assert ["invoices"] == next(a for a in aktiv365["activities"] if a["processor"] == "credicare")["data_categories"]
    assert 0 == main(["record-of-processing", "--controller", "k24"])
    assert "| mailchimp, run by Magy Media AS | marketing |" in capsys.readouterr().out
