"""The member's letter: what was erased where, what is kept under which law until when, how to complain."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from prefect import get_client
from prefect.states import Cancelled

from config.holds import Hold
from domain.values import Evidence, Extension, Kind, Request, Step
from evidence.letter import render_letter
from tests.evidence.conftest import create
from tests.evidence.test_register import slett

RECEIVED = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def evidence(*steps: Step, holds: tuple[Hold, ...] = (), status: str = "done") -> Evidence:
    request = Request("req-1", "demo", "M424242", Kind.ERASURE, "sr-0123456789abcdef01234567", RECEIVED,
                      date(2026, 2, 28))
    return Evidence(request, status, steps, holds, datetime(2026, 2, 10, 12, 0, tzinfo=UTC))


BOOKKEEPING = Hold("exceline", "bookkeeping", ("invoices", "payments"), "bokforingsloven-13",
                   "bokføringsloven §13 (primary documentation, 5 years)", date(2031, 12, 31), False)
JOURNAL = Hold("physica", "journal", ("physiotherapy journal",), "pasientjournalloven-25",
               "pasientjournalloven § 25", date(2035, 11, 20), True)


def test_letter_says_what_went_and_what_is_kept_until_when_in_both_languages():
    """Both halves name each processor's outcome, each hold's law (in the half's own language) and last day,
    and Datatilsynet."""
    letter = render_letter(evidence(Step("ibooking", "booking", "delete", "erased", True, 1),
                                    Step("exceline", "membership", "anonymise", "anonymised", True, 1,
                                         retain_until=date(2031, 12, 31)),
                                    Step("physica", "journal", "restrict", "restricted", True, 1,
                                         retain_until=date(2035, 11, 20)),
                                    holds=(BOOKKEEPING, JOURNAL)), chain="Demo Trening AS")

    nb, en = letter.split("\n---\n")
    assert "# Svar på din henvendelse om sletting · Demo Trening AS" in nb
    assert "- bookingsystemet (ibooking): slettet" in nb
    assert ("- Fakturaer, betalinger i medlemssystemet (exceline): etter bokføringsloven § 13 "
            "(primærdokumentasjon, minst 5 år); GDPR art. 17 nr. 3 bokstav b, til og med 31.12.2031") in nb
    assert "pasientjournalloven § 25" in nb
    assert "primary documentation" not in nb
    assert "slettes aldri automatisk" in nb and "20.11.2035" in nb
    assert "- booking system (ibooking): deleted" in en
    assert "under bokføringsloven §13 (primary documentation, 5 years), until 31 December 2031" in en
    assert "Answered 10 February 2026." in en
    assert all("Datatilsynet" in half and "Postboks 458 Sentrum, 0105 Oslo" in half for half in (nb, en))
    assert "M424242" not in letter


def test_restricted_or_refused_with_no_end_date_has_its_own_section():
    """A step restricted or refused with no end date is listed as restricted in both languages, not among
    what was deleted."""
    letter = render_letter(evidence(Step("ibooking", "booking", "delete", "erased", True, 1),
                                    Step("physica", "journal", "restrict", "restricted", True, 1),
                                    Step("nets", "payment", "delete", "refused", True, 1)))

    nb, en = letter.split("\n---\n")
    erased_nb, _, limited_nb = nb.partition("Dette har vi begrenset")
    erased_en, _, limited_en = en.partition("This we have restricted")
    assert ("- bookingsystemet (ibooking): slettet" in erased_nb, "physica" in erased_nb) == (True, False)
    assert "- fysioterapijournalen (physica): begrenset (sperret)" in limited_nb
    assert "- betalingsløsningen (nets): beholdt etter lovkrav" in limited_nb
    assert ("physica" in erased_en, "nets" in erased_en) == (False, False)
    assert ("- physiotherapy journal (physica): restricted" in limited_en
            and "- payment provider (nets): kept by law" in limited_en)


def test_letter_says_what_is_not_finished_and_the_extended_deadline():
    """A step that failed is listed as not finished, and an extended deadline is given with its reason."""
    extension = Extension("req-1", date(2026, 2, 28), date(2026, 4, 30), "many processors", "dpo", RECEIVED)

    letter = render_letter(evidence(Step("ibooking", "booking", "delete", "failed", False, 3), status="failed"),
                           extension=extension)

    nb, en = letter.split("\n---\n")
    assert "Dette er ikke ferdig ennå:" in nb and "- bookingsystemet (ibooking): ikke fullført" in nb
    assert "deadline 30 April 2026 (extended from 28 February 2026 because: many processors)" in en
    assert "Answered" not in en


@pytest.mark.slow
async def test_letter_command_prints_the_members_letter(finished, capsys):
    """`slett letter <request>` prints the letter of a finished request, with its holds and dates and no
    personal data; --lang en prints the English half only."""
    evidence_ = await finished.run.result()

    assert 0 == await slett("letter", finished.request_id)
    letter = capsys.readouterr().out
    assert 0 == await slett("letter", finished.request_id, "--lang", "en")
    english = capsys.readouterr().out

    assert letter.startswith("# Svar på din henvendelse om sletting · Demo Trening AS")
    assert english.startswith("# Answer to your erasure request · Demo Trening AS") and "Svar" not in english
    for hold in evidence_.holds:
        assert f"{hold.retain_until:%d.%m.%Y}" in letter and hold.citation in letter
    assert evidence_.request.subject_ref in letter
    assert [] == [value for value in finished.personal_values if value in letter]


@pytest.mark.slow
async def test_letter_command_says_when_there_is_none_yet(deployments, capsys):
    """A request whose run has not finished has no letter yet, and the command says so."""
    request_id = f"ev-letter-{uuid4().hex[:8]}"
    queued = await create(deployments["erase-member"], "M1001", request_id)
    try:
        assert 1 == await slett("letter", request_id)
    finally:
        async with get_client() as client:
            await client.set_flow_run_state(queued.id, Cancelled(), force=True)

    assert f"no letter for request {request_id}" in capsys.readouterr().out


def test_every_category_and_basis_a_chain_keeps_has_norwegian_words():
    """The Norwegian half never falls back to an English category or legal citation: each chain's retention
    rules use words the letter has in Norwegian."""
    from config.policy import load_policy
    from config.settings import PROJECT_ROOT
    from evidence.letter import words

    directory = PROJECT_ROOT / "config" / "controllers"
    rules = [rule for path in sorted(directory.glob("*.yaml")) for rule in load_policy(path.stem, directory).retention]

    assert [] == sorted({c for rule in rules for c in rule.categories} - set(words("nb").categories))
    assert [] == sorted({rule.basis.value for rule in rules} - set(words("nb").bases))


def test_the_withdrawal_letter_says_marketing_stopped_the_suppression_entry_and_what_is_untouched():
    """Both halves name where marketing stopped, the suppression entry (a keyed checksum, not the address or
    number) and every system left as it was, the membership system with its consents only; no member id."""
    from evidence.letter import render_withdrawal_letter

    request = Request("demo-sr-1-withdrawal-1", "demo", "M424242", Kind.WITHDRAWAL, "sr-0123456789abcdef01234567",
                      RECEIVED, date(2026, 2, 28))
    steps = (Step("mailchimp", "marketing", "delete", "erased", True, 1),
             Step("exceline-marketing", "marketing", "withdraw", "erased", True, 1))
    letter = render_withdrawal_letter(Evidence(request, "done", steps, (), datetime(2026, 2, 1, tzinfo=UTC)),
                                      "Demo Trening AS", [("booking", "ibooking"), ("membership", "exceline")],
                                      ("email", "phone"))

    nb, en = letter.split("\n---\n")
    assert "# Svar på at du trakk samtykket til markedsføring · Demo Trening AS" in nb
    assert "- markedsføring (mailchimp): slettet" in nb
    assert "nøkkelbasert kontrollsum (e-post, telefon)" in nb
    assert "- bookingsystemet (ibooking)\n" in nb
    assert "- medlemssystemet (exceline): bare markedsføringssamtykkene er trukket tilbake" in nb
    assert "We have stopped all marketing to you, in every system at once" in en
    assert "- membership system (exceline): only the marketing consents were withdrawn" in en
    assert "a keyed checksum (e-mail, phone)" in en
    assert all("Datatilsynet" in half for half in (nb, en))
    assert "M424242" not in letter
