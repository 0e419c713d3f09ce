"""Work in flight when slett learnt data maps: results and holds the previous code wrote still load and release.

The files in written_by_0_1/ were pickled by the code before data maps (commit d3b4df0), as Prefect's result
store holds them for a suspended run's cached steps and a scheduled release's evidence.
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from config.holds import Clocks, clocks_of, holds_for
from config.policy import load_policy
from connectors.contract import RetentionFacts
from domain.values import Extension
from evidence.letter import render_letter
from tasks.evidence import evidence_rows
from tests.config.test_policy import ALL_KNOWN, CONTROLLERS

WRITTEN = Path(__file__).parent / "written_by_0_1"


def written(name: str) -> Any:
    """A file the previous code pickled, committed with these tests (not outside input)."""
    return pickle.loads((WRITTEN / name).read_bytes())  # noqa: S301


def test_holds_written_before_data_maps_load_with_no_category_and_release_their_rules_categories():
    """A bookkeeping and a claim hold pickled by the previous code load: no category, no fields, no check day;
    each keeps its key (its release run's name) and its rule's categories, which its release deletes."""
    bookkeeping, claim = written("holds.pickle")

    assert ("", (), None) == (bookkeeping.category, bookkeeping.fields, bookkeeping.check_on)
    assert ("exceline-bookkeeping", date(2031, 12, 31)) == (bookkeeping.key, bookkeeping.release_day)
    assert ("invoices", "payments", "transactions", "customer ledger") == bookkeeping.categories
    assert ("exceline-claim", True) == (claim.key, claim.holds_record)


def test_a_cached_plan_and_evidence_from_before_data_maps_still_serve_the_run():
    """A suspended run's cached plan (no per-category erasures: the processor is erased as a block, as planned
    then) and a finished request's evidence (no category rows) load and render."""
    results = written("results.pickle")

    plan, evidence = results["plan"], results["evidence"]
    assert ((), (), ()) == (plan.erasures, plan.holdings.dated, results["outcome"].categories)
    assert "exceline" == plan.step and "invoices" in plan.holdings.categories
    assert "" == evidence_rows(evidence)[0]["categories"]
    assert "exceline" in render_letter(evidence, "Aktiv365")


def test_a_release_after_the_upgrade_holds_the_category_the_data_map_names():
    """The release run an old request scheduled (system and rule only) recomputes its hold from today's data
    map: the invoices, with the buyer's name and address kept, on the same day as before."""
    policy = load_policy("aktiv365", CONTROLLERS, ALL_KNOWN)
    old = written("holds.pickle")[0]

    [now] = [h for h in holds_for(policy, "exceline", Clocks(bookkeeping_entries=(date(2026, 1, 1),)))
             if h.rule == old.rule]

    assert (old.key, old.retain_until, old.records_through) == (now.key, now.retain_until, now.records_through)
    assert ("invoices", True) == (now.category, {"buyer_name", "buyer_address"} <= set(now.fields))


def test_an_extension_pickled_under_its_old_name_loads_as_the_moved_one():
    """An Art. 12(3) extension pickled while it lived in tasks/deadlines.py loads as domain.values.Extension."""
    extension = Extension("r1", date(2026, 1, 5), date(2026, 3, 5), "many processors", "dpo",
                          datetime(2026, 1, 2, 9, tzinfo=UTC))
    # Protocol 2 names a class by "module\nname", as a result written before the move names it.
    old = pickle.dumps(extension, protocol=2).replace(b"cdomain.values\nExtension", b"ctasks.deadlines\nExtension")

    assert b"tasks.deadlines" in old
    assert extension == pickle.loads(old)  # noqa: S301 - made by this test


def test_clocks_count_each_bookkeeping_entry_once_oldest_first():
    """The processor's invoices and transactions are one list of bookkeeping days, each day once, oldest first;
    the other dates are taken as reported."""
    facts = RetentionFacts(invoice_dates=(date(2025, 3, 1), date(2024, 1, 2)), transaction_dates=(date(2025, 3, 1),),
                           contract_end_dates=(date(2025, 6, 30),), last_journal_entry=date(2025, 5, 5))

    assert Clocks(bookkeeping_entries=(date(2024, 1, 2), date(2025, 3, 1)), contract_ends=(date(2025, 6, 30),),
                  last_journal_entry=date(2025, 5, 5)) == clocks_of(facts)
