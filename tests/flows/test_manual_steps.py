"""Manual steps: the form's answer keeps no member contact details, and its key names the step."""

from __future__ import annotations

from datetime import date

from flows.manual_steps import ManualConfirmation
from queries.runs import confirmation_key, step_of_key


def test_contact_details_typed_into_the_form_are_blanked():
    """An e-mail address or phone number typed by mistake never reaches the evidence."""
    answer = ManualConfirmation(confirmed_by="Kari Drift", done_on=date(2026, 11, 23),
                                what_was_done="deleted kari.testesen@example.no, +47 912 34 567 from the CRM")

    assert "deleted [redacted] [redacted] from the CRM" == answer.what_was_done


def test_a_confirmation_key_names_the_step_and_the_attempt():
    """The key a run suspends with gives back its step, whichever time it is asked; other keys give none."""
    assert "manual-kalibrert-as" == step_of_key(confirmation_key("manual-kalibrert-as"))
    assert "credicare" == step_of_key(confirmation_key("credicare", attempt=3))
    assert (None, None) == (step_of_key("settlement-1"), step_of_key(None))
