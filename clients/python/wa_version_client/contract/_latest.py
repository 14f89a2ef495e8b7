"""What "latest" means, in every client: the one rule, its default and its wording.

Baileys' `isLatest` means "WhatsApp just confirmed this version". A client of the
service can only say: the version it holds is the one the service holds, and the
service's word is fresh. So a held version is the latest unless (checked in this order,
the first that applies is the reason given):

- `unsynced`: the client is not synced (its subscription is down, or the hash was not
  read since it was last made): a change may have been missed;
- `failed`: the service's last refresh attempt failed (`last_error` is set): upstream
  may be ahead, and nobody knows;
- `never`: the service records no successful fetch (a version pinned before any);
- `stale`: the last successful fetch is older than the maximum age (default
  DEFAULT_MAX_AGE: the service's automatic refresh runs hourly, so two missed rounds);
- `behind`: the hash holds another version, announced after the one held.

The service does not tell subscribers its schedule (the hash and the message carry no
AUTO_REFRESH_INTERVAL), hence a fixed default rather than one derived from it.

The clients judge on the hash as they last read it: on every (re)subscription and every
resync interval (30 s), so a failure is seen within that interval, at no I/O per call.
`./dev contract` copies DEFAULT_MAX_AGE and REASONS into the Node and Go clients; each
has one function applying the rule (Node src/latest.js, Go latest.go), held to this one
by tests/clients/test_latest_clients.py on the table in tests/latest_cases.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wa_version_client.contract._clock import format_time
from wa_version_client.contract._published import PublishedVersion
from wa_version_client.contract._state import VersionState

DEFAULT_MAX_AGE = 7200.0  # seconds: twice the service's default AUTO_REFRESH_INTERVAL

# Why a held version is not the latest; `{name}`s are filled in by each client.
REASONS = {
    "unsynced": "not synced with the service (Redis cannot be reached, or was not read"
    " since the subscription was last made): {held} is the version held before",
    "failed": "the service's last refresh, at {at}, failed: {error}",
    "never": "the service records no successful refresh",
    "stale": "the service's last successful refresh, at {at}, is older than the maximum"
    " age ({max_age} s)",
    "behind": "the service holds {stored}, newer than the version held, {held}",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the version held is the latest; if not, the reason (a REASONS key) and
    the error text saying why."""

    reason: str = ""
    error: str = ""

    @property
    def is_latest(self) -> bool:
        return not self.reason


def judge_latest(
    held: PublishedVersion,
    *,
    synced: bool,
    stored: VersionState | None,
    now: datetime,
    max_age: float = DEFAULT_MAX_AGE,
) -> Verdict:
    """Whether `held` is the latest, given the hash as last read (`stored`; None if
    never read) and whether the client is `synced`."""
    if not synced or stored is None:
        return _not("unsynced", held=held.string)
    if stored.last_error:
        at = "" if stored.last_refreshed is None else format_time(stored.last_refreshed)
        return _not("failed", at=at, error=stored.last_error)
    if stored.last_success is None:
        return _not("never")
    if (now - stored.last_success).total_seconds() > max_age:
        return _not("stale", at=format_time(stored.last_success), max_age=str(int(max_age)))
    if _announces_another(stored, held):
        return _not("behind", stored=str(stored.version), held=held.string)
    return Verdict()


def _announces_another(stored: VersionState, held: PublishedVersion) -> bool:
    """Whether the hash announces another version after `held` (what
    PublishedVersion.from_state would say, without building one on every call)."""
    if stored.version is None or stored.epoch <= 0 or stored.seq <= 0:
        return False
    return (stored.epoch, stored.seq) > held.order and stored.version != held.version


def _not(reason: str, **values: str) -> Verdict:
    text = REASONS[reason]
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return Verdict(reason, text)
