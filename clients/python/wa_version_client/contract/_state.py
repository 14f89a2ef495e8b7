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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from wa_version_client.contract import _wire as wire
from wa_version_client.contract._clock import format_time, parse_time
from wa_version_client.contract._errors import MessageError
from wa_version_client.contract._version import WAVersion
from wa_version_client.contract._wire import stored_integer

T = TypeVar("T")


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
            fields["array"] = _array_text(self.version)
        return fields

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> VersionState:
        """Decode what HGETALL returned; `MessageError` if any field is malformed."""
        state, problems = cls.read_hash(raw)
        if problems:
            wrong = "; ".join(problems.values())
            raise MessageError(f"the stored version state does not decode: {wrong}")
        return state

    @classmethod
    def read_hash(cls, raw: Mapping[Any, Any]) -> tuple[VersionState, dict[str, str]]:
        """Every field that decodes, and what is wrong with the others (left at default).

        Each field has one strict parser (shared/wire.py): a value Python would read one
        way and the write script's Lua another is malformed, not read.
        """
        fields = {_text(key): _text(value) for key, value in raw.items()}
        problems: dict[str, str] = {}

        def parsed(name: str, parse: Callable[[str], T], default: T) -> T:
            value = fields.get(name, "")
            if not value:
                return default
            try:
                return parse(value)
            except ValueError as exc:  # MessageError and InvalidVersion are ValueErrors
                problems[name] = f"{name}: {exc}"
                return default

        version = parsed("string", WAVersion.parse, None)
        if version is not None and fields.get("array", "") != _array_text(version):
            problems["array"] = f"array {fields.get('array', '')[:40]!r} disagrees with {version}"
        state = cls(
            version=version,
            seq=parsed("seq", lambda v: stored_integer(v, "seq"), 0),
            epoch=parsed("epoch", lambda v: stored_integer(v, "epoch"), 0),
            rev=parsed("rev", lambda v: stored_integer(v, "rev"), 0),
            changed_at=parsed("changed_at", parse_time, None),
            source=fields.get("source", ""),
            last_refreshed=parsed("last_refreshed", parse_time, None),
            last_success=parsed("last_success", parse_time, None),
            last_error=fields.get("last_error", ""),
            pinned=parsed("pinned", lambda v: wire.stored_flag(v, "pinned"), False),
            upstream=parsed("upstream", WAVersion.parse, None),
            upstream_at=parsed("upstream_at", parse_time, None),
            awaiting_upstream=parsed(
                "awaiting_upstream", lambda v: wire.stored_flag(v, "awaiting_upstream"), False
            ),
        )
        return state, problems

    def to_json(self) -> dict[str, Any]:
        """The state as the API and the result messages show it."""
        return {
            "wa_web_version": None if self.version is None else wire.version_json(self.version),
            "last_refreshed": _time_or_null(self.last_refreshed),
            "last_error": self.last_error,
            "last_success": _time_or_null(self.last_success),
            "source": self.source,
            "seq": self.seq,
            "epoch": self.epoch,
            "changed_at": _time_or_null(self.changed_at),
            "pinned": self.pinned,
            "upstream_version": None if self.upstream is None else wire.version_json(self.upstream),
            "upstream_seen_at": _time_or_null(self.upstream_at),
            "awaiting_upstream": self.awaiting_upstream,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionState:
        """Decode what `to_json` made; `MessageError` for anything else."""
        what = "a version state"
        try:
            return cls(
                version=wire.version_object(data, "wa_web_version", what),
                seq=wire.integer(data, "seq", what),
                epoch=wire.integer(data, "epoch", what),
                changed_at=wire.time_or_null(data, "changed_at", what),
                source=wire.text(data, "source", what),
                last_refreshed=wire.time_or_null(data, "last_refreshed", what),
                last_success=wire.time_or_null(data, "last_success", what),
                last_error=wire.text(data, "last_error", what),
                pinned=wire.boolean(data, "pinned", what),
                upstream=wire.version_object(data, "upstream_version", what),
                upstream_at=wire.time_or_null(data, "upstream_seen_at", what),
                awaiting_upstream=wire.boolean(data, "awaiting_upstream", what),
            )
        except ValueError as exc:  # a bad version or time inside well-typed fields
            raise MessageError(f"{what} does not decode: {exc}") from None


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _array_text(version: WAVersion) -> str:
    return json.dumps(version.array, separators=(",", ":"))


def _time_or_empty(moment: datetime | None) -> str:
    return "" if moment is None else format_time(moment)


def _time_or_null(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)
