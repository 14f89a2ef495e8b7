"""Pinning: an operator fixes the version; fetches are recorded but not applied.

A pin is applied and announced like a fetched version (`kind` "pin"), even when it is
older: rolling back a version that breaks connections is what pins are for.

Unpinning returns to upstream's truth: the version upstream reported last applies
(`kind` "unpin"), older than the pin or not. A pin is an operator's override, and a
mistaken one (a typo, a guess above the real version) must be undoable; the rule that a
fetch never goes backwards guards against upstream flapping, not against undoing an
override. When upstream was never heard from, the next fetch applies whatever it finds.
The API asks for a forced refresh right after, so the state soon reflects upstream now.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.state import VersionState
from shared.store import Applied, change_version
from shared.version import WAVersion


def apply_pin(current: VersionState, version: WAVersion, now: datetime) -> Applied:
    pinned = replace(current, pinned=True, awaiting_upstream=False)
    if version == current.version:
        return Applied(pinned)
    return change_version(pinned, version, now, source="pin", kind="pin")


def apply_unpin(current: VersionState, now: datetime) -> Applied:
    unpinned = replace(current, pinned=False, awaiting_upstream=False)
    upstream = current.upstream
    if upstream is None:
        return Applied(replace(unpinned, awaiting_upstream=True))
    if upstream == current.version:
        return Applied(unpinned)
    return change_version(unpinned, upstream, now, source="unpin", kind="unpin")
