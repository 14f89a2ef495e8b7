"""The contract between the service and every program that follows it.

What other programs read and write in Redis: the names (`Keys`), the version
(`WAVersion`), the version hash (`VersionState`), the version-changed message
(`PublishedVersion`), the job a report of "client outdated" writes (`RefreshJob`), and
the strict readers every decoder uses (`wire`). Pure data and parsing: no I/O, nothing
imported but the standard library.

This is the contract's one model: each field is declared once, on its attribute (a
`Wire`: type and bounds, doc line, name in each form; see _model.py), and read and
written by one codec (_codec.py). `./dev contract` generates every other form from it:
the JSON Schemas in schemas/, the API's OpenAPI components, the Node client's tables and
types, the Go client's struct and decoder; `./dev contract --check` catches a stale one.
"""

from wa_version_client.contract import _wire as wire
from wa_version_client.contract._clock import epoch_ms, format_time, parse_time, utc_now
from wa_version_client.contract._errors import (
    ConfigError,
    InvalidVersion,
    MessageError,
    ServiceError,
)
from wa_version_client.contract._keys import Keys
from wa_version_client.contract._latest import DEFAULT_MAX_AGE, REASONS, Verdict, judge_latest
from wa_version_client.contract._manager_name import ManagerName, default_manager_id
from wa_version_client.contract._published import KINDS, PublishedVersion
from wa_version_client.contract._refresh_job import ID_PATTERN, RefreshJob
from wa_version_client.contract._repair import plausible_epoch, readable_state
from wa_version_client.contract._state import VersionState
from wa_version_client.contract._version import UINT32_MAX, WEB_MAJOR, WEB_MINOR, WAVersion

__all__ = [
    "DEFAULT_MAX_AGE",
    "ID_PATTERN",
    "KINDS",
    "REASONS",
    "UINT32_MAX",
    "WEB_MAJOR",
    "WEB_MINOR",
    "ConfigError",
    "InvalidVersion",
    "Keys",
    "ManagerName",
    "MessageError",
    "PublishedVersion",
    "RefreshJob",
    "ServiceError",
    "Verdict",
    "VersionState",
    "WAVersion",
    "default_manager_id",
    "epoch_ms",
    "format_time",
    "judge_latest",
    "parse_time",
    "plausible_epoch",
    "readable_state",
    "utc_now",
    "wire",
]
