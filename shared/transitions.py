"""Every change the stored state can go through: the one state machine, pure functions.

Each takes the state as stored and returns `Applied`: the state to store, the
announcement to publish when the version changed, and the error to report, if any.
`shared/store.py` writes it; nothing else decides what a state becomes.

| event                              | version                           | seq  | announced  |
|------------------------------------|-----------------------------------|------|------------|
| fetched: newer than stored         | the fetched one                   | +1   | kind fetch |
| fetched: the stored one            | kept                              |      |            |
| fetched: older (a rollout)         | kept; `upstream` notes it         |      |            |
| fetched while pinned               | kept; `upstream` notes it, and    |      |            |
|                                    | `unpin_version` if newer          |      |            |
| fetched, awaiting upstream         | the fetched one, older or not     | +1   | kind unpin |
| failed                             | kept; `last_error` says why       |      |            |
| pinned                             | the pin, older or not             | +1 * | kind pin   |
| unpinned                           | `unpin_version`, older or not     | +1 * | kind unpin |
| unpinned, no `unpin_version` (a    | the last upstream, older or not   | +1 * | kind unpin |
|   pin stored by an older release)  |                                   |      |            |
| unpinned, upstream never heard     | kept; awaiting upstream           |      |            |

(* when it differs from the stored one.) A fetch never moves the version backwards: an
older build is what a rollout serves back to back. Only an operator does, by pinning,
or by unpinning: a mistaken pin must be undoable, so an unpin may land below the pin.
It never lands below what was held before the pin, though: the pin notes that version
in `unpin_version` and each fetch during the pin raises it to a newer build, never
lowers it. So an unpin returns to the version the service would hold had it never been
pinned: the newest build upstream served, however a rollout alternated builds between
the pin and the unpin. Only a fetch after an unpin made before upstream was ever heard
(awaiting upstream) applies an older build. Every fetch, failed or not, sets
`last_refreshed`; a successful one clears `last_error`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from wa_version_client.contract import PublishedVersion, VersionState, WAVersion, format_time


@dataclass(frozen=True, slots=True)
class Applied:
    """A new state, the change to publish (if any) and the error to report (if any)."""

    state: VersionState
    changed: PublishedVersion | None = None
    error: str = ""
    # Upstream served an older build than the stored one (a rollout under way): kept ours.
    older_upstream: bool = False


# An event, ready to meet whatever state is stored when it is written.
Transition = Callable[[VersionState], Applied]


def fetched(current: VersionState, version: WAVersion, now: datetime, *, source: str) -> Applied:
    """Upstream answered `version` (read from `source`)."""
    heard = replace(
        current,
        upstream=version,
        upstream_at=now,
        source=source,
        last_refreshed=now,
        last_success=now,
        last_error="",
    )
    if current.pinned:
        return Applied(replace(heard, unpin_version=_newer(current.unpin_version, version)))
    if version == current.version:
        return Applied(replace(heard, awaiting_upstream=False))
    if current.awaiting_upstream:
        # The end of an unpin made before upstream was known: upstream's word, whatever it is.
        unpinned = replace(heard, awaiting_upstream=False)
        return _changed(unpinned, version, now, source=source, kind="unpin")
    if current.version is not None and version < current.version:
        return Applied(heard, older_upstream=True)
    return _changed(heard, version, now, source=source, kind="fetch")


def failed(current: VersionState, error: str, now: datetime) -> Applied:
    """No source gave a version: it stays, and the attempt and its error are recorded."""
    return Applied(replace(current, last_refreshed=now, last_error=error), error=error)


def pinned(current: VersionState, version: WAVersion, now: datetime) -> Applied:
    """An operator pins `version`: applied and announced now, even when older."""
    # The first pin notes what it replaces; a pin over a pin keeps what the first noted.
    # Awaiting upstream, the version held is an earlier pin's, not upstream's: none noted.
    if current.pinned:
        unpin_to = current.unpin_version
    else:
        unpin_to = None if current.awaiting_upstream else current.version
    state = replace(current, pinned=True, awaiting_upstream=False, unpin_version=unpin_to)
    if version == current.version:
        return Applied(state)
    return _changed(state, version, now, source="pin", kind="pin")


def unpinned(current: VersionState, now: datetime) -> Applied:
    """An operator unpins: the version held before the pin, or the newest build upstream
    served since, applies, even when older than the pin. A pin stored by a release
    without `unpin_version` returns to upstream's last word."""
    state = replace(current, pinned=False, awaiting_upstream=False, unpin_version=None)
    target = current.unpin_version or current.upstream
    if target is None:
        return Applied(replace(state, awaiting_upstream=True))
    if target == current.version:
        return Applied(state)
    return _changed(state, target, now, source="unpin", kind="unpin")


def _newer(held: WAVersion | None, fetched: WAVersion) -> WAVersion:
    """The newer of the two; `fetched` when nothing is held."""
    return fetched if held is None or fetched > held else held


def _changed(
    current: VersionState, version: WAVersion, now: datetime, *, source: str, kind: str
) -> Applied:
    """`current` with `version` applied: seq + 1, and the announcement to publish."""
    state = replace(current, version=version, seq=current.seq + 1, changed_at=now)
    announcement = PublishedVersion(
        version=version,
        previous=current.version,
        seq=state.seq,
        epoch=state.epoch,
        changed_at=format_time(now),
        source=source,
        kind=kind,
    )
    return Applied(state, announcement)
