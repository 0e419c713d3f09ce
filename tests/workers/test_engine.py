"""The lighter engine: one TLS context for every Prefect API client, and no per-run suspension observer."""

from __future__ import annotations

import ssl
from typing import Any

import certifi
import prefect.flow_engine
from prefect import get_client

from workers.engine import SharedTrust, lighter_engine


def _tls_context_of(client: Any) -> ssl.SSLContext:
    context: ssl.SSLContext = client._client._transport._pool._ssl_context
    return context


def test_one_verified_context_per_ca_file_is_built_once():
    """Asking twice for a context verifying against the same CA file gives the same context."""
    trust = SharedTrust()

    first = trust.create_default_context(cafile=certifi.where())

    assert first is trust.create_default_context(cafile=certifi.where())
    assert ssl.CERT_REQUIRED == first.verify_mode


def test_a_context_without_a_ca_file_is_built_anew_each_time():
    """Prefect turns verification off on a context it builds without a CA file: such a context is never shared."""
    trust = SharedTrust()

    assert trust.create_default_context() is not trust.create_default_context()


def test_prefect_api_clients_share_one_context_inside_and_build_their_own_outside():
    """Inside the lighter engine every Prefect client verifies with one context; outside, each builds its own."""
    with lighter_engine():
        inside = [_tls_context_of(get_client(sync_client=True)) for _ in range(2)]
    outside = [_tls_context_of(get_client(sync_client=True)) for _ in range(2)]

    assert inside[0] is inside[1]
    assert outside[0] is not outside[1]


def test_the_engines_own_suspension_observer_is_back_on_exit():
    """Flows run outside the lighter engine keep Prefect's own per-run observer."""
    engine: Any = prefect.flow_engine
    observer = engine.observe_flow_run_suspension

    with lighter_engine():
        replaced = engine.observe_flow_run_suspension is not observer

    assert (True, observer) == (replaced, engine.observe_flow_run_suspension)
