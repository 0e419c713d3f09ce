"""The member's letter (GDPR Art. 12, 17-19): what was erased where, what is kept, why, until when."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from config.policy import WhileMember
from domain.values import Evidence, Extension
from evidence.templates import TEMPLATES, render


@dataclass(frozen=True)
class Words:
    """The letter's fixed text in one language, as templates/words/<language>.yaml gives it."""

    title: str
    reference: str
    received: str
    deadline: str
    extended: str
    answered: str
    erased: str
    limited: str
    kept: str
    kept_until: str
    review: str
    unfinished: str
    unfinished_after: str
    restricted: str
    complain: str
    roles: dict[str, str]
    statuses: dict[str, str]
    categories: dict[str, str]
    bases: dict[str, str] = field(default_factory=dict)  # a hold's basis in this language; else its citation
    months: tuple[str, ...] | None = None
    only: str = "{fields}"  # what a hold keeps of its category, and nothing more
    fields: dict[str, str] = field(default_factory=dict)  # a kept field in this language; else its name
    actions: dict[str, str] = field(default_factory=dict)  # what was done to a category
    withdrawal: dict[str, Any] = field(default_factory=dict)  # the answer to a withdrawal of marketing consent
    while_member: str = ""  # an erasure request while the membership runs: why the rest is kept, until when
    # The letters sent while a request waits (evidence/interim.py): their sentences by name.
    acknowledgment: dict[str, str] = field(default_factory=dict)
    delay: dict[str, str] = field(default_factory=dict)

    def day(self, when: date) -> str:
        """A date as this language writes it."""
        if self.months is None:
            return f"{when:%d.%m.%Y}"
        return f"{when.day} {self.months[when.month - 1]} {when.year}"


@functools.cache
def words(language: str) -> Words:
    """The letter's words in one language."""
    loaded: dict[str, Any] = yaml.safe_load((TEMPLATES / "words" / f"{language}.yaml").read_text(encoding="utf-8"))
    months = loaded.pop("months", None)
    return Words(**loaded, months=tuple(months) if months else None)


DONE = {"erased", "anonymised", "already_absent", "confirmed"}
KEPT = {"restricted", "refused"}


def render_letter(evidence: Evidence, chain: str | None = None, extension: Extension | None = None,
                  while_member: WhileMember | None = None) -> str:
    """The letter in Norwegian, then English, addressed by reference: it names no personal data."""
    steps = evidence.steps
    return render("letter.md.jinja", nb=words("nb"), en=words("en"), chain=chain or evidence.request.controller,
                  kept_while_member=getattr(evidence, "kept_while_member", None), while_member=while_member,
                  request=evidence.request, extension=extension,
                  deadline=extension.deadline if extension else evidence.request.deadline,
                  answered=evidence.finished.date() if evidence.finished and evidence.status == "done" else None,
                  erased=[s for s in steps if s.status in DONE],
                  # Restricted or refused with no end date is kept, not gone: the member is told so on its own.
                  limited=[s for s in steps if s.status in KEPT and s.retain_until is None],
                  holds=evidence.holds, steps={s.system: s for s in steps},
                  unfinished=[s for s in steps if s.status not in DONE | KEPT])


def render_withdrawal_letter(evidence: Evidence, chain: str, untouched: list[tuple[str, str]],
                             channels: tuple[str, ...]) -> str:
    """The answer to a withdrawal of marketing consent, in Norwegian, then English: where marketing stopped, the
    suppression entry, and the systems (role, system) left as they were; it names no personal data."""
    steps = evidence.steps
    return render("withdrawal.md.jinja", nb=words("nb"), en=words("en"), chain=chain, request=evidence.request,
                  answered=evidence.finished.date() if evidence.finished and evidence.status == "done" else None,
                  stopped=[s for s in steps if s.status in DONE], untouched=untouched, channels=channels,
                  unfinished=[s for s in steps if s.status not in DONE])
