"""The door to Prefect's insides: each inside slett relies on is there in this Prefect, with the shape slett
expects, and does what slett uses it for."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import certifi
import prefect
import prefect.client.orchestration
import prefect.flow_engine
import pytest
from prefect import get_client
from prefect._internal.result_records import ResultRecordMetadata
from prefect.client.orchestration import PrefectClient
from prefect.serializers import JSONSerializer
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Completed, Running

from prefect_compat import (
    EXPECTED,
    PrefectInsidesChanged,
    SharedTrust,
    check,
    lighter_engine,
    mark_suspension_requested,
    missing,
    sharing_client,
    stored_key,
)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_inside_slett_relies_on_is_there_with_its_shape(name: str):
    """Fails for the inside this Prefect moved, renamed or reshaped."""
    assert EXPECTED[name]()


def test_this_prefect_lacks_none_of_them():
    """The import-time check finds nothing missing."""
    assert [] == missing()


def test_a_missing_inside_fails_naming_it_and_prefects_version():
    """The error names each missing inside and the Prefect installed, and is an ImportError."""
    with pytest.raises(PrefectInsidesChanged) as raised:
        check({"prefect.gone_for_good": lambda: False, "prefect.flow_engine": lambda: True})

    assert isinstance(raised.value, ImportError)
    assert f"Prefect {prefect.__version__} lacks" in str(raised.value)
    assert "prefect.gone_for_good" in str(raised.value)
    assert "prefect.flow_engine:" not in str(raised.value)


def test_one_verified_context_per_ca_file_is_built_once():
    """Asking twice for a context verifying against the same CA file gives the same context."""
    trust = SharedTrust()

    first = trust.create_default_context(cafile=certifi.where())

    assert first is trust.create_default_context(cafile=certifi.where())
    assert 1 == len(trust.made)


def test_a_context_without_a_ca_file_is_built_anew_each_time():
    """Prefect turns verification off on a context it builds without a CA file: such a context is never shared."""
    trust = SharedTrust()

    assert trust.create_default_context() is not trust.create_default_context()
    assert {} == trust.made


def test_prefect_api_clients_build_their_context_through_the_shared_trust_inside_the_lighter_engine():
    """Inside, Prefect's clients take their TLS context from the shared trust (one for all); outside, not."""
    trust = SharedTrust()
    # An API address, so that no client starts an ephemeral server (it timed out on a loaded machine); none connects.
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        with lighter_engine(trust):
            inside = [get_client(sync_client=True) for _ in range(3)]
            built_inside = dict(trust.made)
        get_client(sync_client=True)

    assert 3 == len(inside)
    assert 1 == len(built_inside)
    assert built_inside == trust.made


def test_the_engines_own_suspension_observer_is_replaced_inside_and_back_on_exit():
    """Flows run inside the lighter engine go without Prefect's per-run observer; outside they keep it."""
    engine: Any = prefect.flow_engine
    observer = engine.observe_flow_run_suspension

    with lighter_engine():
        inside = engine.observe_flow_run_suspension
        with inside(uuid4(), object()):
            pass

    assert inside is not observer
    assert observer is engine.observe_flow_run_suspension


def test_a_suspension_is_marked_only_for_a_run_this_process_runs():
    """A run no engine here runs has no suspension request to mark."""
    assert False is mark_suspension_requested(uuid4(), Running())


async def test_get_client_hands_out_the_shared_client_within_and_its_own_outside():
    """Within sharing_client every get_client() is the one client given; outside, a new one."""
    # An address, so that get_client() outside makes a client for it instead of starting a temporary server.
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        async with PrefectClient("http://127.0.0.1:9/api") as client:  # entered: bound to this event loop
            with sharing_client(client):
                within = get_client()
            outside = get_client()

    assert within is client
    assert outside is not client


def test_the_storage_key_of_a_persisted_result_is_read_and_nothing_else_is():
    """A state whose data is a stored result's record gives its key; a state without one gives None."""
    record = ResultRecordMetadata(storage_key="/results/slett-demo-1-open", serializer=JSONSerializer())

    assert "/results/slett-demo-1-open" == stored_key(Completed(data=record))
    assert None is stored_key(Completed(data={"not": "a record"}))
    assert None is stored_key(None)
