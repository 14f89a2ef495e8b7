"""The version-changed message: JSON on `<prefix>:version-changed`, from the worker (or a
pin) to every subscriber, and the version as subscribers hold it."""

from __future__ import annotations

from dataclasses import dataclass

from wa_version_client.contract import _wire as wire
from wa_version_client.contract._clock import format_time
from wa_version_client.contract._errors import InvalidVersion, MessageError
from wa_version_client.contract._state import VersionState
from wa_version_client.contract._version import WAVersion

# What can make a change: a fetch, an operator's pin, an unpin.
KINDS = ("fetch", "pin", "unpin")


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """A version as announced on `<prefix>:version-changed`, and as subscribers hold it.

    `(epoch, seq)` orders announcements: `seq` grows by one per change, and `epoch` (when
    the stored state was first written, in ms) grows when Redis lost its data and `seq`
    started again from 1. A subscriber applies only what is newer than what it has.
    """

    version: WAVersion
    seq: int
    epoch: int
    changed_at: str
    source: str
    previous: WAVersion | None = None
    # What made the change: "fetch", "pin" (an operator pinned it) or "unpin".
    kind: str = "fetch"

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
        return wire.dumps(
            {
                **wire.version_json(self.version),
                "previous": None if self.previous is None else wire.version_json(self.previous),
                "seq": self.seq,
                "epoch": self.epoch,
                "changed_at": self.changed_at,
                "source": self.source,
                "kind": self.kind,
            }
        )

    @classmethod
    def decode(cls, text: str | bytes) -> PublishedVersion:
        """Decode a message; `MessageError` for anything that is not one, said precisely.

        `array` and `string` must agree: clients in other languages read the array, this
        one the string, and a message that tells them different things is a lie.
        """
        what = "a version-changed message"
        data = wire.load_object(text, what)
        try:
            version = WAVersion.parse(wire.text(data, "string", what))
            if not wire.is_array_of(data.get("array"), version):
                raise MessageError(f"{what}: array disagrees with string {version}")
            previous = data.get("previous")
            if previous is not None and not isinstance(previous, dict):
                raise MessageError(f"{what}: previous is neither null nor a version")
            kind = data.get("kind", "fetch")
            if kind not in KINDS:
                raise MessageError(f"{what}: kind {str(kind)[:20]!r} is not one of {KINDS}")
            return cls(
                version=version,
                previous=None
                if previous is None
                else WAVersion.parse(wire.text(previous, "string", what)),
                seq=wire.integer(data, "seq", what, minimum=1),
                epoch=wire.integer(data, "epoch", what, minimum=1),
                changed_at=wire.text(data, "changed_at", what),
                source=wire.text(data, "source", what),
                kind=str(kind),
            )
        except InvalidVersion as exc:
            raise MessageError(f"{what}: {exc}") from None
