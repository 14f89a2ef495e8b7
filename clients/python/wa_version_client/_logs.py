"""Logs: one JSON object per line.

    {"time": "2026-11-25T20:56:01.123Z", "level": "info", "logger": "wa_version_client.watch",
     "event": "…"}

Every secret a process holds (`hide()`: a Redis password, the service's admin secrets)
is masked in every line, tracebacks included, should a library's message ever carry
one. A program adds fields of its own by overriding `JsonFormatter.context`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

MASK = "***"
_hidden: set[str] = set()


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
            "event": record.getMessage(),
        }
        entry.update(self.context())
        for field in self.extra_fields:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
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
