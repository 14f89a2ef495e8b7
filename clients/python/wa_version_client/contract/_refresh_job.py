"""Everything that crosses a process boundary, encoded and decoded in one place.

- `RefreshJob`: a stream entry on `<prefix>:refresh-jobs`, API → worker.
- `BatchResult`: JSON on `<prefix>:refresh-results`, worker → API, answering many jobs;
  each job's `JobResult` is also kept under `<prefix>:refresh-result:<job_id>`.

The version-changed message, `PublishedVersion`, is in wa_version_client.contract._published.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from wa_version_client.contract import _wire as wire
from wa_version_client.contract._errors import MessageError


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
        """Decode a stream entry's fields; `MessageError` for a missing or malformed one."""
        try:
            return cls(
                job_id=fields["job_id"],
                force=wire.stored_flag(fields["force"], "force"),
                deadline_ms=wire.stored_integer(fields["deadline_ms"], "deadline_ms"),
                request_id=fields.get("request_id", ""),
            )
        except (KeyError, ValueError) as exc:
            raise MessageError(f"a refresh job does not decode: {exc!r}") from exc
