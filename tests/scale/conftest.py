"""The scale configuration: Prefect server on PostgreSQL and Redis, two workers on one work pool."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip for want of a service, except in CI: CI has PostgreSQL and Redis, and a skip there would hide an
    untested scale configuration."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the scale tests")
    pytest.skip(reason)
