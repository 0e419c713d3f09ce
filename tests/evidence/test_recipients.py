"""GDPR Art. 19: every recipient a chain's policy names, and how and when the erasure reached it."""

from __future__ import annotations

from datetime import date

from config.policy import load_policy
from config.settings import PROJECT_ROOT
from connectors.registry import known_systems
from domain.values import Step, Told
from evidence.recipients import recipients_told

AKTIV365 = load_policy("aktiv365", PROJECT_ROOT / "config" / "controllers", known_systems())
FINISHED = date(2026, 12, 7)


def step(system: str, status: str, action: str = "delete", by: str | None = None, on: date | None = None) -> Step:
    return Step(system, "role", action, status, True, 1, confirmed_by=by, confirmed_on=on)


def test_evidence_lists_every_recipient_aktiv365_names_and_how_each_was_told():
    """Aktiv365's databehandlere: those with an API told by the erasure call itself on the day it finished, those
    without by the notice a person confirmed (who, the day), Credicare not involved without a claim in collection,
    and one whose step has not finished not yet told."""
    steps = (step("manual-kalibrert-as", "confirmed", by="Ola Drift", on=date(2026, 12, 3)),
             step("ibooking", "erased"), step("fixit", "already_absent"), step("nets", "failed"),
             step("manual-apility-as", "confirmed", by="Ola Drift", on=date(2026, 12, 4)),
             step("manual-relisec-as", "manual"), step("exceline", "anonymised", "anonymise"))

    told = {t.recipient: (t.how, t.on, t.by) for t in recipients_told(AKTIV365, steps, FINISHED)}

    assert {"Kalibrert AS": ("person", date(2026, 12, 3), "Ola Drift"), "ibooking": ("api", FINISHED, None),
            "fixit": ("api", FINISHED, None), "nets": ("not told", None, None),
            "Credicare AS": ("not told", None, None),
            "Apility AS": ("person", date(2026, 12, 4), "Ola Drift"), "Relisec AS": ("not told", None, None),
            "exceline": ("api", FINISHED, None)} == told


def test_where_only_marketing_went_the_membership_system_is_told_by_the_consents_own_call():
    """An answer while the membership runs withdraws the consents only: the membership system is told by that
    call, and the processors never reached say so."""
    steps = (step("manual-kalibrert-as", "confirmed", by="Ola Drift", on=FINISHED),
             step("exceline-marketing", "erased"))

    told = recipients_told(AKTIV365, steps, FINISHED)

    assert Told("exceline", "exceline-marketing", "api", FINISHED, detail="marketing consents erased") in told
    assert "not reached in this request" == next(t.detail for t in told if t.recipient == "ibooking")
