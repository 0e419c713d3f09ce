"""No name, e-mail, phone or address leaves a connector: not in holdings, outcomes, errors or logs."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest
import structlog

from connectors.contract import Action, ConnectorError, Holdings, Subject
from connectors.http import RetryPolicy
from tests.connectors.plans import HELD, PLANS, SYSTEMS

FAILURES = ({"script": ["400"]}, {"error_rate": 1.0}, {"drop_rate": 1.0},
            {"retry_after": 600, "script": ["429"]}, {"hang": True})


def leaks(texts: list[str], values: set[str]) -> list[str]:
    """The personal values that appear in any of `texts`."""
    return sorted(value for value in values if any(value in text for text in texts))


@pytest.mark.parametrize("system", SYSTEMS)
async def test_holdings_and_outcomes_hold_no_personal_data(system, sandbox, open_connector, subject):
    """repr() of every Holdings and Outcome of a full erasure names no personal value."""
    member_id, action = PLANS[system]
    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(member_id))
        outcome = await connector.erase(holdings, action, "k1")
        texts = [repr(holdings), repr(outcome)]
        if outcome.reference:
            texts.append(repr(await connector.poll(outcome.reference)))
        texts.append(repr(await connector.verify(holdings, action)))

    assert [] == leaks(texts, sandbox.all_personal_values())


async def call(connector, step: str, system: str, subject: Subject):
    """One connector step for the plan's member: lookup, erase or verify."""
    _, action = PLANS[system]
    holdings = Holdings.of(system, ids=HELD[system])
    if step == "lookup":
        return await connector.lookup(subject)
    if step == "erase":
        return await connector.erase(holdings, action, "k")
    return await connector.verify(holdings, action)


@pytest.mark.parametrize("system", SYSTEMS)
async def test_errors_and_logs_hold_no_personal_data(system, sandbox, open_connector, make_settings, subject,
                                                     sleep):
    """Every error a connector raises, and every log line of its retries, names no personal value."""
    errors: list[ConnectorError] = []
    member = subject(PLANS[system][0])
    settings, policy = make_settings(read_timeout=0.05), RetryPolicy(attempts=2, sleep=sleep)
    with structlog.testing.capture_logs() as logs:
        async with open_connector(system, settings=settings, policy=policy) as (connector, _):
            for failure in FAILURES:
                for step in ("lookup", "erase", "verify"):
                    sandbox.faults[system].reset()
                    sandbox.faults[system].configure(**failure)
                    with pytest.raises(ConnectorError) as raised:
                        await call(connector, step, system, member)
                    errors.append(raised.value)
            with pytest.raises(ConnectorError) as refused:
                await connector.erase(Holdings.of(system, ids=HELD[system]), Action.NOTIFY, "k")
            errors.append(refused.value)

    texts = [f"{error!s} {error!r}" for error in errors] + [repr(line) for line in logs]
    assert len(FAILURES) * 3 + 1 == len(errors)
    assert any(line["event"] == "processor call retried" for line in logs)
    assert [] == leaks(texts, sandbox.all_personal_values())


async def test_mailchimp_lookup_without_email_error_is_clean(sandbox, open_connector):
    """Mailchimp's refusal to look up without an e-mail names no personal value."""
    async with open_connector("mailchimp") as (mailchimp, _):
        with pytest.raises(ConnectorError) as raised:
            await mailchimp.lookup(Subject("demo", "M1001", phone=sandbox.member("M1001").phone))

    assert [] == leaks([str(raised.value)], sandbox.all_personal_values())
