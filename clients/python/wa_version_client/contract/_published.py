"""The version-changed message: JSON on `<prefix>:version-changed`, from the worker (or a
pin) to every subscriber, and the version as subscribers hold it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from wa_version_client.contract._clock import format_time
from wa_version_client.contract._codec import JsonCodec
from wa_version_client.contract._model import FLAT, Choice, Integer, Text, Version, Wire
from wa_version_client.contract._state import VersionState
from wa_version_client.contract._version import WAVersion

# What can make a change: a fetch, an operator's pin, an unpin.
KINDS = ("fetch", "pin", "unpin")


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """A version as announced, and as subscribers hold it: published on the Redis channel
    `<prefix>:version-changed` (default whatsapp:version-changed) each time the stored
    WhatsApp Web version changes, and kept in the history the API shows.

    `(epoch, seq)` orders announcements: `seq` grows by one per change, and `epoch` (when
    the stored state was first written, in ms) grows when Redis lost its data and `seq`
    started again from 1. A subscriber applies a message only when its (epoch, seq) is
    greater than the pair it holds.
    """

    version: Annotated[
        WAVersion,
        Wire(
            Version(),
            "The version announced; `array` and `string` must agree.",
            json=FLAT,
        ),
    ]
    seq: Annotated[int, Wire(Integer(minimum=1), "Grows by one with each change within an epoch.")]
    epoch: Annotated[
        int,
        Wire(
            Integer(minimum=1),
            "Milliseconds since 1970 when the stored state was first written; grows when"
            " Redis lost its data and seq restarted.",
        ),
    ]
    changed_at: Annotated[str, Wire(Text(format="date-time"), "When: RFC 3339, UTC, with Z.")]
    source: Annotated[str, Wire(Text(), "The URL that reported this version.")]
    previous: Annotated[
        WAVersion | None,
        Wire(
            Version(check_array=False),
            "The version this one replaces; null for the first version of an epoch (read"
            " from its string).",
            optional=True,
        ),
    ] = None
    kind: Annotated[
        str,
        Wire(
            Choice(KINDS),
            "What made the change: a fetch from upstream, an operator's pin, or an unpin"
            " applying the newer upstream version. Absent in messages from before pins"
            " existed (read it as fetch).",
            optional=True,
        ),
    ] = "fetch"

    @property
    def order(self) -> tuple[int, int]:
        return (self.epoch, self.seq)

    @property
    def array(self) -> list[int]:
        return self.version.array

    @property
    def string(self) -> str:
        return str(self.version)

    def newer_than(self, other: PublishedVersion | None) -> bool:
        return other is None or self.order > other.order

    @classmethod
    def from_state(cls, state: VersionState) -> PublishedVersion | None:
        """What the stored state announces; None before any version was stored, or while
        its ordering (epoch, seq) is unknown (a malformed hash before its repair)."""
        if state.version is None or state.epoch <= 0 or state.seq <= 0:
            return None
        return cls(
            version=state.version,
            seq=state.seq,
            epoch=state.epoch,
            changed_at="" if state.changed_at is None else format_time(state.changed_at),
            source=state.source,
        )

    def encode(self) -> str:
        return _MESSAGE.encode(self)

    @classmethod
    def decode(cls, text: str | bytes) -> PublishedVersion:
        """Decode a message; `MessageError` for anything that is not one, said precisely.

        `array` and `string` must agree: clients in other languages read the array, this
        one the string, and a message that tells them different things is a lie.
        """
        return _MESSAGE.decode(text)


_MESSAGE = JsonCodec(PublishedVersion, "a version-changed message")
