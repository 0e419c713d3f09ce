"""Promises every chain keeps the same way, proved at each chain: an unknown member, a withdrawal of marketing on its
own, a member a re-sync adds back, and the recipients the evidence lists (docs/promises.md)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from cli.main import main
from domain.values import OSLO
from sandbox.mailchimp import AUDIENCES
from tests.chains.test_withdrawal import audiences_of, sealed
from tests.flow_driver import release_runs

NEWSLETTER, CAMPAIGNS = AUDIENCES
# The system each chain's policy calls its membership system: where an unknown id is found unknown.
MEMBERSHIP = {"aktiv365": "exceline", "spenst": "exceline", "mova": "exceline", "vekstly": "stripe"}


@pytest.mark.parametrize(("chain", "system"), sorted(MEMBERSHIP.items()))
async def test_an_unknown_member_ends_not_known_at_the_chains_membership_system_and_nothing_is_erased(
        sandbox, flows, chain, system):
    """An id the chain's membership system does not know ends the request "member <id> is not known at <system>;
    nothing was erased", and no processor changed anything for it."""
    run = await flows.erase(chain, "M1999", kind="erasure")

    assert "FAILED" == run.state_name
    assert (run.state.message or "").endswith(f"member M1999 is not known at {system}; nothing was erased")
    assert [] == sandbox.applied_calls("M1999")


async def test_spenst_withdrawal_of_marketing_stops_the_sms_contact_and_the_consents_and_nothing_else(sandbox, flows):
    """"Du kan selvfølgelig trekke samtykket til markedsføring": a withdrawal on its own deletes the SMS and e-mail
    contact (LifeVision, an assumption) and withdraws the membership system's consents; the visits, invoices and
    the app and access records stay."""
    member = sandbox.add_member(chain="spenst")

    run = await flows.withdraw("spenst", member.member_id)

    [evidence] = await sealed(run.flow_run.parameters["request_id"], "withdrawal")
    record = sandbox.exceline.members[member.member_id]
    # The consents are withdrawn by an update, not a destructive call: the record shows it.
    assert ("COMPLETED", ["lifevision"]) == (run.state_name, sandbox.destructive_calls_for(member.member_id))
    assert ([False, False], 3, False) == ([c["granted"] for c in record.consents], len(record.visits),
                                          record.anonymised)
    assert (True, True) == (sandbox.app.of(member.member_id) is not None,
                            sandbox.access.of(member.member_id) is not None)
    assert ["lifevision", "exceline-marketing"] == [s["system"] for s in evidence["steps"]]


async def test_aktiv365_withdrawal_of_marketing_asks_kalibrert_by_a_person_withdraws_the_consents_and_nothing_else(
        sandbox, flows):
    """"Du kan velge å takke nei til dette på «min side»": a withdrawal on its own asks a person to stop the
    marketing agency Kalibrert AS (no API) and confirm it, and withdraws Exceline's consents; the membership record,
    its visits and the bookings stay."""
    member = sandbox.add_member(chain="aktiv365")

    run, steps = await flows.confirm_all(await flows.withdraw("aktiv365", member.member_id))

    [evidence] = await sealed(run.flow_run.parameters["request_id"], "withdrawal")
    record = sandbox.exceline.members[member.member_id]
    assert ("COMPLETED", ["manual-kalibrert-as"], []) == (run.state_name, steps,
                                                         sandbox.destructive_calls_for(member.member_id))
    assert ([False, False], 3, False) == ([c["granted"] for c in record.consents], len(record.visits),
                                          record.anonymised)
    assert ["manual-kalibrert-as", "exceline-marketing"] == [s["system"] for s in evidence["steps"]]


async def test_mova_withdrawal_of_marketing_stops_the_crm_the_image_bank_and_the_consents_and_nothing_else(
        sandbox, flows):
    """"vil vi slutte å behandle dine personopplysninger til slike formål": a withdrawal on its own deletes the CRM
    contact and the image bank's person (both on consent) and withdraws the membership system's consents; the
    membership record is not anonymised and keeps its visits."""
    member = sandbox.add_member(chain="mova")

    run = await flows.withdraw("mova", member.member_id)

    record = sandbox.exceline.members[member.member_id]
    assert ("COMPLETED", {"crm", "imagebank"}) == (run.state_name, set(sandbox.destructive_calls_for(member.member_id)))
    assert ([False, False], 3, False) == ([c["granted"] for c in record.consents], len(record.visits),
                                          record.anonymised)


async def test_vekstly_withdrawal_leaves_the_e_mail_list_and_keeps_the_course_and_the_payment(sandbox, flows):
    """"Du kan når som helst velge å melde deg av": a withdrawal on its own takes the participant off every e-mail
    list; the course booking and the Stripe customer stay."""
    member = sandbox.add_member(chain="vekstly")

    run = await flows.withdraw("vekstly", member.member_id)

    assert ("COMPLETED", ["mailchimp"], []) == (run.state_name, sandbox.destructive_calls_for(member.member_id),
                                               audiences_of(sandbox, member))


@pytest.mark.parametrize("chain", ["k24", "vekstly"])
async def test_a_member_erased_and_added_again_to_the_e_mail_list_is_removed_by_the_sweep(sandbox, flows, chain):
    """K24's newsletter (Magy Media, at Mailchimp) and Vekstly's e-mail list: a member erased and then added to
    another audience by a re-sync is found by the nightly sweep by keyed reference and removed again, sealed under
    the erasure."""
    member = sandbox.add_member(chain=chain)
    erasure = await flows.erase(chain, member.member_id, kind="erasure")
    request_id = erasure.flow_run.parameters["request_id"]
    assert "COMPLETED" == erasure.state_name
    assert sandbox.mailchimp.resync(member, CAMPAIGNS)

    sweep = await flows.sweep(chain)

    [removal] = await sealed(request_id, "readded")
    assert ("COMPLETED", []) == (sweep.state_name, audiences_of(sandbox, member))
    assert ("done", "erasure") == (removal["status"], removal["reason"])


async def test_vekstly_evidence_lists_every_recipient_told_of_the_erasure(sandbox, flows):
    """"Ved forspørsel av sletting har bedriften plikt til å gi beskjed til eventuelle tredjeparter som også har lagret
    informasjonen" (Art. 19): the sealed evidence names Stripe, the e-mail list and the course system, each told by
    the erasure call itself on the day it finished."""
    member = sandbox.add_member(chain="vekstly", course_end=None)

    run = await flows.erase("vekstly", member.member_id, kind="erasure")

    evidence = await run.result()
    assert "COMPLETED" == run.state_name
    assert {"stripe", "mailchimp", "ibooking"} == {t.recipient for t in evidence.told}
    assert [] == [t.recipient for t in evidence.told if t.on is None]


async def test_k24_evidence_lists_every_recipient_told_of_the_erasure(sandbox, flows):
    """"K24 har en databehandleravtale med følgende selskaper" (Art. 19): the sealed evidence names each processor
    told: the newsletter (Magy Media's Mailchimp), LifeVision, Eziteq, Nets and the journal system by the erasure
    call itself on the day it finished, the debt collector by a person's notice (who, and the day)."""
    yesterday = datetime.now(OSLO).date() - timedelta(days=1)
    member = sandbox.add_member(chain="k24", in_collection=True)
    run, _ = await flows.confirm_all(await flows.erase("k24", member.member_id), by="Kari Drift", on=yesterday)

    evidence = await run.result()
    finished = evidence.finished.astimezone(OSLO).date()
    assert {"mailchimp": ("api", finished, None), "lifevision": ("api", finished, None),
            "eziteq": ("api", finished, None), "nets": ("api", finished, None),
            "physica": ("api", finished, None), "Inkassoselskapet": ("person", yesterday, "Kari Drift")} == {
        t.recipient: (t.how, t.on, t.by) for t in evidence.told}


@pytest.mark.parametrize(("chain", "system", "category"), [("spenst", "exceline", "visits"),
                                                           ("k24", "eziteq", "visits")])
async def test_a_category_the_police_asked_for_is_kept_restricted_by_a_legal_hold_until_it_is_lifted(
        sandbox, flows, chain, system, category):
    """Spenst ("kan vi bli avkrevd å utlevere personopplysninger av offentlige myndigheter, typisk politi") and K24:
    the visits a person put under a legal hold with `slett hold` are restricted as they are while the rest of the
    member is anonymised, the evidence names the hold, and once it is lifted the daily sweep erases them."""
    member = sandbox.add_member(chain=chain)

    def visits() -> list[dict[str, Any]]:
        """The member's visits at the processor, as it holds them now."""
        if system == "eziteq":
            return list(sandbox.eziteq.members[member.member_id].checkins)
        return list(sandbox.exceline.members[member.member_id].visits)

    where = [chain, member.member_id, "--system", system, "--category", category]
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--reason", "Politiet ba om besøkene, sak 26-77",
                                               "--by", "Kari Drift"])

    run, _ = await flows.confirm_all(await flows.erase(chain, member.member_id))

    evidence = await run.result()
    step = next(s for s in evidence.steps if s.system == system)
    held = next(c for c in step.categories if c.category == category)
    assert ("COMPLETED", "anonymised", [True, True, True]) == (run.state_name, step.status,
                                                               [v["restricted"] for v in visits()])
    assert ("restrict", "restricted", "legal-hold", True) == (held.action, held.status, held.rule, held.verified)
    assert ["Politiet ba om besøkene, sak 26-77" in note for note in evidence.notes] == [True]
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))[f"{system}-legal-hold"]
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--lift", "--by", "Kari Drift"])
    assert ("released", []) == (await (await flows.release(scheduled, datetime.now(OSLO).date())).result(), visits())


async def test_bookings_under_a_legal_hold_keep_the_customer_that_deleting_would_take_them_with(sandbox, flows):
    """Spenst: a legal hold on the bookings at Ibooking keeps them restricted, and keeps the customer as it is,
    since deleting the customer deletes their bookings; the evidence says why; once the hold is lifted the
    sweep deletes both."""
    member = sandbox.add_member(chain="spenst")
    where = ["spenst", member.member_id, "--system", "ibooking", "--category", "bookings"]
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--reason", "Politiet ba om timene, sak 26-90",
                                               "--by", "Kari Drift"])

    run, _ = await flows.confirm_all(await flows.erase("spenst", member.member_id))

    evidence = await run.result()
    step = next(s for s in evidence.steps if s.system == "ibooking")
    rows = {c.category: (c.action, c.status, c.rule, c.verified) for c in step.categories}
    [customer] = [c for c in sandbox.ibooking.customers.values() if c.external_id == member.member_id]
    assert "COMPLETED" == run.state_name
    assert {"bookings": ("restrict", "restricted", "legal-hold", True),
            "profile": ("restrict", "refused", "legal-hold", True)} == rows
    assert (True, [True] * len(customer.bookings)) == (bool(customer.bookings),
                                                       [b["restricted"] for b in customer.bookings])
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))["ibooking-legal-hold"]
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--lift", "--by", "Kari Drift"])
    assert "released" == await (await flows.release(scheduled, datetime.now(OSLO).date())).result()
    assert [] == [c for c in sandbox.ibooking.customers.values() if c.external_id == member.member_id]

