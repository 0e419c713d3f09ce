"""Legal holds at a processor: the dates its records count from; the ledger keeps the holds themselves."""

from __future__ import annotations

from config.holds import Clocks
from connectors.contract import RetentionFacts, distinct_days


def clocks_of(facts: RetentionFacts) -> Clocks:
    """The dates a processor reported, as the clocks retention rules count from: each record's own."""
    return Clocks(bookkeeping_entries=distinct_days((*facts.invoice_dates, *facts.transaction_dates)),
                  contract_ends=facts.contract_end_dates, purchases=facts.purchase_dates,
                  recordings=facts.recording_dates, exclusion_ends=facts.exclusion_end_dates,
                  last_journal_entry=facts.last_journal_entry, claim_due=facts.claim_due,
                  last_payment=facts.last_payment_date)
