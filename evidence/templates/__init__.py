"""The Jinja templates evidence is rendered with: the member's letter and the register's HTML page."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent


@functools.cache
def environment() -> jinja2.Environment:
    """One environment for every template here: HTML escaped, block tags leave no blank lines."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(("html", "html.jinja")), trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["word"] = lambda key, mapping: mapping.get(key, key)
    env.filters["cell"] = cell
    env.filters["slug"] = lambda label: re.sub(r"[^a-z0-9]+", "-", str(label).lower()).strip("-")
    return env


def cell(value: object) -> str:
    """A value as a table cell shows it: nothing for None, yes or no, a time to the minute."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(name: str, **context: Any) -> str:
    """A template rendered with this context."""
    return environment().get_template(name).render(**context)
