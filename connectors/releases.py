"""What processors keep under a hold, and the check a release makes before it deletes anything."""

from __future__ import annotations

from connectors.contract import Permanent

# The words a chain's policy and a processor's holdings use for records bookkeeping law keeps.
BOOKKEEPING = frozenset({"invoices", "invoice lines", "payments", "transactions", "customer ledger"})
JOURNAL = frozenset({"journal", "journal notes", "physiotherapy journal"})
JOURNAL_LAW = ("a patient journal is kept by law (helsepersonelloven §§ 39-40, pasientjournalloven § 25): "
               "a clinician reviews it; slett never deletes it")


def releasable(system: str, categories: tuple[str, ...], keeps: frozenset[str]) -> None:
    """Raise Permanent unless `categories` name records this processor keeps; a journal never qualifies."""
    wanted = {category.strip().lower() for category in categories}
    if journal := sorted(wanted & JOURNAL):
        raise Permanent(system, f"release of {journal} refused: {JOURNAL_LAW}")
    if not wanted & keeps:
        raise Permanent(system, f"keeps nothing under {sorted(wanted)}; a release here covers {sorted(keeps)}")
