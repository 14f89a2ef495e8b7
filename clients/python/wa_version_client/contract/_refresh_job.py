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
from typing import Annotated

from wa_version_client.contract._codec import FieldsCodec
from wa_version_client.contract._model import Flag, Integer, Text, Wire

# An id a job carries: it names a Redis key and rides in log lines and in the message
# answering the job, so its length and characters are bounded. A job breaking the bound
# is malformed: acknowledged unanswered, and logged without it.
ID_PATTERN = "[A-Za-z0-9._:-]{1,128}"


@dataclass(frozen=True, slots=True)
class RefreshJob:
    """A request to refresh; `deadline_ms` is when nobody waits for the answer any more.

    A stream entry's fields, every value a string; a report of "client outdated" in any
    language writes one (force 1, no request id).
    """

    job_id: Annotated[
        str,
        Wire(
            Text(pattern=ID_PATTERN),
            "Names the job and its answer: 1 to 128 of A-Z a-z 0-9 . _ : - (written as 32 hex"
            " digits).",
        ),
    ]
    force: Annotated[bool, Wire(Flag(), "1: fetch even if the last attempt is recent.")]
    deadline_ms: Annotated[
        int, Wire(Integer(), "When nobody waits for the answer any more (ms since 1970).")
    ]
    request_id: Annotated[
        str,
        Wire(
            Text(pattern=f"(?:{ID_PATTERN})?"),
            "The HTTP request that asked, for following it in the logs: empty, or as job_id.",
        ),
    ] = ""

    @classmethod
    def new(cls, *, force: bool, deadline_ms: int, request_id: str = "") -> RefreshJob:
        return cls(uuid.uuid4().hex, force, deadline_ms, request_id)

    def to_fields(self) -> dict[str, str]:
        """Encode as stream entry fields for XADD."""
        return _FIELDS.write(self)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> RefreshJob:
        """Decode a stream entry's fields; `MessageError` for a missing or malformed one."""
        return _FIELDS.decode(fields, "a refresh job")


_FIELDS = FieldsCodec(RefreshJob)
