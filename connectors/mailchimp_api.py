"""How Mailchimp's Marketing API 3.0 is reached: Basic auth with the key, its data centre, 10 connections at once."""

from __future__ import annotations

import re

import httpx

from config.settings import ProcessorSettings, SettingsError
from connectors.http import Address

ROOT = "/3.0"
MAX_CONNECTIONS = 10  # Mailchimp refuses an API key's 11th simultaneous connection with a 429
DATA_CENTRE = re.compile(r"-(?P<dc>[a-z]+\d+)$")  # a key ends in its account's data centre: "…-us21"


def root_url(settings: ProcessorSettings) -> str:
    """The API root: the configured base URL (with or without its /3.0), else the key's data centre's."""
    if settings.base_url is not None:
        base = str(settings.base_url).rstrip("/")
        return base if base.endswith(ROOT) else base + ROOT
    found = DATA_CENTRE.search(settings.api_key.get_secret_value())
    if found is None:
        raise SettingsError("mailchimp: the API key does not end in its data centre (like '…-us21') and no base URL "
                            "is set: set SLETT_PROCESSORS__MAILCHIMP__BASE_URL or use the whole key Mailchimp shows")
    return f"https://{found['dc']}.api.mailchimp.com{ROOT}"


def title(response: httpx.Response) -> str:
    """The problem's title (never its detail: Mailchimp quotes the e-mail address there)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("title") or "") if isinstance(body, dict) else ""


def address(settings: ProcessorSettings) -> Address:
    """Mailchimp's address: HTTP Basic with any user name and the API key as the password, as Mailchimp documents."""
    return Address(root_url(settings), auth=httpx.BasicAuth("slett", settings.api_key.get_secret_value()),
                   max_connections=MAX_CONNECTIONS, describe=title)
