"""The member's letter per category: what went from each system, and which fields each hold keeps, in both
languages; a letter for evidence written before data maps still renders."""

from __future__ import annotations

from dataclasses import replace

from config.policy import load_policy
from config.settings import PROJECT_ROOT
from connectors.contract import CategoryResult
from evidence.letter import render_letter, words
from tests.config.test_in_flight import written

ERASED = (CategoryResult("profile", "anonymise", "anonymised", True),
          CategoryResult("consents", "withdraw", "erased", True),
          CategoryResult("invoices", "restrict", "restricted", True, ("buyer_name", "buyer_address"), "bookkeeping"))


def test_the_letter_names_each_category_and_the_fields_a_hold_keeps_in_both_languages():
    """The consents withdrawn and the profile anonymised are listed under the membership system; the held
    invoices say they keep only the invoice number and the buyer's name and address, in Norwegian and English."""
    evidence = written("results.pickle")["evidence"]
    step = replace(evidence.steps[0], categories=ERASED)
    hold = replace(evidence.holds[0], categories=("invoices",), category="invoices",
                   fields=("invoice_number", "buyer_name", "buyer_address"))

    letter = render_letter(replace(evidence, steps=(step,), holds=(hold,)), "Aktiv365")

    assert "  - Samtykker til markedsføring: trukket tilbake" in letter
    assert "  - Marketing consents: withdrawn" in letter
    assert "vi beholder bare fakturanummer, navnet ditt som kjøper, adressen din som kjøper" in letter
    assert "we keep only invoice number, your name as buyer, your address as buyer" in letter
    assert "Invoices: restrict" not in letter  # a held category is told under what is kept, not as erased


def test_a_letter_from_evidence_written_before_data_maps_has_no_category_lines():
    """Evidence pickled by the previous code renders as it did: one line per system, holds without fields."""
    letter = render_letter(written("results.pickle")["evidence"], "Aktiv365")

    assert "- membership system (exceline): anonymised\n\n" in letter
    assert "we keep only" not in letter


def test_every_field_a_chain_keeps_has_words_in_both_languages():
    """Each field a data map's hold keeps (Stripe's billing e-mail and phone included) is told to the member in
    Norwegian and English, never by its internal name."""
    directory = PROJECT_ROOT / "config" / "controllers"
    policies = [load_policy(path.stem, directory) for path in sorted(directory.glob("*.yaml"))]
    kept = {name for policy in policies for processor in policy.processors for category in processor.data
            for name in category.keeps}

    assert ([], []) == (sorted(kept - set(words("nb").fields)), sorted(kept - set(words("en").fields)))


def test_a_held_stripe_payment_tells_what_stripe_cannot_remove():
    """The letter for a held Stripe charge names what the hold keeps, the billing e-mail included, with why it
    stays (Stripe removes it only when the payment is redacted), in both languages."""
    evidence = written("results.pickle")["evidence"]
    hold = replace(evidence.holds[0], system="stripe", categories=("payments",), category="payments",
                   fields=("charge_id", "amount", "billing_name", "billing_email"))

    letter = render_letter(replace(evidence, holds=(hold,)), "Vekstly")

    assert "betalingsnummer, beløp, fakturanavnet ditt, e-postadressen din på betalingen (Stripe kan ikke fjerne " \
           "den før betalingen sladdes)" in letter
    assert "your e-mail address on the payment (Stripe cannot remove it until the payment is redacted)" in letter
