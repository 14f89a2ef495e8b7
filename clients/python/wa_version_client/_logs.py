"""Logs: one JSON object per line.

    {"time": "2026-11-25T20:56:01.123Z", "level": "info", "logger": "wa_version_client.watch",
     "event": "…"}

Every secret a process holds (`hide()`: a Redis password, the service's admin secrets)
is masked in every line, tracebacks included, should a library's message ever carry
one. A program adds fields of its own by overriding `JsonFormatter.context`.

Every value in a line is cut here, in the one formatter every process of ours installs,
so a value read from Redis or HTTP (a job's field, a message, an error quoting a body)
never makes a line of megabytes, whichever call logged it: a string argument or field
past MAX_CHARS, a list past MAX_ITEMS, the event past MAX_EVENT, each traceback line
past MAX_CHARS, ends in `…[cut, N chars]` (or items). Cutting at the formatter rather
than at each call means no call site can forget it; secrets are masked before cutting,
so a cut never leaves part of one behind.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

MASK = "***"
_hidden: set[str] = set()

MAX_CHARS = 300  # of one value: an argument, a field, a list item, a traceback line
MAX_ITEMS = 50  # of one list field
MAX_EVENT = 2000  # of the event as formatted (a message may quote values itself)
_PLAIN = (bool, int, float, type(None))


def cut(text: str, limit: int = MAX_CHARS) -> str:
    """`text`, or its first `limit` characters marked as cut, with its length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[cut, {len(text)} chars]"


def _masked(text: str) -> str:
    for secret in _hidden:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _short(value: object) -> object:
    """A value ready for a line: numbers as they are; lists cut to MAX_ITEMS; anything
    else whose text is too long as that text, masked and cut."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list | tuple):
        shown = [_short(item) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            shown.append(f"…[cut, {len(value)} items]")
        return shown
    text = value if isinstance(value, str) else str(value)
    return cut(_masked(text)) if len(text) > MAX_CHARS else value


def _event(record: logging.LogRecord) -> str:
    """The record's message with each argument cut, then cut as a whole."""
    message = str(record.msg)
    args = record.args
    if args:
        if isinstance(args, tuple):
            message = message % tuple(_short(arg) for arg in args)
        else:
            message = message % {key: _short(arg) for key, arg in args.items()}
    return cut(_masked(message), MAX_EVENT)


def hide(*secrets: str) -> None:
    """Mask each of `secrets` wherever it would appear in a log line of this process."""
    # Short values would mask ordinary words; nothing this service holds is that short.
    _hidden.update(secret for secret in secrets if len(secret) >= 4)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, secrets masked."""

    # Attributes a call may pass with `extra=` that belong in the line.
    extra_fields: tuple[str, ...] = ()

    def context(self) -> dict[str, object]:
        """Fields of the moment every line carries (none here; a subclass adds its own)."""
        return {}

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, object] = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": _event(record),
        }
        entry.update({name: _short(value) for name, value in self.context().items()})
        for field in self.extra_fields:
            if hasattr(record, field):
                entry[field] = _short(getattr(record, field))
        if record.exc_info:
            lines = self.formatException(record.exc_info).splitlines()
            entry["traceback"] = "\n".join(cut(_masked(line)) for line in lines)
        line = json.dumps(entry, default=str)
        for secret in _hidden:
            # Masked in the JSON text, and in the form json.dumps gives it when escaped.
            line = line.replace(secret, MASK).replace(json.dumps(secret)[1:-1], MASK)
        return line


def setup_logging(
    level: int = logging.INFO,
    stream: TextIO | None = None,
    formatter: logging.Formatter | None = None,
) -> None:
    """JSON lines (`formatter`, a JsonFormatter by default) on `stream` (stdout by
    default) for every logger of this process."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter or JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
