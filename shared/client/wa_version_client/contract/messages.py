"""Everything that crosses a process boundary, encoded and decoded in one place.

- `RefreshJob`: a stream entry on `<prefix>:refresh-jobs`, API → worker.
- `BatchResult`: JSON on `<prefix>:refresh-results`, worker → API, answering many jobs;
  each job's `JobResult` is also kept under `<prefix>:refresh-result:<job_id>`.
- `PublishedVersion`: JSON on `<prefix>:version-changed`, worker → every subscriber.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wa_version_client.contract import wire
from wa_version_client.contract.clock import format_time
from wa_version_client.contract.errors import InvalidVersion, MessageError
from wa_version_client.contract.state import VersionState, version_json
from wa_version_client.contract.version import WAVersion


def _dumps(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class RefreshJob:
    """A request to refresh; `deadline_ms` is when nobody waits for the answer any more."""

    job_id: str
    force: bool
    deadline_ms: int
    request_id: str = ""  # the HTTP request that asked, for following it in the logs

    @classmethod
    def new(cls, *, force: bool, deadline_ms: int, request_id: str = "") -> RefreshJob:
        return cls(uuid.uuid4().hex, force, deadline_ms, request_id)

    def to_fields(self) -> dict[str, str]:
        """Encode as stream entry fields for XADD."""
        return {
            "job_id": self.job_id,
            "force": "1" if self.force else "0",
            "deadline_ms": str(self.deadline_ms),
            "request_id": self.request_id,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> RefreshJob:
        """Decode a stream entry's fields."""
        try:
            return cls(
                job_id=fields["job_id"],
                force=fields["force"] == "1",
                deadline_ms=wire.stored_integer(fields["deadline_ms"], "deadline_ms"),
                request_id=fields.get("request_id", ""),
            )
        except (KeyError, ValueError) as exc:
            raise MessageError(f"a refresh job does not decode: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class JobResult:
    """The answer to one job: the state after the refresh and whether it fetched.

    `error` is empty on success; otherwise it says why the refresh failed.
    """

    refreshed: bool
    error: str
    state: VersionState

    def to_json(self) -> dict[str, Any]:
        return {"refreshed": self.refreshed, "error": self.error, "state": self.state.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobResult:
        what = "a job result"
        state = data.get("state")
        if not isinstance(state, dict):
            raise MessageError(f"{what}: state is not an object")
        return cls(
            refreshed=wire.boolean(data, "refreshed", what),
            error=wire.text(data, "error", what),
            state=VersionState.from_json(state),
        )

    def encode(self) -> str:
        """Encode for the per-job result key."""
        return _dumps(self.to_json())

    @classmethod
    def decode(cls, text: str | bytes) -> JobResult:
        return cls.from_json(wire.load_object(text, "a job result"))


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One result answering every job in `job_ids`."""

    job_ids: tuple[str, ...]
    result: JobResult

    def encode(self, encoded_result: str | None = None) -> str:
        """The message; `encoded_result` is `result.encode()` when the caller has it."""
        result = encoded_result if encoded_result is not None else self.result.encode()
        return f'{{"job_ids":{_dumps(list(self.job_ids))},"result":{result}}}'

    @classmethod
    def decode(cls, text: str | bytes) -> BatchResult:
        what = "a batch result"
        data = wire.load_object(text, what)
        job_ids, result = data.get("job_ids"), data.get("result")
        if not isinstance(job_ids, list) or not all(isinstance(j, str) for j in job_ids):
            raise MessageError(f"{what}: job_ids is not a list of strings")
        if not isinstance(result, dict):
            raise MessageError(f"{what}: result is not an object")
        return cls(job_ids=tuple(job_ids), result=JobResult.from_json(result))


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
        return _dumps(
            {
                **version_json(self.version),
                "previous": None if self.previous is None else version_json(self.previous),
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
            if data.get("array") != version.array:
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
