"""slett's settings: read once from the environment or a secrets directory, then passed down."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, HttpUrl, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ProcessorSettings(BaseModel):
    """How to reach one processor: where, with which credential, how patiently."""

    base_url: HttpUrl | None = Field(None, description="where its API is; Mailchimp's follows from its key")
    api_key: SecretStr
    api_version: str | None = Field(None, description="the API version asked for (Stripe: Stripe-Version)")
    preview_api_version: str | None = Field(None, description="the version for its preview APIs (Stripe's)")
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(15.0, gt=0)
    rate_limit_per_s: float | None = Field(None, gt=0)
    max_attempts: int = Field(5, ge=1, le=20)
    max_delay_s: float = Field(30.0, gt=0, description="cap on one wait, Retry-After included")
    total_retry_s: float = Field(120.0, gt=0, description="cap on all waits for one call")


class Settings(BaseSettings):
    """Everything slett reads from its environment, validated at start."""

    model_config = SettingsConfigDict(
        env_prefix="SLETT_",
        env_nested_delimiter="__",
        secrets_nested_delimiter="__",
        extra="ignore",
        case_sensitive=False,
    )

    subject_key: SecretStr = Field(description="key for the HMAC subject reference in evidence")
    processors: dict[str, ProcessorSettings] = Field(default_factory=dict)
    controllers_dir: Path = PROJECT_ROOT / "config" / "controllers"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The ledger (evidence/ledger.py): SQLite under the stack's home; PostgreSQL at scale (postgresql://...).
    ledger_url: str = Field(f"sqlite:///{PROJECT_ROOT / '.slett' / 'ledger.sqlite3'}",
                            description="the database of slett's evidence and holds (SQLAlchemy URL)")
    job_poll_interval_s: float = Field(2.0, gt=0, description="between polls of a processor's async job")
    job_poll_limit: int = Field(150, ge=1, description="polls before a job is left for the next run")
    # Bulk purges (flows/purge_guests.py): pages listed, batches deleted, batches at once per processor.
    purge_page_size: int = Field(1000, ge=1, le=1000, description="guests asked for per listing call")
    purge_batch_size: int = Field(500, ge=1, le=500, description="guests deleted per bulk call")
    purge_concurrency: int = Field(2, ge=1, le=16, description="batches in flight at one processor")
    # The way in (triggers/): Standard Webhooks 1.0 secrets, several at once while one is rotated.
    webhook_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="whsec_<base64> secrets, separated by spaces or commas")
    webhook_tolerance_s: int = Field(300, ge=1, le=3600, description="how far a webhook-timestamp may be off")
    webhook_max_body_bytes: int = Field(65_536, ge=1024, description="larger webhook bodies get 413")
    webhook_dispatch_timeout_s: float = Field(10.0, gt=0, description="patience with the Prefect API per webhook")
    webhook_outbox: Path = Field(PROJECT_ROOT / ".slett" / "webhook-outbox.sqlite3",
                                 description="where accepted webhooks wait for Prefect (triggers/outbox.py)")
    webhook_answer_within_s: float = Field(2.0, ge=0, le=30, description="how long an idle receiver waits for "
                                           "Prefect's run id before answering 202 queued")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then secret files (slett_processors__nets__api_key)."""
        return init_settings, env_settings, NestedSecretsSettingsSource(file_secret_settings)

    @field_validator("subject_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        return value.replace(",", " ").split() if isinstance(value, str) else value

    @field_validator("webhook_secrets")
    @classmethod
    def _whsec(cls, value: list[SecretStr]) -> list[SecretStr]:
        for number, secret in enumerate(value, 1):
            # Standard Webhooks 1.0: "whsec_" and base64 of 24 to 64 random bytes. Never echo the secret.
            if not 24 <= len(webhook_key(secret)) <= 64:
                raise ValueError(f"secret {number} of {len(value)} must be 'whsec_' and base64 of 24 to 64 bytes")
        return value

    def webhook_keys(self) -> list[bytes]:
        """The HMAC keys behind the webhook secrets, newest first as configured."""
        return [webhook_key(secret) for secret in self.webhook_secrets]

    def processor(self, system: str) -> ProcessorSettings:
        """The settings of one processor, or a clear error naming the variable to set."""
        try:
            return self.processors[system]
        except KeyError:
            raise SettingsError(
                f"no settings for processor {system!r}: set SLETT_PROCESSORS__{system.upper()}__BASE_URL "
                f"and SLETT_PROCESSORS__{system.upper()}__API_KEY"
            ) from None


def webhook_key(secret: SecretStr) -> bytes:
    """The key bytes of a 'whsec_<base64>' secret; empty when it is not one."""
    text = secret.get_secret_value()
    if not text.startswith("whsec_"):
        return b""
    body = text.removeprefix("whsec_")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return b""


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


def load_settings(secrets_dir: Path | None = None, **overrides: object) -> Settings:
    """Read the settings once, failing with a message that names each bad setting."""
    try:
        return Settings(_secrets_dir=secrets_dir, **overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"SLETT_{'__'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise SettingsError(f"bad settings: {problems}") from None
