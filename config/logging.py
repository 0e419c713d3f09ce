"""One structlog set-up for the whole system, with personal data redacted on the way out.

Call `configure_logging` once at each edge (command line, worker, webhook receiver, flow process);
calling it again replaces the set-up rather than adding to it. Name loggers under "slett"
(`structlog.get_logger("slett.http")`): structlog hands every event to the standard `logging` module,
so any stdlib handler sees it. Prefect ships these events to the flow run's logs in the UI when the
flow process runs with PREFECT_LOGGING_EXTRA_LOGGERS=slett: Prefect then attaches its API handler to
the "slett" logger, and that handler receives each event as one readable, already redacted line.
Outside a flow run that handler has no run to write to and warns; a process that logs outside runs
and still sets the variable wants PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW=ignore as well.

Output goes to stderr: JSON lines when fmt is "json", or "auto" and stderr is not a terminal; a
readable console otherwise. The level applies to slett's loggers; other libraries show warnings and
above. Prefect's console handler on the root logger is replaced by slett's, so Prefect's own lines
come out once, in the same format, and redacted.

No personal data in logs (README, "Privacy of the system itself"): e-mail addresses and phone
numbers are masked wherever they appear, and the values of keys that name personal data (name,
email, phone, address, ...) are masked whatever they hold. This is a safety net, not a licence:
a name in free text cannot be recognised, so names are never logged in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TextIO
from uuid import UUID

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
HANDLER_NAME = "slett"
FORMATS = ("auto", "json", "console")

_EMAIL = re.compile(
    # "%40" is an "@" escaped in a URL: httpx logs full URLs, query strings included.
    r"[\w.%+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"
)
_PHONE = re.compile(
    # Not part of a longer number, id or amount: a 9-digit org number "923 609 016" or the digits
    # of a UUID or a timestamp must not read as a phone number.
    r"(?<![\w+-])(?<!\d )"
    r"(?:"
    # Norwegian: 8 digits, optionally after +47 or 0047, optionally spaced ("12 34 56 78",
    # "123 45 678"). Without a country code the first digit is 2-9: Nkom's numbering plan gives
    # 0 and 1 to short and special numbers.
    r"(?:(?:\+|00)47 ?\d|[2-9])(?: ?\d){7}"
    # International E.164: "+", a country code, 7 to 15 digits in all, spaces or hyphens allowed.
    r"|\+[1-9](?:[ -]?\d){6,14}"
    r")"
    r"(?![\w-])(?! \d)(?![.,]\d)"
)

# A key names personal data when one of its words is one of these (so "hostname", "filename" and
# "classname" stay readable) ...
_PERSONAL_WORDS = frozenset(
    {
        "name", "firstname", "lastname", "fullname", "surname", "username", "nickname",
        "ssn", "dob", "navn", "fornavn", "etternavn", "epost", "telefon", "adresse",
        "personnummer", "fodselsdato", "fødselsdato",
    }
)  # fmt: skip
# ... or one of its words contains one of these ("member_email", "contactPhone", "ip_address") ...
_PERSONAL_FRAGMENTS = (
    "email", "phone", "mobile", "address", "street", "birthdate", "fodselsnummer", "fødselsnummer",
)  # fmt: skip
# ... or its words run in this order ("e-mail", "birth_date", "date_of_birth").
_PERSONAL_PHRASES = (("e", "mail"), ("e", "post"), ("birth", "date"), ("date", "of", "birth"))

_CAMEL_HUMP = re.compile(r"(?<=[a-zæøå0-9])(?=[A-ZÆØÅ])")
_WORD_BREAK = re.compile(r"[^a-z0-9æøå]+")
_PLAIN = (bool, int, float, Decimal, date, datetime, time, timedelta, UUID, Enum)
_MAX_DEPTH = 20


def redact_text(text: str) -> str:
    """The text with every e-mail address and phone number in it replaced by "[redacted]"."""
    return _PHONE.sub(REDACTED, _EMAIL.sub(REDACTED, text))


def is_personal_key(key: str) -> bool:
    """Whether a field of this name holds personal data (name, email, phone, address, ...)."""
    words = tuple(word for word in _WORD_BREAK.split(_CAMEL_HUMP.sub("_", key).lower()) if word)
    if any(word in _PERSONAL_WORDS for word in words):
        return True
    if any(fragment in word for word in words for fragment in _PERSONAL_FRAGMENTS):
        return True
    return any(
        words[start : start + len(phrase)] == phrase
        for phrase in _PERSONAL_PHRASES
        for start in range(len(words))
    )


def redact(value: object, _depth: int = 0) -> object:
    """The value with personal data replaced by "[redacted]", looking inside dicts, lists and tuples."""
    if value is None or (isinstance(value, _PLAIN) and not isinstance(value, str)):
        return value
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        masked = redact_text(value)
        return value if masked == value else masked
    if isinstance(value, Mapping):
        return _redact_mapping(value, _depth)
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact(item, _depth + 1) for item in value]
        return items if isinstance(value, list) else tuple(items)
    # Anything else is shown by its str() or repr() (JSON falls back to repr): mask it if either leaks.
    shown = str(value)
    masked = redact_text(shown)
    if masked != shown or redact_text(repr(value)) != repr(value):
        return masked
    return value


def _redact_mapping(mapping: Mapping[Any, object], depth: int = 0) -> dict[Any, object]:
    return {
        (redact_text(key) if isinstance(key, str) else key): (
            REDACTED if isinstance(key, str) and is_personal_key(key) else redact(item, depth + 1)
        )
        for key, item in mapping.items()
    }


def redact_personal_data(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor that masks personal data in the event and all its fields."""
    return {key: REDACTED if is_personal_key(key) else redact(value) for key, value in event_dict.items()}


# Prefect's line for each task run that finished Completed (or Cached): a row in Prefect's log table per task run,
# 17 of an erasure's 21, redacted and shipped, while the task run's state history says the same. Failures, retries
# and crashes still log.
COMPLETED_LINES = ("Finished in state Completed(", "Finished in state Cached(")


class WithoutCompletions(logging.Filter):
    """Drops Prefect's INFO line that a task run finished completed; lets every other record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether the record is anything but a task run's completion line."""
        return not (record.levelno == logging.INFO and isinstance(record.msg, str)
                    and record.msg.startswith(COMPLETED_LINES))


class RedactingFilter(logging.Filter):
    """Masks personal data in a standard log record: its message, arguments, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place and let it through."""
        if isinstance(record.msg, _Event):
            record.msg = _Event(redact_personal_data(None, record.levelname.lower(), record.msg))
        else:
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):
            record.args = _redact_mapping(record.args)
        elif record.args:
            record.args = tuple(redact(arg) for arg in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class _Event(dict[str, Any]):
    """A structlog event inside a log record: a dict to slett's formatter, one line to other handlers."""

    _SHOWN_APART = ("event", "level", "logger", "timestamp", "stack", "exception")

    def __str__(self) -> str:
        fields = " ".join(
            f"{key}={value!r}" if isinstance(value, str) and " " in value else f"{key}={value}"
            for key, value in self.items()
            if key not in self._SHOWN_APART
        )
        line = " ".join(part for part in (str(self.get("event", "")), fields) if part)
        blocks = [str(self[key]) for key in ("stack", "exception") if key in self]
        return "\n".join([line, *blocks])


def _hand_to_logging(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> tuple[tuple[_Event], dict[str, Any]]:
    # structlog's ProcessorFormatter.wrap_for_formatter, but the dict also prints as a readable line,
    # for handlers slett does not format, such as Prefect's API handler on the "slett" logger.
    # exc_info=False: logging's Logger.exception would attach the raw traceback, unredacted, for those
    # handlers to print again; format_exc_info has already put a redacted one in the event.
    return (_Event(event_dict),), {"extra": {"_logger": logger, "_name": method_name}, "exc_info": False}


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Send slett's structlog events and all standard logging to stderr, redacted, once."""
    slett_level = _level_number(level)
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    stream = sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            timestamper,
            structlog.processors.StackInfoRenderer(),
            # Tracebacks become text here so that redaction sees them (httpx errors print URLs).
            structlog.processors.format_exc_info,
            redact_personal_data,
            _hand_to_logging,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so that a later configure_logging (or structlog.testing) reaches every logger.
        cache_logger_on_first_use=False,
    )

    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
                structlog.stdlib.ExtraAdder(allow=("flow_run_id", "task_run_id")),
                timestamper,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_personal_data,
                _renderer(as_json, stream),
            ],
        )
    )

    root = logging.getLogger()
    for old in list(root.handlers):
        # Ours from an earlier call, and Prefect's console handler, which would print everything twice.
        if old.get_name() == HANDLER_NAME or type(old).__name__ == "PrefectConsoleHandler":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(logging.WARNING, slett_level))
    logging.getLogger("slett").setLevel(slett_level)
    # httpx logs every request's full URL at INFO, and a query string may carry an e-mail address.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # Prefect ships run logs to its API through handlers of its own, which slett does not format:
    # redact at the run loggers, and at whatever handler Prefect has put on "slett" by now.
    task_runs = logging.getLogger("prefect.task_runs")
    if not any(isinstance(present, WithoutCompletions) for present in task_runs.filters):
        task_runs.filters.insert(0, WithoutCompletions())  # first: a dropped line is not redacted for nothing
    for shipped in ("prefect.flow_runs", "prefect.task_runs", "slett"):
        _redact_once(logging.getLogger(shipped))
    for prefect_handler in logging.getLogger("slett").handlers:
        _redact_once(prefect_handler)


def _redact_once(filterer: logging.Filterer) -> None:
    if not any(isinstance(present, RedactingFilter) for present in filterer.filters):
        filterer.addFilter(RedactingFilter())


def _level_number(level: str) -> int:
    levels = logging.getLevelNamesMapping()
    try:
        return levels[level.upper()]
    except KeyError:
        raise ValueError(
            f"log level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got {level!r})"
        ) from None


def _renderer(as_json: bool, stream: TextIO) -> Processor:
    if as_json:
        return structlog.processors.JSONRenderer(ensure_ascii=False)
    return structlog.dev.ConsoleRenderer(colors=stream.isatty())
