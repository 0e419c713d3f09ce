"""The legal-hold flow: a person's form in the Prefect UI to set or lift a legal hold (as `slett hold` does)."""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger

from domain.values import MEMBER_ID, OSLO
from flows.setup import chain_policy, flow_settings
from tasks.legal_holds import record_legal_hold


@flow(name="legal-hold", persist_result=False, validate_parameters=True)
async def legal_hold(controller: str, member_id: str, system: str, category: str, reason: str, set_by: str,
                     until: date | None = None, lift: bool = False) -> str:
    """Keep one member's category at one processor past its own rule (the police, a legal claim, a dispute), or lift
    such a hold; erasures, releases and purges leave the category restricted while it lasts.

    Args:
        controller: the chain, as named in config/controllers (e.g. "mova").
        member_id: the member's (or guest's) id at the chain's membership system; never an e-mail or a name.
        system: the processor that holds the category (e.g. "exceline").
        category: the category of the processor's data map (e.g. "camera").
        reason: why (the police's request, the case); shown in the evidence: write no personal data.
        set_by: who sets or lifts the hold.
        until: the day the legal hold ends; empty: until a person lifts it.
        lift: lift the legal hold set before (reason and until are then not used).
    """
    if not MEMBER_ID.match(member_id):
        raise ValueError("member_id must be the membership system's id (letters, digits, . _ -)")
    settings = flow_settings()
    policy = chain_policy(controller, settings)
    words = await record_legal_hold(policy, member_id, system, category, reason, set_by, until, lift,
                                    datetime.now(OSLO).date(), settings)
    get_run_logger().info("%s", words)
    return words
