"""The stored state: the current version and the bookkeeping of refreshes.

It lives in the Redis hash `<prefix>:version`, one field per attribute, every value a
string, so any Redis client can read it:

| field          | example                    | meaning                                        |
|----------------|----------------------------|------------------------------------------------|
| string         | 2.3000.1045818043          | the version to use for new connections         |
| array          | [2,3000,1045818043]        | the same, as JSON                              |
| seq            | 7                          | +1 each time the version changes               |
| epoch          | 1766313000000              | when this hash was first written (ms); a Redis |
|                |                            | that lost its data starts a new, larger epoch  |
| rev            | 42                         | +1 with every write: writers check it to know  |
|                |                            | the state they decided on is still the stored one |
| changed_at     | 2025-12-21T10:30:00Z       | when the version last changed                  |
| source         | https://web.whatsapp.com/… | where the last successful fetch read it        |
| last_refreshed | 2025-12-21T10:30:00Z       | the last fetch attempt, failed or not          |
| last_success   | 2025-12-21T10:30:00Z       | the last successful fetch                      |
| last_error     | upstream answered HTTP 503 | why the last attempt failed; empty after success |
| pinned         | 1                          | 1 while an operator pins the version: fetches  |
|                |                            | then record `upstream` without applying it     |
| upstream       | 2.3000.1045818043          | the version upstream reported last             |
| upstream_at    | 2025-12-21T10:30:00Z       | when upstream reported it                      |
| awaiting_      | 1                          | 1 after an unpin with no upstream version      |
|   upstream     |                            | known: the next fetch applies, older or not    |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import format_time, parse_time
from shared.errors import MessageError
from shared.version import WAVersion


@dataclass(frozen=True, slots=True)
class VersionState:
    """What the hash holds; the empty state is the one before any refresh."""

    version: WAVersion | None = None
    seq: int = 0
    epoch: int = 0
    rev: int = 0
    changed_at: datetime | None = None
    source: str = ""
    last_refreshed: datetime | None = None
    last_success: datetime | None = None
    last_error: str = ""
    pinned: bool = False
    upstream: WAVersion | None = None
    upstream_at: datetime | None = None
    awaiting_upstream: bool = False

    def refreshed_within(self, seconds: float, now: datetime) -> bool:
        """Whether the last attempt is less than `seconds` old (never, for 0)."""
        if seconds <= 0 or self.last_refreshed is None:
            return False
        return (now - self.last_refreshed).total_seconds() < seconds

    def to_hash(self) -> dict[str, str]:
        """Encode for HSET."""
        fields = {
            "seq": str(self.seq),
            "epoch": str(self.epoch),
            "rev": str(self.rev),
            "source": self.source,
            "last_error": self.last_error,
            "changed_at": _time_or_empty(self.changed_at),
            "last_refreshed": _time_or_empty(self.last_refreshed),
            "last_success": _time_or_empty(self.last_success),
            "pinned": "1" if self.pinned else "0",
            "upstream": "" if self.upstream is None else str(self.upstream),
            "upstream_at": _time_or_empty(self.upstream_at),
            "awaiting_upstream": "1" if self.awaiting_upstream else "0",
        }
        if self.version is not None:
            fields["string"] = str(self.version)
            fields["array"] = json.dumps(self.version.array, separators=(",", ":"))
        return fields

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> VersionState:
        """Decode what HGETALL returned."""
        fields = {_text(key): _text(value) for key, value in raw.items()}
        try:
            text = fields.get("string", "")
            return cls(
                version=WAVersion.parse(text) if text else None,
                seq=int(fields.get("seq") or 0),
                epoch=int(fields.get("epoch") or 0),
                rev=int(fields.get("rev") or 0),
                changed_at=_time_or_none(fields.get("changed_at", "")),
                source=fields.get("source", ""),
                last_refreshed=_time_or_none(fields.get("last_refreshed", "")),
                last_success=_time_or_none(fields.get("last_success", "")),
                last_error=fields.get("last_error", ""),
                pinned=fields.get("pinned") == "1",
                upstream=WAVersion.parse(fields["upstream"]) if fields.get("upstream") else None,
                upstream_at=_time_or_none(fields.get("upstream_at", "")),
                awaiting_upstream=fields.get("awaiting_upstream") == "1",
            )
        except ValueError as exc:  # InvalidVersion is one too
            raise MessageError(f"the stored version state does not decode: {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        """The state as the API and the result messages show it."""
        return {
            "wa_web_version": None if self.version is None else version_json(self.version),
            "last_refreshed": _time_or_null(self.last_refreshed),
            "last_error": self.last_error,
            "last_success": _time_or_null(self.last_success),
            "source": self.source,
            "seq": self.seq,
            "epoch": self.epoch,
            "changed_at": _time_or_null(self.changed_at),
            "pinned": self.pinned,
            "upstream_version": None if self.upstream is None else version_json(self.upstream),
            "upstream_seen_at": _time_or_null(self.upstream_at),
            "awaiting_upstream": self.awaiting_upstream,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionState:
        """Decode what `to_json` made."""
        try:
            shown = data["wa_web_version"]
            return cls(
                version=None if shown is None else WAVersion.parse(shown["string"]),
                seq=int(data["seq"]),
                epoch=int(data["epoch"]),
                changed_at=_time_or_none(data["changed_at"] or ""),
                source=str(data["source"]),
                last_refreshed=_time_or_none(data["last_refreshed"] or ""),
                last_success=_time_or_none(data["last_success"] or ""),
                last_error=str(data["last_error"]),
                pinned=bool(data["pinned"]),
                upstream=None
                if data["upstream_version"] is None
                else WAVersion.parse(data["upstream_version"]["string"]),
                upstream_at=_time_or_none(data["upstream_seen_at"] or ""),
                awaiting_upstream=bool(data["awaiting_upstream"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageError(f"a version state does not decode: {exc!r}") from exc


def version_json(version: WAVersion) -> dict[str, Any]:
    """`{"array": [2, 3000, N], "string": "2.3000.N"}`, as the seed API shows a version."""
    return {"array": version.array, "string": str(version)}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _time_or_empty(moment: datetime | None) -> str:
    return "" if moment is None else format_time(moment)


def _time_or_null(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def _time_or_none(text: str) -> datetime | None:
    return parse_time(text) if text else None
