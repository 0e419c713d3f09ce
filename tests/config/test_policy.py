"""Loading a chain's policy file: the demo chain loads, a bad file says what and where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from cli.main import main
from config.policy import Basis, PolicyError, ProcessorRule, load_policy
from config.settings import PROJECT_ROOT

CONTROLLERS = PROJECT_ROOT / "config" / "controllers"
KNOWN = frozenset({"exceline", "ibooking", "mailchimp", "nets", "physica"})


def write(tmp_path: Path, name: str, data: object) -> Path:
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return tmp_path


def demo_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONTROLLERS / "demo.yaml").read_text())
    return data


def test_demo_policy_loads_with_membership_last():
    """The demo chain has five processors, marketing first and the membership system erased last."""
    policy = load_policy("demo", CONTROLLERS, KNOWN)

    assert "exceline" == policy.membership
    assert ("mailchimp",) == tuple(p.system for p in policy.marketing())
    assert "exceline" == policy.erasure_order()[-1].system
    assert Basis.BOOKKEEPING == policy.rule("bookkeeping").basis


def test_a_file_read_again_unchanged_is_the_same_policy_and_a_changed_one_is_read_anew(tmp_path):
    """The same text is parsed and checked once per process; a file changed on disk gives the changed policy."""
    data = demo_data()
    first = load_policy("demo", write(tmp_path, "demo", data), KNOWN)
    again = load_policy("demo", tmp_path, KNOWN)
    data["name"] = "Demo Renamed AS"
    changed = load_policy("demo", write(tmp_path, "demo", data), KNOWN)

    assert (True, "Demo Renamed AS") == (again is first, changed.name)


def test_a_bad_file_fixed_on_disk_loads(tmp_path):
    """A check that failed is not remembered: the file fixed, it loads."""
    data = demo_data()
    with pytest.raises(PolicyError):
        load_policy("demo", write(tmp_path, "demo", {**data, "controller": "other"}), KNOWN)

    assert "demo" == load_policy("demo", write(tmp_path, "demo", data), KNOWN).controller


def test_unknown_processor_is_named(tmp_path):
    """A processor slett has no connector for fails at load, naming it and the file."""
    data = demo_data()
    data["processors"][1]["system"] = "bookwise"

    with pytest.raises(PolicyError) as error:
        load_policy("demo", write(tmp_path, "demo", data), KNOWN)

    assert "demo.yaml" in str(error.value)
    assert "bookwise" in str(error.value)


def test_negative_period_names_the_rule(tmp_path):
    """A negative period fails at load with the rule's name and the bad value."""
    data = demo_data()
    data["retention"][0]["period"] = "-P2Y"

    with pytest.raises(PolicyError) as error:
        load_policy("demo", write(tmp_path, "demo", data), KNOWN)

    assert "rule 'bookkeeping'" in str(error.value)
    assert "-P2Y" in str(error.value)


def test_unknown_basis_and_missing_citation_are_rejected(tmp_path):
    """A basis slett does not know, or a rule without a citation, fails at load."""
    data = demo_data()
    data["retention"][0]["basis"] = "because-we-want-to"
    del data["retention"][1]["citation"]

    with pytest.raises(PolicyError) as error:
        load_policy("demo", write(tmp_path, "demo", data), KNOWN)

    assert "rule 'bookkeeping', basis" in str(error.value)
    assert "rule 'journal', citation" in str(error.value)


def test_hold_naming_an_unknown_rule_is_rejected(tmp_path):
    """A processor that holds under a rule the file does not define fails at load."""
    data = demo_data()
    data["processors"][2]["holds"] = ["tax"]

    with pytest.raises(PolicyError, match="unknown rule 'tax'"):
        load_policy("demo", write(tmp_path, "demo", data), KNOWN)


def test_missing_controller_lists_the_available_ones(tmp_path):
    """Asking for a controller with no file says which files there are."""
    write(tmp_path, "demo", demo_data())

    with pytest.raises(PolicyError, match=r"no policy for controller 'nope'.*\['demo'\]"):
        load_policy("nope", tmp_path, KNOWN)


def test_malformed_yaml_is_a_policy_error(tmp_path):
    """A file that is not YAML fails with the file's name."""
    (tmp_path / "demo.yaml").write_text("controller: [demo\n")

    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy("demo", tmp_path, KNOWN)


CHAINS = ("aktiv365", "k24", "spenst", "mova", "vekstly")
ALL_KNOWN = KNOWN | {"eziteq", "fixit", "lifevision", "stripe", "credicare", "manual", "crm", "imagebank", "access",
                     "app"}


def copy_with(tmp_path: Path, controller: str, old: str, new: str) -> tuple[Path, int]:
    """The chain's file copied with one text replaced; the directory and the line the change is on."""
    text = (CONTROLLERS / f"{controller}.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / f"{controller}.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path, text[:text.index(old)].count("\n") + 1


@pytest.mark.parametrize("controller", CHAINS)
def test_every_chain_loads_with_a_citation_per_rule_and_a_reason_per_assumption(controller):
    """Each chain's file loads against every processor slett has; rules cite, assumptions explain."""
    policy = load_policy(controller, CONTROLLERS, ALL_KNOWN)

    assert all(len(rule.citation) > 20 for rule in policy.retention)
    assert all(p.reason for p in policy.processors if p.assumption)
    assert policy.membership == policy.erasure_order()[-1].system


def test_the_seeds_without_named_systems_are_marked_as_assumptions():
    """Spenst's and MOVA's membership systems and MOVA's journal are named by no seed: assumptions."""
    spenst = load_policy("spenst", CONTROLLERS, ALL_KNOWN)
    mova = load_policy("mova", CONTROLLERS, ALL_KNOWN)

    assert [("exceline", True)] == [(p.system, p.assumption) for p in spenst.processors if p.role == "membership"]
    assert {("exceline", True), ("physica", True)} == {(p.system, p.assumption) for p in mova.processors
                                                        if p.role in ("membership", "journal")}


def test_suppliers_without_an_api_are_named_and_each_is_its_own_step():
    """Aktiv365's three suppliers with no API share the `manual` connector but are three steps, by name."""
    policy = load_policy("aktiv365", CONTROLLERS, ALL_KNOWN)

    manual = [(p.key, p.supplier) for p in policy.processors if p.system == "manual"]
    assert [("manual-kalibrert-as", "Kalibrert AS"), ("manual-apility-as", "Apility AS"),
            ("manual-relisec-as", "Relisec AS")] == manual
    assert "credicare" == policy.processor("credicare").key
    # Credicare invoices every member for the chain, as its processor: a step whether or not a claim is owed.
    assert "credicare" in [p.key for p in policy.erasure_order(in_collection=False)]
    assert "credicare" in [p.key for p in policy.erasure_order(in_collection=True)]


def test_credicare_is_a_processor_holding_its_invoicing_copy_under_bookkeeping_from_the_membership_dates():
    """Aktiv365's Credicare: for every member, its copy of the invoicing data restricted under the bookkeeping
    rule with the fields the sales document keeps, its dates the membership system's; dates_from is refused
    for a processor with an API, which reports its own."""
    credicare = load_policy("aktiv365", CONTROLLERS, ALL_KNOWN).processor("credicare")

    assert ("always", "restrict", "membership", ("bookkeeping",)) == (credicare.when, credicare.action,
                                                                      credicare.dates_from, credicare.holds)
    assert ("invoices", "restrict", "bookkeeping") == (credicare.data[0].category, credicare.data[0].action,
                                                       credicare.data[0].rule)
    with pytest.raises(ValidationError, match="dates_from is for a processor with no API"):
        ProcessorRule(system="nets", role="payment", action="delete", dates_from="membership")


def test_a_negative_period_names_the_file_the_line_and_the_rule(tmp_path):
    """"-P2Y" for Spenst's purchases fails at load: the message points at the file, the line and the rule."""
    directory, line = copy_with(tmp_path, "spenst", "    period: P2Y\n", "    period: -P2Y\n")

    with pytest.raises(PolicyError) as error:
        load_policy("spenst", directory, ALL_KNOWN)

    assert f"spenst.yaml, line {line}, rule 'purchases', period: period must be positive (got -P2Y)" in str(error.value)


def test_an_unknown_processor_names_the_file_and_the_line(tmp_path):
    """A system slett has no connector for is refused where it is written."""
    directory, line = copy_with(tmp_path, "k24", "  - system: lifevision", "  - system: smsbuddy")

    with pytest.raises(PolicyError) as error:
        load_policy("k24", directory, ALL_KNOWN)

    assert f"k24.yaml, line {line}, processor 'smsbuddy', system: unknown processor 'smsbuddy'" in str(error.value)


def test_an_unknown_basis_names_the_line_and_the_rule(tmp_path):
    """A legal basis slett does not know is refused with its line and rule."""
    directory, line = copy_with(tmp_path, "mova", "    basis: gdpr-6-1-f\n", "    basis: because\n")

    with pytest.raises(PolicyError) as error:
        load_policy("mova", directory, ALL_KNOWN)

    assert f"mova.yaml, line {line}, rule 'exclusion', basis:" in str(error.value)


def test_a_missing_citation_names_the_rule_where_it_starts(tmp_path):
    """A rule with no citation is refused, pointing at the rule."""
    text = (CONTROLLERS / "vekstly.yaml").read_text(encoding="utf-8")
    cited = '    citation: "Hos oss lagres da informasjonen frem til betalingen har gått igjennom eller til ' \
            'angreretten går ut."\n'
    directory, _ = copy_with(tmp_path, "vekstly", cited, "")
    line = text[:text.index("  - name: withdrawal")].count("\n") + 1

    with pytest.raises(PolicyError) as error:
        load_policy("vekstly", directory, ALL_KNOWN)

    assert f"vekstly.yaml, line {line}, rule 'withdrawal', citation: Field required" in str(error.value)


def test_a_supplier_without_an_api_needs_its_name_and_a_time_to_confirm(tmp_path):
    """A `manual` processor without the real supplier's name is refused: a person must know whom to call."""
    directory, line = copy_with(tmp_path, "aktiv365", "    supplier: Apility AS\n", "")

    with pytest.raises(PolicyError) as error:
        load_policy("aktiv365", directory, ALL_KNOWN)

    assert f"aktiv365.yaml, line {line - 1}, processor 'manual'" in str(error.value)
    assert "supplier is required" in str(error.value)


def test_a_purge_of_a_system_the_chain_does_not_use_is_refused(tmp_path):
    """A rolling purge can only name the chain's own processors."""
    directory, line = copy_with(tmp_path, "aktiv365", "systems: [exceline, ibooking, fixit]",
                                "systems: [exceline, eziteq, fixit]")

    with pytest.raises(PolicyError) as error:
        load_policy("aktiv365", directory, ALL_KNOWN)

    assert f"aktiv365.yaml, line {line}, purge 'guests', systems.1: 'eziteq' is not a processor" in str(error.value)


def test_a_claim_kept_until_settled_needs_a_recheck(tmp_path):
    """until_settled without a recheck period is refused: slett must know when to look again."""
    directory, _ = copy_with(tmp_path, "mova", "    recheck: P3Y\n", "")

    with pytest.raises(PolicyError, match=r"rule 'claim'.*until_settled needs recheck"):
        load_policy("mova", directory, ALL_KNOWN)


def test_a_claim_in_collection_is_waited_for_only_where_the_chain_keeps_no_claims():
    """Spenst promises erasure three months after everything is settled, so it waits; Aktiv365 keeps the
    claim under a hold instead; an open invoice makes every chain wait."""
    spenst = load_policy("spenst", CONTROLLERS, ALL_KNOWN)
    aktiv365 = load_policy("aktiv365", CONTROLLERS, ALL_KNOWN)

    assert (True, False) == (spenst.waits_for_settlement(1, True), aktiv365.waits_for_settlement(1, True))
    assert (True, True) == (spenst.waits_for_settlement(1, False), aktiv365.waits_for_settlement(1, False))
    assert (False, False) == (spenst.waits_for_settlement(0, False), aktiv365.waits_for_settlement(0, False))


def test_a_bookkeeping_rule_shorter_than_the_law_is_refused(tmp_path):
    """A rule under bokføringsloven § 13 that keeps less than five years (primary) or three and a half
    (secondary, contracts) from the financial year's end is refused where it is written."""
    directory, line = copy_with(tmp_path, "k24", "    period: P3Y6M\n", "    period: P3Y\n")

    with pytest.raises(PolicyError) as error:
        load_policy("k24", directory, ALL_KNOWN)

    assert (f"k24.yaml, line {line - 3}, rule 'contract': bokforingsloven-13-secondary keeps at least P3Y6M "
            "from the end of the financial year (got P3Y from contract_year_end)") in str(error.value)


@pytest.mark.parametrize("controller", ["k24", "mova"])
def test_a_claim_in_collection_notifies_the_collector_in_a_manual_step(controller):
    """K24 and MOVA name no debt collector: a manual step (an assumption) sends the Art. 19 notice, and only
    for a claim in collection, before the membership system."""
    policy = load_policy(controller, CONTROLLERS, ALL_KNOWN)

    collector = policy.processor("manual-inkassoselskapet")
    assert ("notify", "in_collection", True) == (collector.action, collector.when, collector.assumption)
    assert "manual-inkassoselskapet" not in [p.key for p in policy.erasure_order(in_collection=False)]
    assert ["manual-inkassoselskapet", policy.membership] == [p.key for p in policy.erasure_order(True)][-2:]


def test_vekstly_keeps_the_stripe_payments_under_bokforingsloven():
    """Vekstly's seed: "informasjon knyttet til salg, som vi er pliktig til å regnskapsføre og oppbevare i
    henhold til bokføringsloven": Stripe's payments are held five years after the financial year."""
    policy = load_policy("vekstly", CONTROLLERS, ALL_KNOWN)

    rule = policy.rule("bookkeeping")
    assert ("bokforingsloven-13", "P5Y", ("payments",)) == (rule.basis.value, str(rule.period), rule.categories)
    assert "bookkeeping" in policy.processor("stripe").holds
    seed = (PROJECT_ROOT.parent / "shared" / "seeds" / "004_b3f1aad174293db9.txt")
    if seed.is_file():
        assert rule.citation in seed.read_text(encoding="utf-8")


def test_record_of_processing_refuses_a_processor_slett_has_no_connector_for(tmp_path, monkeypatch, capsys):
    """`slett record-of-processing` checks the policy against slett's connectors, as a run does: a processor
    with no connector is named, with its line, and the command exits 2."""
    directory, line = copy_with(tmp_path, "k24", "  - system: lifevision", "  - system: smsbuddy")
    monkeypatch.setenv("SLETT_CONTROLLERS_DIR", str(directory))

    assert 2 == main(["record-of-processing", "--controller", "k24"])
    assert f"k24.yaml, line {line}, processor 'smsbuddy', system: unknown processor 'smsbuddy'" in (
        capsys.readouterr().out)
