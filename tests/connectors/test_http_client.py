"""The processor client factory: what every processor's client shares within one process."""

from __future__ import annotations

import pytest

from config.settings import ProcessorSettings, SettingsError
from connectors.http import processor_client, tls_context
from connectors.stripe_api import address


def pool_tls(client: object) -> object:
    """The TLS context of a processor client's connection pool (httpx keeps it on the pool)."""
    return client._client._transport._pool._ssl_context  # type: ignore[attr-defined]


async def test_every_processor_client_in_a_process_shares_one_tls_context():
    """Clients for two processors reuse the process's one TLS context rather than building their own."""
    settings = ProcessorSettings(base_url="https://processor.invalid", api_key="k")

    async with processor_client("mailchimp", settings) as first, processor_client("nets", settings) as second:
        contexts = [pool_tls(first), pool_tls(second)]

    assert [tls_context(), tls_context()] == contexts
    assert contexts[0] is contexts[1]


async def test_a_processor_without_a_base_url_is_a_settings_error():
    """A processor reached by its base URL, with none set: an error naming the variable, before any request."""
    with pytest.raises(SettingsError, match="SLETT_PROCESSORS__NETS__BASE_URL"):
        async with processor_client("nets", ProcessorSettings(api_key="k")):
            pass


async def test_stripe_without_a_base_url_is_stripes_api(make_settings):
    """Stripe needs no base URL: its API is at api.stripe.com, with the spec's version unless told otherwise."""
    settings = make_settings(base_url=None).processor("stripe")

    assert ("https://api.stripe.com", "2023-08-16", "2026-04-22.preview") == (
        address(settings).base_url, address(settings).headers["Stripe-Version"], address(settings).versions["preview"])
