"""docs/promises.md: every test it names exists, every quote is in its chain's seed, every chain answers every
promise issues 15 and 16 list."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from config.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "promises.md"
SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"  # the chains' policies, beside the checkout (../shared/seeds)
PROMISES = ("Processors named", "Withdrawal of consent", "Active member", "Legal hold", "Art. 19 recipients",
            "Acknowledgment and delay letters", "DPO notifications", "Working days", "Deleted after N, on time",
            "Course over", "Re-added after erasure", "Unknown member", "Per-category holds")
STATUSES = ("met", "assumption", "partly met", "not met", "no promise")
CHAINS = {"Aktiv365": "aktiv365", "K24": "k24", "Spenst": "spenst", "MOVA": "mova", "Vekstly": "vekstly"}
TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
SEED = re.compile(r"`(\d{3}_[0-9a-f]{16}\.txt)`")
NONE = "—"


@dataclass(frozen=True)
class Row:
    """One promise of one chain as the document states it."""

    chain: str
    seed: str
    promise: str
    quote: str  # without its «»; empty where the policy says nothing
    tests: tuple[tuple[str, str], ...]
    status: str


def rows(text: str) -> list[Row]:
    """The promise rows of every chain's table, under the chain's `## <chain> · seed `<file>`` heading."""
    found: list[Row] = []
    chain = seed = ""
    for line in text.splitlines():
        if line.startswith("## "):
            named = SEED.search(line)
            chain, seed = line[3:].split(" · ")[0], named.group(1) if named else ""
        elif chain and line.startswith("| ") and not line.startswith("| Promise |"):
            promise, quote, tests, status = (cell.strip() for cell in line.strip()[1:-1].split("|"))
            said = "" if quote == NONE else quote.removeprefix("«").removesuffix("»")
            found.append(Row(chain, seed, promise, said, tuple(TEST.findall(tests)), status))
    return found


def defined_tests(path: Path) -> set[str]:
    """The test functions a test module defines at its top level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")}


def missing_tests(text: str, root: Path) -> list[str]:
    """Each `file::test` the text names whose file or function does not exist under `root`."""
    missing = []
    for file, name in dict.fromkeys(TEST.findall(text)):
        path = root / file
        if not path.is_file() or name not in defined_tests(path):
            missing.append(f"{file}::{name}")
    return missing


def normal(text: str) -> str:
    """Whitespace folded to single spaces."""
    return " ".join(text.split())


def misquoted(found: list[Row], seeds: Path) -> list[tuple[str, str]]:
    """(chain, quote) for each quote not in its chain's seed, word for word (whitespace normalised); a row whose
    quote is not in «» or whose seed file is missing counts too."""
    wrong = []
    for row in found:
        seed = seeds / row.seed
        said = normal(seed.read_text(encoding="utf-8")) if row.seed and seed.is_file() else ""
        if row.quote and (row.quote.startswith("«") or normal(row.quote) not in said):
            wrong.append((row.chain, row.quote))
    return wrong


def test_every_test_the_promises_name_exists():
    """Each `tests/<file>.py::<test>` docs/promises.md names is a test function in that file."""
    text = DOC.read_text(encoding="utf-8")

    assert [] == missing_tests(text, PROJECT_ROOT)
    assert len(set(TEST.findall(text))) > 60


def test_every_quote_is_word_for_word_in_its_chains_seed():
    """Each «quote» of a chain's table appears verbatim (whitespace normalised) in that chain's seed, and each chain's
    heading names its own seed and chain file."""
    found = rows(DOC.read_text(encoding="utf-8"))
    headings = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]

    assert [] == misquoted(found, SEEDS)
    assert [] == [h for h in headings if f"`config/controllers/{CHAINS.get(h[3:].split(' · ')[0])}.yaml`" not in h]
    assert 5 == len({row.seed for row in found if (SEEDS / row.seed).is_file()})


def test_every_chain_answers_every_promise_with_a_status():
    """Each of the five chains has at least one row for each promise of issues 15 and 16 and none other; each row's
    status is one of the five, and a row that says `met` names a test."""
    found = rows(DOC.read_text(encoding="utf-8"))

    assert {chain: set(PROMISES) for chain in CHAINS} == {
        chain: {row.promise for row in found if row.chain == chain} for chain in CHAINS}
    assert len(found) == len([row for row in found if row.chain in CHAINS])
    assert [] == [row for row in found if not row.status.startswith(STATUSES)]
    assert [] == [row for row in found if row.status.startswith("met") and not row.tests]


def test_the_checks_find_a_test_that_does_not_exist_and_a_misquote(tmp_path):
    """A document naming a test function its file lacks, a file that does not exist, and a quote its seed does not
    hold is caught by each check, naming what is wrong."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_there():\n    pass\n")
    (tmp_path / "001_0123456789abcdef.txt").write_text("Vi sletter\n  alt etter 6 mnd.\n")
    text = ("## Kjede · seed `001_0123456789abcdef.txt`\n\n"
            "| Promise | The policy says | Test | Status |\n|---|---|---|---|\n"
            "| Deleted after N, on time | «Vi sletter alt etter 6 mnd.» | `tests/test_a.py::test_there` | met |\n"
            "| Legal hold | «Vi beholder alt» | `tests/test_a.py::test_gone` `tests/test_b.py::test_x` | met |\n")

    assert ["tests/test_a.py::test_gone", "tests/test_b.py::test_x"] == missing_tests(text, tmp_path)
    assert [("Kjede", "Vi beholder alt")] == misquoted(rows(text), tmp_path)
