"""slett audit-pii: an operator's scan of a Prefect home and database for given identifiers."""

from __future__ import annotations

import sqlite3

from cli.main import main


def make_database(path, value: str) -> str:
    with sqlite3.connect(path) as db:
        db.execute("create table log (id integer primary key, message text)")
        db.execute("insert into log (message) values (?)", (f"something about {value}",))
    return f"sqlite+aiosqlite:///{path}"


def test_a_planted_identifier_is_found_by_table_and_column(tmp_path, capsys):
    """A value in a database row is reported by table.column and line number, never echoed, exit 1."""
    identifiers = tmp_path / "ids.txt"
    identifiers.write_text("Kari Testesen\nola@example.no\n")
    url = make_database(tmp_path / "prefect.db", "ola@example.no")

    code = main(["audit-pii", "--identifiers", str(identifiers), "--database", url])

    out = capsys.readouterr().out
    assert 1 == code
    assert "identifier on line 2 found in log.message" in out
    assert "ola@example.no" not in out


def test_a_clean_home_and_database_pass(tmp_path, capsys):
    """No identifier anywhere: zero hits and exit 0."""
    identifiers = tmp_path / "ids.txt"
    identifiers.write_text("Kari Testesen\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "result.json").write_text('{"status": "erased"}')
    url = make_database(tmp_path / "prefect.db", "sr-0123")

    code = main(["audit-pii", "--identifiers", str(identifiers), "--prefect-home", str(home), "--database", url])

    assert 0 == code
    assert "1 identifiers, 2 place(s) scanned, 0 hit(s)" in capsys.readouterr().out


def test_a_file_under_the_home_is_found(tmp_path, capsys):
    """A value in a file under the Prefect home is reported with the file's path."""
    identifiers = tmp_path / "ids.txt"
    identifiers.write_text("+47 900 01 001\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "flow.log").write_text("called +47 900 01 001")

    code = main(["audit-pii", "--identifiers", str(identifiers), "--prefect-home", str(home)])

    out = capsys.readouterr().out
    assert 1 == code
    assert f"identifier on line 1 found in {home / 'flow.log'}" in out
