"""A chain's data map: per processor, each category's fate at erasure, the rule that holds it and the fields kept."""

from __future__ import annotations

import pytest

from config.holds import Clocks, holds_for
from config.policy import PolicyError, UnknownCategory, check_categories, load_policy
from connectors.described import descriptions
from tests.config.test_policy import ALL_KNOWN, CHAINS, CONTROLLERS, copy_with

JOURNAL = """      - category: journal        # never deleted, anonymised or de-identified: restricted, then reviewed
        action: review"""


def failure(tmp_path, controller: str, old: str, new: str) -> tuple[str, int]:
    directory, line = copy_with(tmp_path, controller, old, new)
    with pytest.raises(PolicyError) as error:
        load_policy(controller, directory, ALL_KNOWN)
    return str(error.value), line


def test_a_policy_that_anonymises_a_journal_fails_at_load(tmp_path):
    """K24's Eziteq journal notes planned `anonymise` fail at load: file, line, processor and category named."""
    eziteq = JOURNAL + "\n        rule: journal\n        keeps: [patient_name, patient_birth_date, patient_address, " \
        "notes, author, written_on]\n      - category: claim"
    message, line = failure(tmp_path, "k24", eziteq, eziteq.replace("action: review", "action: anonymise"))

    assert f"k24.yaml, line {line}, processor 'eziteq', category 'journal'" in message
    assert "a journal is never anonymised or de-identified by slett" in message


def test_a_policy_that_deletes_a_journal_fails_at_load(tmp_path):
    """MOVA's Physica journal planned `delete` fails at load, whatever the policy file says."""
    message, _ = failure(tmp_path, "mova", JOURNAL, JOURNAL.replace("action: review", "action: delete"))

    assert "processor 'physica', category 'journal'" in message
    assert "a journal is never deleted by slett" in message


def test_a_journal_system_is_never_deleted_as_a_whole(tmp_path):
    """A journal system whose processor action is `delete` fails at load."""
    message, _ = failure(tmp_path, "demo", "    role: journal\n    action: restrict",
                         "    role: journal\n    action: delete")

    assert "processor 'physica'" in message and "never deleted" in message


def test_a_held_category_lists_the_fields_it_keeps(tmp_path):
    """A held invoice category with no `keeps` fails at load: a hold keeps named fields and nothing more."""
    message, line = failure(tmp_path, "spenst",
                            "        keeps: [invoice_number, invoice_date, due_date, amount, kid, buyer_name, "
                            "buyer_address]\n", "")

    assert f"spenst.yaml, line {line - 3}, processor 'exceline', category 'invoices'" in message
    assert "held under rule 'bookkeeping': list the fields the hold keeps" in message


def test_a_category_no_rule_holds_is_erased_at_the_erasure_step(tmp_path):
    """Restricting a category no rule holds (the visits) fails at load: it must be deleted or anonymised."""
    message, _ = failure(tmp_path, "aktiv365", "      - category: visits\n        action: delete",
                         "      - category: visits\n        action: restrict")

    assert "processor 'exceline', category 'visits'" in message
    assert "a category no rule holds is erased at the erasure step" in message


def test_no_category_is_both_held_and_anonymised(tmp_path):
    """Anonymising the invoices bookkeeping holds fails at load: a held category keeps its fields, restricted."""
    old = "        action: restrict\n        rule: bookkeeping\n        keeps: [invoice_number"
    message, _ = failure(tmp_path, "mova", old, old.replace("restrict", "anonymise"))

    assert "processor 'exceline', category 'invoices'" in message
    assert "held under rule 'bookkeeping' and anonymised" in message


def test_a_category_held_under_an_unknown_rule_is_named(tmp_path):
    """A category held under a rule the file does not define fails at load with the rule's name."""
    message, _ = failure(tmp_path, "vekstly", "        rule: withdrawal\n", "        rule: angrefrist\n")

    assert "processor 'stripe', category 'customer', rule: held under unknown rule 'angrefrist'" in message


def test_a_rule_holds_one_category_per_processor(tmp_path):
    """Two categories held under one rule at a processor fail at load: each hold has its own date."""
    old = "      - category: purchases      # kept to warn the member of a harmful product (\"varsle deg\")\n" \
          "        action: restrict\n        rule: purchases"
    message, _ = failure(tmp_path, "spenst", old, old.replace("rule: purchases", "rule: bookkeeping"))

    assert "rule 'bookkeeping' holds two categories here" in message


@pytest.mark.parametrize("controller", CHAINS)
def test_every_processor_with_an_api_has_a_data_map_and_held_categories_keep_fields(controller):
    """Each chain maps every processor slett reaches by API; what is held keeps named fields, the rest goes."""
    policy = load_policy(controller, CONTROLLERS, ALL_KNOWN)

    api = [p for p in policy.processors if p.system not in ("manual", "credicare")]
    assert [] == [p.key for p in api if not p.data]
    for processor in api:
        for category in processor.data:
            assert (category.rule is not None) == bool(category.keeps)
            assert category.held == (category.action in ("restrict", "review"))


def test_held_invoices_keep_the_buyer_and_nothing_else_in_every_chain():
    """Every chain's held invoices keep buyer name and address (bokføringsforskriften § 5-1-1), not the phone,
    e-mail, photo, visits or consents."""
    for controller in (*CHAINS, "demo"):
        policy = load_policy(controller, CONTROLLERS, ALL_KNOWN)
        for processor in policy.processors:
            if invoices := processor.category("invoices"):
                assert {"buyer_name", "buyer_address"} <= set(invoices.keeps)
                assert set() == set(invoices.keeps) & {"buyer_phone", "buyer_email", "photo", "visits", "consents"}


def test_a_category_the_data_map_does_not_know_stops_the_request():
    """A processor reporting a category the chain did not map stops the request with what to add, and where."""
    policy = load_policy("k24", CONTROLLERS, ALL_KNOWN)

    with pytest.raises(UnknownCategory) as error:
        check_categories(policy, "eziteq", frozenset({"profile", "body measurements"}))

    assert "eziteq holds ['body measurements'], which the chain's data map does not name" in str(error.value)
    assert "config/controllers/k24.yaml" in str(error.value)
    check_categories(policy, "eziteq", frozenset({"profile", "journal", "claim"}))


def test_a_hold_is_one_category_with_exactly_its_fields():
    """K24's Eziteq holds: the journal keeps the patient's identity, the claim the debtor's, each its own hold."""
    policy = load_policy("k24", CONTROLLERS, ALL_KNOWN)
    from datetime import date

    holds = {h.rule: h for h in holds_for(policy, "eziteq", Clocks(
        bookkeeping_entries=(date(2026, 1, 1),), last_journal_entry=date(2025, 11, 3), claim_due=date(2025, 11, 15)))}

    assert ("journal", ("journal",)) == (holds["journal"].category, holds["journal"].categories)
    assert {"patient_name", "patient_birth_date", "patient_address"} <= set(holds["journal"].fields)
    assert ("claim", date(2028, 11, 15)) == (holds["claim"].category, holds["claim"].retain_until)
    assert "debtor_name" in holds["claim"].fields and "buyer_phone" not in holds["invoices" and "bookkeeping"].fields


def test_every_category_a_chain_maps_at_a_described_processor_is_described_with_its_action():
    """For Ibooking, Fixit, LifeVision and Physica, each category a chain's data map names is described in the
    processor's file with a call for the action the map plans (a review restricts, and only a review-only
    category is reviewed), and every field a hold keeps is one the description reads back."""
    described = descriptions()
    problems = []
    for path in sorted(CONTROLLERS.glob("*.yaml")):
        for processor in load_policy(path.stem, CONTROLLERS, ALL_KNOWN).processors:
            for category in processor.data if processor.system in described else ():
                where = f"{path.stem}: {processor.system} {category.category}"
                found = described[processor.system].categories.get(category.category)
                action = "restrict" if category.action == "review" else category.action
                if found is None or action not in found.calls():
                    problems.append(f"{where}: no {action} call described")
                elif found.review_only != (category.action == "review"):
                    problems.append(f"{where}: review-only is {found.review_only}, the map plans {category.action}")
                elif unread := sorted(set(category.keeps) - set(found.fields)):
                    problems.append(f"{where}: keeps {unread}, which the description does not read back")

    assert [] == problems
