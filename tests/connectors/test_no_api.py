""""No API" is said once, by the policy (config/policy.py, OFFLINE): such a processor's connector is reached with no
address or credential, and `check-processors` has nothing to read there."""

from __future__ import annotations

import pytest

from config.policy import OFFLINE
from config.settings import SettingsError, load_settings
from connectors.check import check_processor
from connectors.contract import Action, Status, Subject
from connectors.registry import connect, known_systems

# The session's environment names every sandbox processor; these settings name none.
NOBODY_CONFIGURED = load_settings().model_copy(update={"processors": {}})


def test_every_processor_without_api_has_a_connector():
    """Each processor the policy says has no API is one slett has a connector for."""
    assert set() == OFFLINE - known_systems()


@pytest.mark.parametrize("system", sorted(OFFLINE))
async def test_a_processor_without_api_is_reached_without_settings(system):
    """A processor with no API is connected to and asked with no address or key configured: a person's step."""
    async with connect(system, NOBODY_CONFIGURED) as (connector, _):
        holdings = await connector.lookup(Subject("demo", "M1"))
        outcome = await connector.erase(holdings, Action.NOTIFY, "slett:r:s:a")

    assert (system, Status.MANUAL) == (holdings.system, outcome.status)


async def test_a_processor_with_an_api_needs_its_settings():
    """A processor not in the list needs its address and key: connecting without them names the variables."""
    with pytest.raises(SettingsError, match="SLETT_PROCESSORS__EXCELINE__BASE_URL"):
        async with connect("exceline", NOBODY_CONFIGURED):
            pass


@pytest.mark.parametrize("system", sorted(OFFLINE))
async def test_check_processors_has_nothing_to_read_without_api(system):
    """`slett check-processors` passes a processor with no API without reaching for it."""
    check = await check_processor(system, NOBODY_CONFIGURED)

    assert (True, "no API: its steps are a person's, nothing to reach") == (check.answered, check.reason)
