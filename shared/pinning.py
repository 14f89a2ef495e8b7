"""Pinning: an operator fixes the version; fetches are recorded but not applied.

A pin is applied and announced like a fetched version (`kind` "pin"), even when it is
older: rolling back a version that breaks connections is what pins are for. Unpinning
applies the version upstream reported last, if it is newer than the pinned one
(`kind` "unpin"); from then on fetches apply again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.state import VersionState
from shared.store import Applied, change_version
from shared.version import WAVersion


def apply_pin(current: VersionState, version: WAVersion, now: datetime) -> Applied:
    pinned = replace(current, pinned=True)
    if version == current.version:
        return Applied(pinned)
    return change_version(pinned, version, now, source="pin", kind="pin")


def apply_unpin(current: VersionState, now: datetime) -> Applied:
    unpinned = replace(current, pinned=False)
    upstream = current.upstream
    if upstream is None or (current.version is not None and upstream <= current.version):
        return Applied(unpinned)
    return change_version(unpinned, upstream, now, source="unpin", kind="unpin")
