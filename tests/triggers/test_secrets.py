"""Webhook settings: secrets must be Standard Webhooks secrets, and the receiver needs at least one."""

from __future__ import annotations

import base64

import pytest

from config.settings import SettingsError, load_settings
from tests.triggers.conftest import OLD_SECRET, SECRET, Clock, RecordingDispatcher
from triggers.app import create_app


def test_secrets_separated_by_spaces_or_commas_are_all_read(monkeypatch):
    """SLETT_WEBHOOK_SECRETS may hold the new and the old secret, separated by a space or a comma."""
    monkeypatch.setenv("SLETT_WEBHOOK_SECRETS", f"{SECRET}, {OLD_SECRET}")

    settings = load_settings()

    assert [SECRET, OLD_SECRET] == [secret.get_secret_value() for secret in settings.webhook_secrets]
    assert 2 == len(settings.webhook_keys())


def test_secret_from_a_secrets_directory(tmp_path):
    """The secret can come from a file slett_webhook_secrets in the secrets directory."""
    (tmp_path / "slett_webhook_secrets").write_text(SECRET)

    settings = load_settings(secrets_dir=tmp_path)

    assert [SECRET] == [secret.get_secret_value() for secret in settings.webhook_secrets]


@pytest.mark.parametrize("bad", [
    SECRET.removeprefix("whsec_"), "whsec_" + base64.b64encode(b"too short").decode(), "whsec_!!!not base64!!!",
    "whsec_", "whsec_" + base64.b64encode(b"x" * 65).decode(),
])
def test_a_secret_that_is_not_whsec_base64_is_refused_without_echoing_it(bad):
    """A malformed secret fails at start, naming the variable but never showing the secret."""
    with pytest.raises(SettingsError, match="SLETT_WEBHOOK_SECRETS") as failure:
        load_settings(webhook_secrets=[SECRET, bad])

    secret_part = bad.removeprefix("whsec_")
    assert "secret 2 of 2" in str(failure.value)
    assert not secret_part or secret_part not in str(failure.value)


def test_the_receiver_refuses_to_start_without_a_secret():
    """With no webhook secret the receiver does not start, and says which variable to set."""
    settings = load_settings(webhook_secrets=[])

    with pytest.raises(SettingsError, match="SLETT_WEBHOOK_SECRETS"):
        create_app(settings, RecordingDispatcher(), Clock())
