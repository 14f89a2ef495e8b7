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

from shared.clock import format_time
from shared.errors import MessageError
from shared.state import VersionState, version_json
from shared.version import WAVersion


def _dumps(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


def _loads(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MessageError(f"{what} is not JSON: {exc}") from exc


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
                deadline_ms=int(fields["deadline_ms"]),
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
        try:
            return cls(
                refreshed=bool(data["refreshed"]),
                error=str(data["error"]),
                state=VersionState.from_json(data["state"]),
            )
        except (KeyError, TypeError) as exc:
            raise MessageError(f"a job result does not decode: {exc!r}") from exc

    def encode(self) -> str:
        """Encode for the per-job result key."""
        return _dumps(self.to_json())

    @classmethod
    def decode(cls, text: str | bytes) -> JobResult:
        data = _loads(text, "a job result")
        if not isinstance(data, dict):
            raise MessageError("a job result is not a JSON object")
        return cls.from_json(data)


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
        data = _loads(text, "a batch result")
        try:
            return cls(
                job_ids=tuple(str(job_id) for job_id in data["job_ids"]),
                result=JobResult.from_json(data["result"]),
            )
        except (KeyError, TypeError) as exc:
            raise MessageError(f"a batch result does not decode: {exc!r}") from exc


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
        """What the stored state announces; None before any version was stored."""
        if state.version is None:
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
        data = _loads(text, "a version-changed message")
        try:
            previous = data["previous"]
            return cls(
                version=WAVersion.parse(data["string"]),
                previous=None if previous is None else WAVersion.parse(previous["string"]),
                seq=int(data["seq"]),
                epoch=int(data["epoch"]),
                changed_at=str(data["changed_at"]),
                source=str(data["source"]),
                kind=str(data.get("kind", "fetch")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageError(f"a version-changed message does not decode: {exc!r}") from exc
