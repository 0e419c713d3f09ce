"""The letters before the answer (GDPR Art. 12(3)-(4)): the acknowledgment and the delay letter, in both
languages, by reference only, each sealed once into the ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from domain.values import Kind, Request, Step
from evidence.interim import ACKNOWLEDGMENT, DELAY, LETTER, PERSON, SETTLEMENT, Interim, render_interim
from evidence.ledger import NewRecord, open_ledger
from evidence.letter import words
from evidence.verify import verify_ledger

REQUEST = Request("req-1", "aktiv365", "M424242", Kind.TERMINATION, "sr-0123456789abcdef01234567",
                  datetime(2026, 4, 1, 9, 0, tzinfo=UTC), date(2026, 4, 7))
STOPPED = (Step("mailchimp", "marketing", "delete", "erased", None, 1),
           Step("manual-kalibrert-as", "marketing", "delete", "manual", None, 0, supplier="Kalibrert AS"),
           Step("exceline", "membership", "delete", "erased", True, 1))


def acknowledgment(*waits: str) -> Interim:
    return Interim.of(ACKNOWLEDGMENT, REQUEST, "Aktiv365", date(2026, 4, 7), date(2026, 4, 7), waits,
                      date(2026, 4, 1), STOPPED)


def delay() -> Interim:
    return Interim.of(DELAY, REQUEST, "Aktiv365", date(2026, 4, 7), date(2026, 7, 1), (SETTLEMENT,), date(2026, 4, 7))


def test_letters_exist_in_norwegian_and_english():
    """Both letters have a Norwegian half and an English half, each with every sentence its words file gives
    (the two files name the same sentences), the request by reference and no member id."""
    nb, en = words("nb"), words("en")

    halves = {kind: render_interim(letter).split("\n---\n") for kind, letter in (
        (ACKNOWLEDGMENT, acknowledgment(SETTLEMENT, PERSON)), (DELAY, delay()))}

    assert (sorted(en.acknowledgment), sorted(en.delay)) == (sorted(nb.acknowledgment), sorted(nb.delay))
    assert ["# Vi har mottatt henvendelsen din · Aktiv365", "# We have received your request · Aktiv365"] == [
        half.strip().splitlines()[0] for half in halves[ACKNOWLEDGMENT]]
    assert ["# Henvendelsen din tar lengre tid enn svarfristen · Aktiv365",
            "# Your request takes longer than its deadline · Aktiv365"] == [
        half.strip().splitlines()[0] for half in halves[DELAY]]
    for kind, (norwegian, english) in halves.items():
        assert (True, True) == (REQUEST.subject_ref in norwegian, REQUEST.subject_ref in english)
        assert "M424242" not in norwegian + english
        assert "Datatilsynet" in norwegian and "Datatilsynet" in english
        assert "svarfrist 07.04.2026" in norwegian and "deadline 7 April 2026" in english, kind


def test_acknowledgment_says_what_stopped_what_waits_and_by_when():
    """The acknowledgment says the request was received, where marketing stopped (a supplier with no API still
    waiting for a person), what waits and why (the final invoice), and the day the answer comes by."""
    norwegian, english = render_interim(acknowledgment(SETTLEMENT, PERSON)).split("\n---\n")

    assert "We received your erasure request on 1 April 2026 and have registered it." in english
    assert "- marketing (mailchimp): deleted" in english
    assert "- marketing (Kalibrert AS): awaiting manual confirmation" in english
    assert "- membership system (exceline): your marketing consents are withdrawn" in english
    assert "Your final invoice is not paid yet." in english and "At a supplier without an API" in english
    assert "You will have our answer by 7 April 2026." in english
    assert "Du får svar fra oss innen 07.04.2026." in norwegian and "Sluttfakturaen din er ikke betalt" in norwegian


def test_acknowledgment_with_nothing_to_wait_for_says_so():
    """With nothing owed and no person to wait for, the acknowledgment says the rest is erased now."""
    norwegian, english = render_interim(acknowledgment()).split("\n---\n")

    assert ("Ingenting venter: vi sletter resten nå." in norwegian, "Nothing waits: we erase the rest now." in english,
            "final invoice" in english) == (True, True, False)


def test_delay_letter_gives_the_reason_the_new_date_and_the_right_to_complain():
    """The delay letter (Art. 12(4)) says the deadline cannot be met, why, the new expected date, and that the
    member may complain to Datatilsynet."""
    norwegian, english = render_interim(delay()).split("\n---\n")

    assert "We cannot give you a final answer to your request of 1 April 2026 by its deadline, 7 April 2026." in english
    assert "Your final invoice is not paid." in english and "We now expect to finish by 1 July 2026" in english
    assert "You may complain to Datatilsynet" in english and "GDPR Art. 12(4)" in english
    assert "Vi regner med å være ferdige innen 01.07.2026" in norwegian and "art. 12 nr. 4" in norwegian


def test_delay_letter_for_a_persons_step_names_the_supplier_and_says_marketing_stops_there_once_done():
    """A delay letter sent as the run waits for a person's step at a marketing agency with no API names the agency in
    the reason, in both languages, and does not claim that marketing has already stopped everywhere."""
    letter = Interim.of(DELAY, REQUEST, "Aktiv365", date(2026, 4, 7), date(2026, 7, 1), (PERSON,), date(2026, 4, 7),
                        at=("Kalibrert AS",), marketing_waits=True)

    norwegian, english = render_interim(letter).split("\n---\n")

    assert ("- A step at Kalibrert AS, a supplier without an API, waits for one of our staff to carry it out and "
            "confirm it.") in english
    assert ("- Et steg hos Kalibrert AS, en leverandør uten API, venter på at en av våre medarbeidere utfører og "
            "bekrefter det.") in norwegian
    assert "Marketing has stopped everywhere else; at the supplier named above it stops" in english
    assert (False, False) == ("Marketing has already stopped." in english,
                              "Markedsføringen er allerede stanset." in norwegian)


def test_an_unknown_kind_of_letter_is_refused():
    """Only the two letters before the answer exist; another kind is refused, naming the two."""
    with pytest.raises(ValueError, match="acknowledgment, delay"):
        render_interim(Interim.of("reminder", REQUEST, "Aktiv365", date(2026, 4, 7), date(2026, 4, 7), (),
                                  date(2026, 4, 1)))


async def test_a_letter_is_sealed_once_even_when_two_writers_race(tmp_path: Path):
    """Two writers sealing the same request's delay letter at once leave one letter record; an acknowledgment of
    the same request is a letter of its own; the chain verifies."""
    ledger = await open_ledger(f"sqlite:///{tmp_path}/ledger.sqlite3")

    def record(letter: Interim) -> NewRecord:
        return NewRecord("aktiv365", LETTER, "req-1", "run-1", {"letter": letter.document()})

    def same(kind: str):
        return lambda sealed: sealed.body["evidence"]["letter"]["kind"] == kind

    racing = await asyncio.gather(*(ledger.seal_once(record(delay()), same(DELAY)) for _ in range(5)))
    acknowledged = await ledger.seal_once(record(acknowledgment()), same(ACKNOWLEDGMENT))

    stored = await ledger.records(request_id="req-1")
    assert 1 == sum(sealed is not None for sealed in racing)
    assert acknowledged is not None
    assert [DELAY, ACKNOWLEDGMENT] == [r.sealed.body["evidence"]["letter"]["kind"] for r in stored]
    assert [True] == [report.intact for report in await verify_ledger(ledger)]
