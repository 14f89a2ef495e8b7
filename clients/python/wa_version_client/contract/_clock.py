"""The one clock, and the one way times are written.

Pure functions that decide on time (shared/transitions.py, VersionState.refreshed_within)
take the moment as an argument, so their tests pass any time they like; only the edges
ask `utc_now()`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, in UTC, to the second (the precision every stored time has)."""
    return datetime.now(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, to the second: `2025-12-21T10:30:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Read a time written by `format_time` (fromisoformat: in C, unlike strptime)."""
    if not text.endswith("Z"):
        raise ValueError(f"{text[:40]!r} is not a UTC time ending in Z")
    return datetime.fromisoformat(text).astimezone(UTC)


def epoch_ms() -> int:
    """Wall-clock milliseconds since the epoch: job deadlines, which cross processes."""
    return time.time_ns() // 1_000_000
