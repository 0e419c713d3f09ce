"""One structlog set-up: personal data never leaves the process in a log line."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from datetime import date
from decimal import Decimal

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from config.logging import (
    HANDLER_NAME,
    REDACTED,
    RedactingFilter,
    configure_logging,
    redact,
    redact_personal_data,
    redact_text,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Collecting(logging.Handler):
    """A plain stdlib handler, as Prefect's API handler is: default formatting, lines kept."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(autouse=True)
def restore_logging():
    """Put logging and structlog back as they were, whatever a test configured."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = ("slett", "httpx", "httpcore", "prefect.flow_runs", "prefect.task_runs")
    loggers = {name: (logging.getLogger(name).level, list(logging.getLogger(name).filters)) for name in names}
    was_configured, structlog_config = structlog.is_configured(), structlog.get_config()
    yield
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers and (
            handler.get_name() == HANDLER_NAME or type(handler).__name__ == "PrefectConsoleHandler"
        ):
            root.addHandler(handler)
    root.setLevel(level)
    for name, (logger_level, filters) in loggers.items():
        logging.getLogger(name).setLevel(logger_level)
        logging.getLogger(name).filters[:] = filters
    if was_configured:
        structlog.configure(**structlog_config)
    else:
        structlog.reset_defaults()


class Stderr:
    """What the test has written to stderr so far (pytest's capture, not a terminal)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._written = ""

    def getvalue(self) -> str:
        self._written += self._capsys.readouterr().err
        return self._written


@pytest.fixture
def stderr(capsys):
    """The test's stderr, captured; configure_logging must be called in the test to write to it."""
    return Stderr(capsys)


@pytest.fixture
def shipped():
    """A handler on the "slett" logger, where Prefect puts its API handler."""
    handler = Collecting()
    logging.getLogger("slett").addHandler(handler)
    yield handler
    logging.getLogger("slett").removeHandler(handler)


def ours() -> list[logging.Handler]:
    """slett's handlers on the root logger."""
    return [handler for handler in logging.getLogger().handlers if handler.get_name() == HANDLER_NAME]


# What is redacted.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reminder sent to ola.nordmann@example.no", "reminder sent to [redacted]"),
        ("kari+gym@bølgen.no", "[redacted]"),
        (
            "GET https://api.example/members?email=ola%40example.no&x=1",
            "GET https://api.example/members?email=[redacted]&x=1",
        ),
    ],
)
def test_email_addresses_are_redacted(text, expected):
    """E-mail addresses are redacted, also when escaped in a URL's query string."""
    assert expected == redact_text(text)


@pytest.mark.parametrize(
    "phone",
    [
        "98765432",
        "987 65 432",
        "98 76 54 32",
        "22 33 44 55",
        "+47 98765432",
        "+4798765432",
        "+47 987 65 432",
        "0047 98 76 54 32",
        "004798765432",
    ],
)
def test_norwegian_phone_numbers_are_redacted(phone):
    """Norwegian numbers are redacted: 8 digits, spaced or not, with or without +47 or 0047."""
    assert f"call {REDACTED} today" == redact_text(f"call {phone} today")


@pytest.mark.parametrize("phone", ["+44 20 7946 0958", "+46701234567", "+1-202-555-0143", "+358 40 1234567"])
def test_international_phone_numbers_are_redacted(phone):
    """International E.164 numbers are redacted."""
    assert f"tel: {REDACTED}." == redact_text(f"tel: {phone}.")


@pytest.mark.parametrize(
    "key",
    [
        "name",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "e-mail",
        "phone",
        "mobile",
        "address",
        "street",
        "birth_date",
        "ssn",
        "fodselsnummer",
        "fødselsnummer",
        "member_email",
        "contactPhone",
        "firstName",
        "eMail",
        "billing_address",
        "guardian_name",
        "mobile_number",
        "date_of_birth",
        "fornavn",
    ],
)
def test_values_of_personal_keys_are_redacted(key):
    """A field whose name denotes personal data is redacted whatever it holds."""
    expected = {"event": "member found", key: REDACTED}

    assert expected == redact_personal_data(None, "info", {"event": "member found", key: "Ola Nordmann"})


def test_personal_keys_are_redacted_whole_whatever_they_hold():
    """A personal field holding a structure is replaced as a whole."""
    event = {"event": "x", "address": {"street": "Storgata 1", "city": "Oslo"}, "phone": 98765432}
    expected = {"event": "x", "address": REDACTED, "phone": REDACTED}

    assert expected == redact_personal_data(None, "info", event)


def test_nested_values_are_redacted():
    """Redaction reaches into nested dicts, lists and tuples."""
    event = {
        "event": "lookup",
        "holdings": [{"system": "ibooking", "contact": {"email": "a@b.no", "ids": ("7", "kari@x.no")}}],
    }
    expected = {
        "event": "lookup",
        "holdings": [{"system": "ibooking", "contact": {"email": REDACTED, "ids": ("7", REDACTED)}}],
    }

    assert expected == redact_personal_data(None, "info", event)


def test_the_event_message_is_redacted():
    """The event message itself is redacted."""
    event = {"event": "could not reach ola@x.no at +47 98765432"}
    expected = {"event": f"could not reach {REDACTED} at {REDACTED}"}

    assert expected == redact_personal_data(None, "info", event)


def test_an_object_that_shows_personal_data_is_replaced_by_its_redacted_text():
    """An object whose text would show an e-mail address is logged as its redacted text."""
    error = ValueError("Client error '404' for url 'https://api/?email=ola%40x.no'")

    assert f"Client error '404' for url 'https://api/?email={REDACTED}'" == redact(error)


# What is not redacted.


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("due_date", "2026-11-23"),
        ("received", date(2026, 11, 23)),
        ("timestamp", "2026-11-23T16:45:00.123456Z"),
        ("timestamp", "2026-11-23T16:45:00+01:00"),
        ("flow_run_id", "1dc17c62-13bc-447d-9027-12dbe72b874f"),
        ("request_id", "52345678-1234-4234-9234-123456789012"),
        ("amount", "1299.00"),
        ("amount", "12 500,00"),
        ("amount", 12345678),
        ("amount", Decimal("45678901.50")),
        ("org_number", "923609016"),
        ("org_number", "923 609 016"),
        ("invoice", "INV-98765432"),
        ("kid", "0012345678903"),
        ("hostname", "worker-1"),
        ("filename", "spenst.yaml"),
        ("member_id", "M-104233"),
        ("url", "https://mc/3.0/lists/abc/members/5d41402abc4b2a76b9719d911017c592"),
    ],
)
def test_dates_ids_amounts_and_org_numbers_are_kept(key, value):
    """Dates, UUIDs, flow run ids, amounts, org numbers and ordinary keys pass unchanged."""
    expected = {"event": "step done", key: value}

    assert expected == redact_personal_data(None, "info", {"event": "step done", key: value})


@given(st.from_regex(r"[2-9]\d{7}", fullmatch=True), st.lists(st.booleans(), min_size=7, max_size=7))
def test_any_norwegian_number_is_redacted_however_it_is_spaced(digits, spaces):
    """Any 8-digit Norwegian number is redacted, whichever digits are spaced apart."""
    spaced = digits[0] + "".join(
        (" " if space else "") + digit for digit, space in zip(digits[1:], spaces, strict=True)
    )

    assert f"ring {REDACTED}" == redact_text(f"ring {spaced}")


@given(
    st.one_of(
        st.dates().map(date.isoformat),
        st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
        st.uuids().map(str),
        st.decimals(min_value=0, max_value=10**9, places=2).map(str),
        st.from_regex(r"[89]\d{8}", fullmatch=True),
        st.from_regex(r"[89]\d\d \d{3} \d{3}", fullmatch=True),
    )
)
def test_dates_ids_amounts_and_org_numbers_are_never_redacted(text):
    """ISO dates and times, UUIDs, amounts and 9-digit org numbers are never taken for personal data."""
    assert text == redact_text(text)


# The standard library's records.


def test_filter_redacts_a_standard_record_with_args():
    """A plain stdlib record (httpx, prefect) is redacted in its message and its arguments."""
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s %d from %s",
        ("GET", "https://api/?email=ola%40x.no", 200, "kari@x.no"), None,
    )  # fmt: skip

    RedactingFilter().filter(record)

    assert f"HTTP Request: GET https://api/?email={REDACTED} 200 from {REDACTED}" == record.getMessage()


def test_filter_redacts_named_args():
    """A record formatted from a dict of arguments has its personal keys and values redacted."""
    record = logging.LogRecord(
        "prefect", logging.INFO, __file__, 1, "%(email)s %(who)s %(count)d",
        ({"email": "ola@x.no", "who": "+47 98765432", "count": 3},), None,
    )  # fmt: skip

    RedactingFilter().filter(record)

    assert f"{REDACTED} {REDACTED} 3" == record.getMessage()


def test_filter_redacts_the_traceback():
    """A record's traceback is redacted before any formatter prints it."""
    try:
        raise RuntimeError("no member ola@x.no")
    except RuntimeError:
        record = logging.LogRecord("prefect", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    RedactingFilter().filter(record)
    printed = logging.Formatter().format(record)

    assert f"RuntimeError: no member {REDACTED}" == printed.splitlines()[-1]


# The set-up.


def test_json_lines_are_valid_json_with_the_redacted_value(stderr):
    """With fmt="json" each event is one JSON line, personal data redacted."""
    configure_logging("INFO", "json")

    structlog.get_logger("slett.test").info("member erased", email="ola@x.no", system="ibooking")

    line = json.loads(stderr.getvalue().splitlines()[-1])
    expected = {"event": "member erased", "email": REDACTED, "system": "ibooking", "logger": "slett.test"}
    assert expected == {key: line[key] for key in expected}


def test_auto_writes_json_when_stderr_is_not_a_terminal(stderr):
    """fmt="auto" writes JSON lines when stderr is not a terminal."""
    configure_logging()

    structlog.get_logger("slett.test").info("planned", systems=3)

    expected = {"event": "planned", "systems": 3}
    assert expected == {key: json.loads(stderr.getvalue())[key] for key in expected}


def test_auto_writes_a_console_in_a_terminal(monkeypatch):
    """fmt="auto" writes readable lines in a terminal, still redacted."""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    configure_logging()

    structlog.get_logger("slett.test").info("member erased", phone="98765432", system="ibooking")

    plain = ANSI.sub("", terminal.getvalue())
    expected = {"phone": REDACTED, "system": "ibooking"}
    assert expected == dict(re.findall(r"(\w+)=(\S+)", plain))
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain)


def test_third_party_records_are_redacted_in_the_output(stderr):
    """Other libraries' records come out in the same format, redacted."""
    configure_logging("INFO", "json")

    logging.getLogger("httpx").warning("retrying %s", "https://api/?email=ola%40x.no")

    line = json.loads(stderr.getvalue().splitlines()[-1])
    assert ("httpx", f"retrying https://api/?email={REDACTED}") == (line["logger"], line["event"])


def test_exceptions_are_redacted_in_the_output(stderr):
    """A logged exception's traceback is redacted."""
    configure_logging("INFO", "json")

    try:
        raise RuntimeError("no member ola@x.no")
    except RuntimeError:
        structlog.get_logger("slett.test").exception("lookup failed")

    line = json.loads(stderr.getvalue().splitlines()[-1])
    assert f"RuntimeError: no member {REDACTED}" == line["exception"].splitlines()[-1]


def test_a_handler_on_the_slett_logger_gets_one_readable_redacted_line(stderr, shipped):
    """A plain handler on "slett", as Prefect's API handler is, gets the event as one redacted line."""
    configure_logging("INFO", "json")

    structlog.get_logger("slett.test").info("erased", system="ibooking", email="ola@x.no", note="two words")

    assert [f"erased system=ibooking email={REDACTED} note='two words'"] == shipped.lines


def test_a_handler_on_the_slett_logger_gets_the_traceback_once_and_redacted(stderr, shipped):
    """A plain handler on "slett" gets the redacted traceback once, never the raw one."""
    configure_logging("INFO", "json")

    try:
        raise RuntimeError("no member ola@x.no")
    except RuntimeError:
        structlog.get_logger("slett.test").exception("lookup failed")

    (line,) = shipped.lines
    assert (1, f"RuntimeError: no member {REDACTED}") == (line.count("Traceback"), line.splitlines()[-1])


def test_configuring_twice_does_not_duplicate_handlers(stderr):
    """configure_logging is safe to call twice: one handler, one line per event."""
    configure_logging("INFO", "json")
    configure_logging("INFO", "json")

    structlog.get_logger("slett.test").info("once")

    handlers, lines = 1, 1
    assert handlers == len(ours())
    assert lines == len(stderr.getvalue().splitlines())


def test_configuring_replaces_prefects_console_handler(stderr):
    """Prefect's console handler on the root logger gives way, so nothing prints twice."""
    from prefect.logging.handlers import PrefectConsoleHandler

    logging.getLogger().addHandler(PrefectConsoleHandler())
    configure_logging("INFO", "json")

    prefects = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    assert not prefects


def test_prefect_run_loggers_are_redacted_once(stderr):
    """Prefect's flow and task run loggers get one redacting filter, however often configured."""
    configure_logging()
    configure_logging()

    filters = {
        name: [type(f) for f in logging.getLogger(name).filters if isinstance(f, RedactingFilter)]
        for name in ("prefect.flow_runs", "prefect.task_runs")
    }
    assert {"prefect.flow_runs": [RedactingFilter], "prefect.task_runs": [RedactingFilter]} == filters


def test_the_level_applies_to_slett_loggers(stderr):
    """Below the configured level slett's events are dropped."""
    configure_logging("WARNING", "json")

    structlog.get_logger("slett.test").info("not shown")
    structlog.get_logger("slett.test").warning("shown")

    expected = ["shown"]
    assert expected == [json.loads(line)["event"] for line in stderr.getvalue().splitlines()]


def test_httpx_logs_only_warnings(stderr):
    """httpx and httpcore log warnings only: their INFO lines carry full URLs."""
    configure_logging("DEBUG", "json")

    expected = (logging.WARNING, logging.WARNING)
    assert expected == (logging.getLogger("httpx").level, logging.getLogger("httpcore").level)


def test_an_unknown_format_is_refused():
    """An unknown output format is refused, naming the ones there are."""
    with pytest.raises(ValueError, match=r"log format must be one of auto, json, console \(got 'xml'\)"):
        configure_logging("INFO", "xml")


def test_an_unknown_level_is_refused():
    """An unknown level is refused, naming the ones there are."""
    with pytest.raises(ValueError, match=r"log level must be one of DEBUG, INFO, .* \(got 'LOUD'\)"):
        configure_logging("LOUD")


def test_a_task_runs_completion_line_is_dropped_and_its_failures_and_retries_are_kept():
    """Prefect's line that a task run finished Completed or Cached is not logged (its state says so); a failure, a
    retry and a crash are, as is a flow run's completion."""
    configure_logging("INFO", "json")
    task_runs, flow_runs = logging.getLogger("prefect.task_runs"), logging.getLogger("prefect.flow_runs")
    lines = [
        (task_runs, "Finished in state Completed()"),
        (task_runs, "Finished in state Cached(type=COMPLETED)"),
        (task_runs, "Task run failed with exception: Retryable('500') - Retry 1/1 will start 2 second(s) from now"),
        (task_runs, "Finished in state Failed('Task run encountered an exception')"),
        (task_runs, "Finished in state Crashed('Execution was interrupted')"),
        (flow_runs, "Finished in state Completed()"),
    ]

    logged = [(logger, text) for logger, text in lines
              if logger.filter(logger.makeRecord(logger.name, logging.INFO, __file__, 1, text, (), None))]

    assert lines[2:] == logged
