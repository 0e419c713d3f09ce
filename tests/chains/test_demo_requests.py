"""The demo's requests: one per chain, a withdrawal of marketing consent, a legal hold set by a person, an erasure
request while the membership runs and one for an unknown member; each story running to the end it tells."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import httpx
import pytest

from cli.demo import changed_by_calls, ended_as_told, hold_arguments, letters, notes, sealed, suppression
from cli.main import main
from config.settings import load_settings
from domain.values import OSLO
from sandbox.demo_requests import DEMO_REQUESTS, DemoRequest
from sandbox.people import CHAIN_SEEDED, MEMBERSHIP_RUNS_UNTIL, RECORDED_THIS_WEEK
from sandbox.server import sandbox_app
from tests.flow_driver import pause_key


def only(story: str) -> DemoRequest:
    """The one demo request whose story begins so."""
    [asked] = [r for r in DEMO_REQUESTS if r.story.startswith(story)]
    return asked


LEGAL_HOLD = only("the police asked for the door camera's footage")
WHILE_MEMBER = only("the membership still runs")
UNKNOWN = only("a request that came by post")


def test_every_chain_has_a_demo_request_for_a_seeded_member():
    """Aktiv365, K24, Spenst, MOVA and Vekstly each have a request, and its member is in the sandbox's seed; only the
    unknown member's request names an id seeded nowhere."""
    seeded = {member_id for members in CHAIN_SEEDED.values() for member_id in members}

    assert {"aktiv365", "k24", "spenst", "mova", "vekstly"} == {r.controller for r in DEMO_REQUESTS}
    assert [UNKNOWN] == [r for r in DEMO_REQUESTS if r.member_id not in CHAIN_SEEDED.get(r.controller, {})]
    assert UNKNOWN.member_id not in seeded


def test_the_demo_shows_one_request_of_each_new_kind():
    """Besides the erasures and the withdrawal, the demo sets one legal hold with `slett hold`, sends one erasure
    request while the membership runs (with its letters printed), and starts one request for an unknown member from
    the erase-member form; no two demo requests are for the same member."""
    assert ([LEGAL_HOLD], [WHILE_MEMBER], [UNKNOWN]) == (
        [r for r in DEMO_REQUESTS if r.legal_hold], [r for r in DEMO_REQUESTS if r.kind == "erasure" and r.letters],
        [r for r in DEMO_REQUESTS if r.by_form])
    assert len(DEMO_REQUESTS) == len({r.member_id for r in DEMO_REQUESTS})


def test_the_demo_shows_one_withdrawal_of_marketing_consent():
    """Besides the erasures, the demo sends one marketing.withdrawn, for a member no other demo request erases."""
    withdrawals = [r for r in DEMO_REQUESTS if r.kind == "withdrawal"]

    assert 1 == len(withdrawals)
    assert [] == [r for r in DEMO_REQUESTS if r.kind != "withdrawal" and r.member_id == withdrawals[0].member_id]


async def test_the_demo_withdrawal_prints_its_suppression_entry_and_what_it_left_untouched(sandbox, flows):
    """The demo's withdrawal completes; what the demo prints of it names the keyed references entered (never the
    address or number) and every system left untouched."""
    [asked] = [r for r in DEMO_REQUESTS if r.kind == "withdrawal"]

    run = await flows.withdraw(asked.controller, asked.member_id)
    printed = await suppression(load_settings().ledger_url, run.flow_run.parameters["request_id"])

    assert "COMPLETED" == run.state_name
    assert ["email cr-", "phone cr-"] == [part.strip()[:9] for part in printed.split(": ", 1)[1].split("\n")[0]
                                          .split(",")]
    assert "not touched: physica, nets, manual-inkassoselskapet, eziteq" in printed
    assert [] == [value for value in sandbox.member(asked.member_id).personal_values() if value in printed]


@pytest.mark.parametrize("request_", [r for r in DEMO_REQUESTS if r.kind != "withdrawal" and r.ends == "COMPLETED"],
                         ids=lambda r: f"{r.controller}-{r.member_id}")
async def test_each_demo_request_completes_as_its_story_says(sandbox, flows, request_):
    """Run as the demo will: set the legal hold first when asked, pay the open invoice when asked, confirm the manual
    steps when asked."""
    if request_.legal_hold:
        assert 0 == await asyncio.to_thread(main, hold_arguments(request_, datetime.now(OSLO).date()))
    run = await flows.erase(request_.controller, request_.member_id, kind=request_.kind)
    if request_.settles:
        assert ("SUSPENDED", "settlement-1") == (run.state_name, pause_key(run))
        sandbox.settle(request_.member_id)
        run = await flows.resume(run, {"confirmed_by": "slett demo"})
    if request_.confirms:
        run, steps = await flows.confirm_all(run)
        assert steps

    assert "COMPLETED" == run.state_name


async def test_the_demo_legal_hold_keeps_this_weeks_footage_restricted_until_the_hold_ends(sandbox, flows):
    """"med mindre det er sannsynlig at opptakene ... utleveres til politiet": the demo's `slett hold` keeps MOVA's
    door-camera footage of this week, restricted, past its day six until the legal hold ends; the rest of the member
    is anonymised; what the demo prints names who set the hold, why and until when."""
    typed = hold_arguments(LEGAL_HOLD, datetime.now(OSLO).date())
    ends = date.fromisoformat(typed[typed.index("--until") + 1])
    record = sandbox.exceline.members[LEGAL_HOLD.member_id]

    assert 0 == await asyncio.to_thread(main, typed)
    run = await flows.erase(LEGAL_HOLD.controller, LEGAL_HOLD.member_id, kind=LEGAL_HOLD.kind)

    request_id = run.flow_run.parameters["request_id"]
    _, holds = await sealed(load_settings().ledger_url, request_id)
    camera = [(h["retain_until"], h["legal_hold_until"], h["status"]) for h in holds if h["category"] == "camera"]
    assert ("COMPLETED", True, [True]) == (run.state_name, record.anonymised,
                                           [r["restricted"] for r in record.records["camera"]])
    assert [(str(RECORDED_THIS_WEEK + timedelta(days=6)), str(ends), "held")] == camera
    words = f"legal hold on camera at exceline set by Kari Drift (Politiet ba om opptaket, sak 26-1234), until {ends}"
    assert [words] == [n for n in await notes(load_settings().ledger_url, request_id) if "legal hold" in n]


async def test_the_demo_active_member_request_is_answered_with_its_reason_and_its_letters_printed(sandbox, flows,
                                                                                                   tmp_path):
    """"Så lege ditt medlemskap består vil registrerte opplysninger ikke bli slettet": the demo's Spenst member who
    asks to be forgotten while the membership runs has marketing stopped (the SMS contact deleted, consents
    withdrawn) and nothing else erased; the printed acknowledgment and answer say so, both languages saved."""
    run = await flows.erase(WHILE_MEMBER.controller, WHILE_MEMBER.member_id, kind=WHILE_MEMBER.kind)

    evidence = await run.result()
    request_id = run.flow_run.parameters["request_id"]
    printed = await letters(request_id, tmp_path)
    record = sandbox.exceline.members[WHILE_MEMBER.member_id]
    assert ("COMPLETED", MEMBERSHIP_RUNS_UNTIL, ()) == (run.state_name, evidence.kept_while_member, evidence.holds)
    assert (["lifevision"], False, [False, False]) == (sandbox.destructive_calls_for(WHILE_MEMBER.member_id),
                                                       record.anonymised, [c["granted"] for c in record.consents])
    shown = ("--- acknowledgment (nb;", "Vi har mottatt henvendelsen din", "Markedsføringen er stanset",
             "--- answer (nb;", f"Medlemskapet ditt løper til og med {MEMBERSHIP_RUNS_UNTIL:%d.%m.%Y}")
    assert list(shown) == [words for words in shown if words in printed]
    assert [True, True] == ["\n---\n" in (tmp_path / f"{request_id}-{kind}.md").read_text()
                            for kind in ("acknowledgment", "answer")]
    assert [] == [value for value in sandbox.member(WHILE_MEMBER.member_id).personal_values() if value in printed]


async def test_the_demo_unknown_member_request_ends_not_known_and_nothing_is_erased(sandbox, flows):
    """A request for an id K24's membership system does not know, started from the erase-member form, ends
    "member M1199 is not known at eziteq; nothing was erased", as the demo expects; no processor changed anything."""
    run = await flows.erase(UNKNOWN.controller, UNKNOWN.member_id, kind=UNKNOWN.kind)

    message = run.state.message or ""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app(sandbox)),
                                 base_url="http://sandbox") as admin:
        changed = await changed_by_calls(admin, UNKNOWN.member_id)
    assert ("FAILED", True) == (run.state_name, ended_as_told(UNKNOWN, run.state_name, message))
    assert message.endswith("member M1199 is not known at eziteq; nothing was erased")
    assert "calls that changed anything at a processor: none" == changed
    assert [] == sandbox.applied_calls(UNKNOWN.member_id)


def test_only_a_request_with_a_legal_hold_has_a_hold_command_line():
    """`slett hold`'s command line is made for the demo's legal hold, ending on the day its days lead to; asked for a
    request that sets none, it says so instead of typing a half command."""
    typed = hold_arguments(LEGAL_HOLD, date(2026, 12, 7))

    assert ["hold", "mova", "M1502", "--system", "exceline", "--category", "camera"] == typed[:7]
    assert ["--by", "Kari Drift", "--until", "2027-01-06"] == typed[-4:]
    with pytest.raises(ValueError, match="sets no legal hold"):
        hold_arguments(WHILE_MEMBER, date(2026, 12, 7))


async def test_the_demo_says_which_letters_a_request_has_none_of(flows, tmp_path):
    """For a request with no letters the demo prints that there is no acknowledgment and no answer, and saves
    nothing."""
    printed = await letters("demo-no-such-request", tmp_path)

    assert ("no acknowledgment letter for request demo-no-such-request\n"
            "no answer letter for request demo-no-such-request") == printed
    assert [] == list(tmp_path.iterdir())
