"""The answers to refresh jobs: worker → API, never read by anyone else.

- `JobResult`: one job's answer, kept briefly under `<prefix>:refresh-result:<job_id>`.
- `BatchResult`: JSON on `<prefix>:refresh-results`, answering many jobs at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wa_version_client.contract import MessageError, VersionState, wire


@dataclass(frozen=True, slots=True)
class JobResult:
    """The answer to one job: the state after the refresh and whether it fetched.

    `refreshed` says whether a fetch was made for the job (False: the last one was recent
    enough, or the job was set aside), whatever its outcome; `error` is empty when the
    refresh succeeded, else it says why it failed.
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
        return wire.dumps(self.to_json())

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
        return f'{{"job_ids":{wire.dumps(list(self.job_ids))},"result":{result}}}'

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
