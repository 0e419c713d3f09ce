"""The HTML register in a real browser: Debian's Chromium renders it, headless, to a PNG."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_ARGS, chromium
from tests.evidence.test_register import slett

pytestmark = pytest.mark.slow


def render(page: Path, png: Path) -> tuple[dict[str, str], str]:
    """Open the page in Chromium; save a full-page screenshot; return the counts shown and the page text."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1440, "height": 900})
            tab.goto(page.as_uri())
            tab.screenshot(path=str(png), full_page=True)
            cards = tab.locator("#counts .count")
            counts = {cards.nth(i).locator(".label").inner_text(): cards.nth(i).locator(".n").inner_text()
                      for i in range(cards.count())}
            return counts, tab.inner_text("body")
        finally:
            browser.close()


async def test_html_register_shows_its_counts_in_chromium(scenario, tmp_path):
    """The register as HTML is one file with no external assets; Chromium renders it with the chain's
    name, the counts at the top as the session's requests give them, and each section."""
    page, png = tmp_path / "register.html", tmp_path / "register.png"
    day_after_deadline = date.fromordinal(scenario.deadline.toordinal() + 1)

    assert 0 == await slett("evidence", "--since", scenario.started.isoformat(), "--until", scenario.ended.isoformat(),
                            "--today", day_after_deadline.isoformat(), "--format", "html", "--out", str(page))
    counts, text = await asyncio.to_thread(render, page, png)

    html = page.read_text(encoding="utf-8")
    assert [] == re.findall(r"<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import", html)
    assert {"requests": "5", "done": "1", "in progress": "1", "waiting for settlement": "1",
            "waiting for a person": "1", "failed": "1", "overdue": "3", "due within 7 days": "0",
            "answered late": "0"} == {k: counts[k] for k in ("requests", "done", "in progress",
                                                             "waiting for settlement", "waiting for a person",
                                                             "failed", "overdue", "due within 7 days",
                                                             "answered late")}
    assert "Erasure register · Demo Trening AS" in text
    for heading in ("Past or within 7 days of the deadline (3)", "Manual steps waiting (1)", "Failures (1)",
                    "All requests (5)", "Evidence chains"):
        assert heading in text
    assert all(request_id in text for request_id in scenario.ids.values())
    assert png.stat().st_size > 20_000
