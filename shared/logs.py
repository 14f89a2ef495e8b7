"""The service's logs: the client's JSON lines, with the request and jobs they belong to.

    {"time": "2026-11-25T20:56:01.123Z", "level": "info", "logger": "worker.consumer",
     "event": "answered 3 refresh jobs", "job_ids": ["…"], "request_ids": ["…"]}

`request_id` is set per HTTP request (from X-Request-ID, or generated) and rides along
in the job, so a refresh can be followed from the web process into the worker's lines.
Nothing here ever logs a header, so the admin secret cannot reach a log; every secret
the settings hold is masked (`hide`).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TextIO

from wa_version_client.runtime import JsonFormatter, hide
from wa_version_client.runtime import setup_logging as setup_json_logging

request_id: ContextVar[str] = ContextVar("request_id", default="")

__all__ = ["hide", "request_id", "setup_logging"]


class ServiceJsonFormatter(JsonFormatter):
    """Each line with the HTTP request it belongs to, and the jobs a call names."""

    extra_fields = ("job_ids", "request_ids")

    def context(self) -> dict[str, object]:
        current = request_id.get()
        return {"request_id": current} if current else {}


def setup_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """JSON lines on `stream` (stdout by default), uvicorn's loggers included."""
    setup_json_logging(level, stream, ServiceJsonFormatter())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    # httpx logs every request at INFO: a line per fetch that says less than ours, and
    # a measurable share of the worker's time per job.
    logging.getLogger("httpx").setLevel(logging.WARNING)
