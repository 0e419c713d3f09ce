"""Settings: read once, and a missing or malformed one fails at start with its name."""

from __future__ import annotations

import pytest

from config.settings import SettingsError, load_settings

PROCESSOR = {"base_url": "http://exceline.sandbox", "api_key": "k"}


def test_missing_subject_key_is_named(monkeypatch):
    """Without SLETT_SUBJECT_KEY, loading fails and says which variable is missing."""
    monkeypatch.delenv("SLETT_SUBJECT_KEY", raising=False)

    with pytest.raises(SettingsError, match="SLETT_SUBJECT_KEY: Field required"):
        load_settings()


def test_malformed_processor_url_is_named():
    """A base URL that is not a URL fails with the nested variable's name."""
    with pytest.raises(SettingsError, match="SLETT_PROCESSORS__EXCELINE__BASE_URL"):
        load_settings(subject_key="k" * 32, processors={"exceline": {**PROCESSOR, "base_url": "nope"}})


def test_processor_without_settings_says_what_to_set():
    """Asking for a processor with no settings names the variables to set."""
    settings = load_settings(subject_key="k" * 32, processors={})

    with pytest.raises(SettingsError, match="SLETT_PROCESSORS__VISMA__BASE_URL"):
        settings.processor("visma")


def test_secrets_come_from_a_secrets_directory(tmp_path, monkeypatch):
    """The subject key can come from a file in a secrets directory and never shows in repr."""
    monkeypatch.delenv("SLETT_SUBJECT_KEY", raising=False)
    (tmp_path / "slett_subject_key").write_text("from-a-secret-file-0123456789")

    settings = load_settings(secrets_dir=tmp_path)

    assert "from-a-secret-file-0123456789" == settings.subject_key.get_secret_value()
    assert "from-a-secret-file" not in repr(settings)


def test_nested_processor_settings_come_from_the_environment():
    """SLETT_PROCESSORS__<SYSTEM>__* variables become that processor's settings (set in conftest)."""
    settings = load_settings()

    assert "http://exceline.sandbox/" == str(settings.processor("exceline").base_url)
    assert 3 == settings.processor("nets").max_attempts


def test_processor_credentials_come_from_nested_secret_files(tmp_path):
    """A processor's API key can sit in a secrets directory as slett_processors__<system>__api_key."""
    (tmp_path / "slett_processors__visma__api_key").write_text("sk_test_from_file")

    settings = load_settings(secrets_dir=tmp_path, processors={"visma": {"base_url": "http://visma.sandbox"}})

    assert "sk_test_from_file" == settings.processor("visma").api_key.get_secret_value()
