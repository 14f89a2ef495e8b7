"""Logs: one JSON object per line, with the request and job they belong to.

    {"time": "2026-11-25T20:56:01.123Z", "level": "info", "logger": "worker.consumer",
     "event": "answered 3 refresh jobs", "job_ids": ["…"], "request_ids": ["…"]}

`request_id` is set per HTTP request (from X-Request-ID, or generated) and rides along
in the job, so a refresh can be followed from the web process into the worker's lines.
Nothing here ever logs a header, so the admin secret cannot reach a log; and every
secret a process holds (`hide()`: the admin secrets, the Redis password) is masked in
every line, tracebacks included, should a library's message ever carry one.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

request_id: ContextVar[str] = ContextVar("request_id", default="")

MASK = "***"
_hidden: set[str] = set()


def hide(*secrets: str) -> None:
    """Mask each of `secrets` wherever it would appear in a log line of this process."""
    # Short values would mask ordinary words; nothing this service holds is that short.
    _hidden.update(secret for secret in secrets if len(secret) >= 4)


# Attributes a call may pass with `extra=` that belong in the line.
_FIELDS = ("job_ids", "request_ids")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, object] = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        if current := request_id.get():
            entry["request_id"] = current
        for field in _FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        line = json.dumps(entry, default=str)
        for secret in _hidden:
            # Masked in the JSON text, and in the form json.dumps gives it when escaped.
            line = line.replace(secret, MASK).replace(json.dumps(secret)[1:-1], MASK)
        return line


def setup_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """JSON lines on `stream` (stdout by default) for this process, uvicorn's loggers too."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    # httpx logs every request at INFO: a line per fetch that says less than ours, and
    # a measurable share of the worker's time per job.
    logging.getLogger("httpx").setLevel(logging.WARNING)
