"""Logging for the worker and the watcher: one format, on stderr."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO: a line per fetch that says less than ours, and
    # a measurable share of the worker's time per job.
    logging.getLogger("httpx").setLevel(logging.WARNING)
