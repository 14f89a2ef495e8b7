"""Durations as people write them in environment variables: `90`, `30s`, `10m`, `1h`, `250ms`."""

from __future__ import annotations

import re

from wa_version_client.contract._errors import ConfigError

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")


def parse_duration(name: str, text: str) -> float:
    """Return the duration in seconds; a bare number is seconds.

    `name` is the setting being parsed, so the error says which one is wrong.
    """
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ConfigError(
            f"{name}={text[:40]!r} is not a duration: use seconds or 30s, 10m, 1h, 250ms"
        )
    number, unit = match.groups()
    return float(number) * _UNIT_SECONDS[unit or "s"]
