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


def run(state: VersionState, *events: transitions.Transition) -> VersionState:
    for event in events:
        state = event(state).state
    return state


def pin(version: WAVersion) -> transitions.Transition:
    return lambda state: transitions.pinned(state, version, LATER)


def unpin(state: VersionState) -> Applied:
    return transitions.unpinned(state, LATER)


def test_an_unpin_after_a_rollout_returns_to_the_version_held_before_the_pin() -> None:
    """Upstream served V7 (held), then V6 during a rollout (kept V7); pin V8, unpin: back
    to V7, announced as an unpin, not to the older V6 upstream said last."""
    pinned = run(STORED, fetch(V6), pin(V8))
    assert (pinned.version, pinned.upstream, pinned.unpin_version) == (V8, V6, V7)
    applied = unpin(pinned)
    assert applied.state.version == V7
    assert applied.changed is not None
    assert (applied.changed.kind, applied.changed.previous) == ("unpin", V8)
    assert applied.state.unpin_version is None


def test_an_unpin_takes_the_newest_build_served_during_the_pin() -> None:
    """During the pin upstream moved on to V8, then a rollout served V7 again: the unpin
    applies V8. A rollout's older build during the pin never lowers what the unpin gives."""
    state = run(replace(STORED, version=V6, upstream=V6), pin(V6), fetch(V8), fetch(V7))
    assert state.unpin_version == V8
    assert unpin(state).state.version == V8
    assert unpin(run(STORED, pin(V8), fetch(V6))).state.version == V7


def test_a_pin_over_a_pin_keeps_what_the_first_replaced() -> None:
    """Pinning again while pinned does not make the first pin the version to return to:
    a mistaken pin stays undoable."""
    state = run(STORED, pin(V8), pin(V6))
    assert state.unpin_version == V7
    assert unpin(state).state.version == V7


def test_a_pin_while_awaiting_upstream_returns_to_upstream_not_the_earlier_pin() -> None:
    """Pinned and unpinned before upstream was heard, the version held is that pin's:
    a new pin notes nothing, and its unpin awaits upstream again."""
    awaiting = unpin(replace(PINNED, version=V8, upstream=None)).state
    assert (awaiting.version, awaiting.awaiting_upstream) == (V8, True)
    state = run(awaiting, pin(V6))
    assert state.unpin_version is None
    assert unpin(state).state.awaiting_upstream is True
    assert run(state, fetch(V7)).unpin_version == V7
