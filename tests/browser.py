"""Debian's Chromium for real-browser tests: installed on first use, never a downloaded browser build."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# As root and on a closed network Chromium needs these, or it stalls on background connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> Path:
    """The Chromium binary, installed from Debian's packages if it is missing (the test set-up)."""
    if CHROMIUM.exists():
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.fail("real-browser tests need Debian's chromium: run `apt-get install -y chromium` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-q"], check=False, env=env, capture_output=True, timeout=600)
    subprocess.run([apt, "install", "-y", "-q", "chromium"], check=True, env=env, capture_output=True,
                   timeout=900)
    return CHROMIUM
