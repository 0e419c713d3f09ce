"""Stripe's HTTP conventions: the API version header, its error object, list and search paging."""

# Hand-written on ProcessorClient, not Stripe's `stripe` library (16.1.0 installs here): its HTTPXClient builds
# its own httpx.AsyncClient with no transport to pass (the sandbox and the spec check plug in there), its
# general release has no redaction jobs (only its preview releases, or raw_request), it brings `requests`
# along, and its errors would have to be sorted again into Retryable and Permanent for the one retry layer.

from __future__ import annotations

from typing import Any

import httpx

from config.settings import ProcessorSettings
from connectors.contract import Permanent
from connectors.http import Address, ProcessorClient, bearer

# The version of Stripe's published spec the connector and the sandbox twin are held to
# (../shared/specs/stripe-openapi-subset.json): without a Stripe-Version header Stripe answers in the
# account's default version, whatever that is.
API_VERSION = "2023-08-16"
# Redaction jobs are a public preview: Stripe serves them only under a preview version
# (docs.stripe.com/changelog/dahlia/2026-04-22/redaction-job-validation-errors-property).
PREVIEW_VERSION = "2026-04-22.preview"
STRIPE = "https://api.stripe.com"
PAGE = 100  # Stripe's largest page for lists and searches (its default is 10)
VERSION = "Stripe-Version"


def address(settings: ProcessorSettings) -> Address:
    """Stripe's address: its API (or the configured base URL), the secret key as a bearer token, the API version."""
    usual = bearer(settings, STRIPE)
    return Address(usual.base_url, headers={**usual.headers, VERSION: settings.api_version or API_VERSION},
                   versions={"preview": settings.preview_api_version or PREVIEW_VERSION}, describe=describe)


def preview(client: ProcessorClient) -> dict[str, str]:
    """The header that asks for Stripe's preview API version, as configured."""
    return {VERSION: client.address.versions.get("preview", PREVIEW_VERSION)}


def error_of(response: httpx.Response) -> dict[str, Any]:
    """Stripe's error object of an error answer; empty when the answer is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    found = body.get("error") if isinstance(body, dict) else None
    return found if isinstance(found, dict) else {}


def describe(response: httpx.Response) -> str:
    """The error's type and code (never its message: Stripe may quote the request's values in it)."""
    error = error_of(response)
    return "/".join(str(error[part]) for part in ("type", "code", "param") if error.get(part))


def gone(system: str, response: httpx.Response, where: str) -> bool:
    """Whether Stripe says the object does not exist (404 `resource_missing`); any other 404 is an error."""
    if response.status_code != 404:
        return False
    if error_of(response).get("code") == "resource_missing":
        return True
    # A wrong base URL or path is a 404 too ("Unrecognized request URL"): never taken for "already gone".
    raise Permanent(system, f"{where}: HTTP 404 ({describe(response) or 'no Stripe error object'})")


async def every(client: ProcessorClient, path: str, params: dict[str, str],
                headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every object of a Stripe list, page after page (`has_more`, `starting_after`)."""
    items: list[dict[str, Any]] = []
    while True:
        after = {"starting_after": items[-1]["id"]} if items else {}
        page = (await client.get(path, params={**params, **after, "limit": PAGE}, headers=headers,
                                 allow=frozenset())).json()
        items += page["data"]
        if not page["has_more"] or not page["data"]:
            return items


async def search(client: ProcessorClient, path: str, query: str) -> list[dict[str, Any]]:
    """Every result of a Stripe search, page after page (`has_more`, `next_page`)."""
    items: list[dict[str, Any]] = []
    cursor: dict[str, str] = {}
    while True:
        page = (await client.get(path, params={"query": query, "limit": PAGE, **cursor}, allow=frozenset())).json()
        items += page["data"]
        if not page["has_more"] or not page.get("next_page"):
            return items
        cursor = {"page": page["next_page"]}
