"""Reading settings from environment variables: blank means unset, anything else must parse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wa_version_client._durations import parse_duration
from wa_version_client.contract._errors import ConfigError


@dataclass(frozen=True, slots=True)
class EnvReader:
    """Typed reads of `env`; a malformed value raises ConfigError naming the variable."""

    env: Mapping[str, str]

    def text(self, name: str, default: str = "") -> str:
        return self.env.get(name, "").strip() or default

    def duration(self, name: str, default: float) -> float:
        raw = self.text(name)
        return parse_duration(name, raw) if raw else default

    def integer(self, name: str, default: int, minimum: int = 1) -> int:
        raw = self.text(name)
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or int(raw) < minimum:
            raise ConfigError(f"{name}={raw[:40]!r} is not a whole number ≥ {minimum}")
        return int(raw)
