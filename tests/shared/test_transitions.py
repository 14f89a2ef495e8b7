"""The state machine, as a table: each event on each kind of stored state, and what follows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared import transitions
from shared.transitions import Applied
from wa_version_client.contract import VersionState, WAVersion

T0 = datetime(2025, 12, 21, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
SW = "https://web.whatsapp.com/sw.js"
V6, V7, V8 = (WAVersion(2, 3000, n) for n in (6, 7, 8))
EMPTY = VersionState()
STORED = VersionState(version=V7, seq=4, epoch=9, changed_at=T0, source=SW, last_refreshed=T0,
                      last_success=T0, upstream=V7, upstream_at=T0)  # fmt: skip
PINNED = replace(STORED, pinned=True)
AWAITING = replace(STORED, awaiting_upstream=True, upstream=None)
FAILED_BEFORE = replace(STORED, last_error="timed out")


def fetch(version: WAVersion) -> transitions.Transition:
    return lambda state: transitions.fetched(state, version, LATER, source=SW)


# (stored, event, version after, seq after, the kind announced or None)
TABLE: dict[str, tuple[VersionState, transitions.Transition, WAVersion | None, int, str | None]] = {
    "first fetch": (EMPTY, fetch(V7), V7, 1, "fetch"),
    "fetched newer": (STORED, fetch(V8), V8, 5, "fetch"),
    "fetched the stored one": (FAILED_BEFORE, fetch(V7), V7, 4, None),
    "fetched older: a rollout": (STORED, fetch(V6), V7, 4, None),
    "fetched newer while pinned": (PINNED, fetch(V8), V7, 4, None),
    "fetched older, awaiting upstream": (AWAITING, fetch(V6), V6, 5, "unpin"),
    "failed": (STORED, lambda s: transitions.failed(s, "HTTP 503", LATER), V7, 4, None),
    "pinned older": (STORED, lambda s: transitions.pinned(s, V6, LATER), V6, 5, "pin"),
    "pinned the stored one": (STORED, lambda s: transitions.pinned(s, V7, LATER), V7, 4, None),
    "unpinned to an older upstream": (
        replace(PINNED, version=V8, upstream=V7),
        lambda s: transitions.unpinned(s, LATER),
        V7,
        5,
        "unpin",
    ),
    "unpinned to a newer upstream": (
        replace(PINNED, version=V6, upstream=V7),
        lambda s: transitions.unpinned(s, LATER),
        V7,
        5,
        "unpin",
    ),
    "unpinned, upstream never heard": (
        replace(PINNED, upstream=None),
        lambda s: transitions.unpinned(s, LATER),
        V7,
        4,
        None,
    ),
}


@pytest.mark.parametrize("case", list(TABLE))
def test_the_state_machine(case: str) -> None:
    """Version, seq and announcement after each event, as the table in the module says."""
    stored, event, version, seq, kind = TABLE[case]
    applied: Applied = event(stored)
    assert (applied.state.version, applied.state.seq) == (version, seq)
    assert (applied.changed.kind if applied.changed else None) == kind
    if applied.changed is not None:
        assert (applied.changed.previous, applied.changed.seq) == (stored.version, seq)
        assert applied.state.changed_at == LATER
    else:
        assert applied.state.changed_at == stored.changed_at


def test_a_fetch_records_the_attempt_and_what_upstream_said() -> None:
    """Whatever it applies, a fetch notes upstream's answer and its time, clears the
    error, and stamps both attempt times."""
    for stored in (STORED, PINNED, FAILED_BEFORE):
        state = transitions.fetched(stored, V6, LATER, source=SW).state
        assert (state.upstream, state.upstream_at, state.last_error) == (V6, LATER, "")
        assert state.last_refreshed == state.last_success == LATER


def test_an_older_build_is_flagged_and_no_error() -> None:
    applied = transitions.fetched(STORED, V6, LATER, source=SW)
    assert applied.older_upstream is True
    assert applied.error == ""


def test_a_failure_keeps_the_version_and_says_why() -> None:
    applied = transitions.failed(STORED, "upstream answered HTTP 503", LATER)
    assert applied.error == applied.state.last_error == "upstream answered HTTP 503"
    assert (applied.state.last_refreshed, applied.state.last_success) == (LATER, T0)


def test_awaiting_upstream_is_set_and_cleared() -> None:
    """Unpinned with no upstream known: awaiting; the next fetch applies and clears it, as
    does a new pin."""
    awaiting = transitions.unpinned(replace(PINNED, upstream=None), LATER).state
    assert awaiting.awaiting_upstream is True
    assert transitions.fetched(awaiting, V6, LATER, source=SW).state.awaiting_upstream is False
    assert transitions.pinned(awaiting, V8, LATER).state.awaiting_upstream is False
