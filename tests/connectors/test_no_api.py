""""No API" is said twice, by the policy (a person acts there, so it names a supplier) and by the connector (it
needs no address or credential): the two lists are the same."""

from __future__ import annotations

from config.policy import OFFLINE
from connectors.registry import CONNECTORS, known_systems


def test_the_policys_processors_without_api_are_the_connectors_that_need_no_address():
    """A processor is offline in the policy exactly when its connector says it reaches no API."""
    known_systems()  # every connector module imported, so registered

    assert OFFLINE == {system for system, connector in CONNECTORS.items() if getattr(connector, "offline", False)}
