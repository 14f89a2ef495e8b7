"""The stored state, in the hash any Redis client can read (schemas/version-hash.schema.json)
and as the API shows it (schemas/version-state.schema.json): three fields under other
names there (`wa_web_version`, `upstream_version`, `upstream_seen_at`), and no `rev`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from wa_version_client.contract._codec import FieldsCodec, JsonCodec
from wa_version_client.contract._model import FLAT, Flag, Integer, Text, Time, Version, Wire
from wa_version_client.contract._version import WAVersion


@dataclass(frozen=True, slots=True)
class VersionState:
    """The stored state: the current version and the bookkeeping of refreshes.

    It lives in the Redis hash `<prefix>:version`, one field per attribute, every value a
    string (a field empty or absent is its default), and the API shows it as JSON
    (`data` of GET /admin/whatsapp/version). The empty state is the one before any
    refresh.
    """

    # In the order the API shows them: the seed API's fields first, then ours.

    version: Annotated[
        WAVersion | None,
        Wire(
            Version(),
            "The version to use for new connections; null before any.",
            json="wa_web_version",
            hash=FLAT,
        ),
    ] = None
    last_refreshed: Annotated[
        datetime | None, Wire(Time(), "The last fetch attempt, failed or not.")
    ] = None
    last_error: Annotated[
        str, Wire(Text(), "Why the last attempt failed; empty after success.")
    ] = ""
    last_success: Annotated[datetime | None, Wire(Time(), "The last successful fetch.")] = None
    source: Annotated[str, Wire(Text(), "The URL that answered the last successful fetch.")] = ""
    seq: Annotated[int, Wire(Integer(), "+1 with each version change.")] = 0
    epoch: Annotated[
        int,
        Wire(
            Integer(),
            "When the stored state was first written (ms); a Redis that lost its data"
            " starts a new, larger epoch.",
        ),
    ] = 0
    changed_at: Annotated[datetime | None, Wire(Time(), "When the version last changed.")] = None
    pinned: Annotated[
        bool,
        Wire(
            Flag(),
            "Whether an operator pinned the version: fetches then record upstream without"
            " applying it.",
        ),
    ] = False
    upstream: Annotated[
        WAVersion | None,
        Wire(
            Version(),
            "The version upstream reported last (applied or not).",
            json="upstream_version",
        ),
    ] = None
    upstream_at: Annotated[
        datetime | None, Wire(Time(), "When upstream reported it.", json="upstream_seen_at")
    ] = None
    awaiting_upstream: Annotated[
        bool,
        Wire(
            Flag(),
            "Unpinned before upstream was ever heard: the next fetch applies, older or not.",
        ),
    ] = False
    unpin_version: Annotated[
        WAVersion | None,
        Wire(
            Version(),
            "While pinned, what an unpin returns to: the version held when the pin began,"
            " raised by every newer build upstream served since (a rollout's older build"
            " never lowers it); null while unpinned.",
            optional=True,
        ),
    ] = None
    rev: Annotated[
        int,
        Wire(
            Integer(),
            "+1 with every write: writers check it to know the state they decided on is"
            " still the stored one.",
            json=None,
        ),
    ] = 0

    def refreshed_within(self, seconds: float, now: datetime) -> bool:
        """Whether the last attempt is less than `seconds` old (never, for 0)."""
        if seconds <= 0 or self.last_refreshed is None:
            return False
        return (now - self.last_refreshed).total_seconds() < seconds

    def to_hash(self) -> dict[str, str]:
        """Encode for HSET (no `string` or `array` without a version)."""
        return _HASH.write(self)

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> VersionState:
        """Decode what HGETALL returned; `MessageError` if any field is malformed."""
        return _HASH.decode(raw, "the stored version state")

    @classmethod
    def read_hash(cls, raw: Mapping[Any, Any]) -> tuple[VersionState, dict[str, str]]:
        """Every field that decodes, and what is wrong with the others (left at default).

        Each field has one strict parser (_model.py): a value Python would read one way
        and the write script's Lua another is malformed, not read.
        """
        values, problems = _HASH.read(raw)
        return cls(**values), problems

    def to_json(self) -> dict[str, Any]:
        """The state as the API and the result messages show it."""
        return _API.write(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionState:
        """Decode what `to_json` made; `MessageError` for anything else."""
        return _API.read(data)


_HASH = FieldsCodec(VersionState)
_API = JsonCodec(VersionState, "a version state")
