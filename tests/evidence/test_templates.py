"""The evidence templates: the register's page escapes what it shows; the letter's words are complete."""

from __future__ import annotations

from datetime import UTC, date, datetime

from evidence.letter import words
from evidence.register import FAILED, Entry, Register
from evidence.register_html import render_html

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_register_page_escapes_names_and_reasons():
    """A chain name or a failure reason with HTML in it is shown as text, never as markup."""
    entry = Entry("req-1", "demo", "<b>Demo</b> & Co", "sr-1", "erasure", NOW, date(2026, 4, 2), None, FAILED,
                  "Failed", "", None, None, "run-1", ({"system": "fixit", "status": "failed", "verified": False},),
                  reason="<script>alert(1)</script>")
    page = render_html(Register(NOW, date(2026, 3, 2), None, None, None, {"demo": "<b>Demo</b> & Co"},
                                (entry,), ()))

    assert "<script>" not in page and "<b>Demo" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Erasure register · &lt;b&gt;Demo&lt;/b&gt; &amp; Co" in page
    assert '<td>fixit</td><td></td><td></td><td>failed</td><td>no</td>' in page


def test_letter_words_load_for_both_languages():
    """Each language's words file gives every sentence; English writes months, Norwegian dd.mm.yyyy."""
    nb, en = words("nb"), words("en")

    assert "31.12.2031" == nb.day(date(2031, 12, 31))
    assert "31 December 2031" == en.day(date(2031, 12, 31))
    assert "fakturaer" == nb.categories["invoices"]
    assert [True, True] == ["Datatilsynet" in nb.complain, "Datatilsynet" in en.complain]
