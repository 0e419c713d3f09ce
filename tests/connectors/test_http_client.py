"""The processor client factory: what every processor's client shares within one process."""

from __future__ import annotations

from config.settings import ProcessorSettings
from connectors.http import processor_client, tls_context


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
