"""What a flow run reads once at its start: settings, logging and the chain's policy."""

from __future__ import annotations

import functools

from config.logging import configure_logging
from config.policy import Policy, load_policy
from config.settings import Settings, load_settings
from connectors.registry import known_systems


@functools.cache
def flow_settings() -> Settings:
    """The settings of this process, read once, with logging configured from them."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def chain_policy(controller: str, settings: Settings) -> Policy:
    """The controller's policy, checked against the processors slett has connectors for."""
    return load_policy(controller, settings.controllers_dir, known_systems())
