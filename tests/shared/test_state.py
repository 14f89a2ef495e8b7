"""VersionState: the hash encoding, the API view and the min-interval rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import MessageError
from wa_version_client.contract import VersionState, WAVersion

NOW = datetime(2025, 12, 21, 10, 30, tzinfo=UTC)
FULL = VersionState(
    version=WAVersion(2, 3000, 1012345678),
    seq=3,
    changed_at=NOW - timedelta(hours=1),
    source="https://web.whatsapp.com/sw.js",
    last_refreshed=NOW,
    last_success=NOW,
    last_error="",
    upstream=WAVersion(2, 3000, 1012345600),
    upstream_at=NOW,
    awaiting_upstream=True,
)


def test_hash_round_trip() -> None:
    """What to_hash writes, from_hash reads back unchanged, including from bytes."""
    fields = FULL.to_hash()
    assert fields["string"] == "2.3000.1012345678"
    assert fields["array"] == "[2,3000,1012345678]"
    assert fields["last_refreshed"] == "2025-12-21T10:30:00Z"
    assert VersionState.from_hash(fields) == FULL
    assert VersionState.from_hash({k.encode(): v.encode() for k, v in fields.items()}) == FULL


def test_empty_hash_is_the_state_before_any_refresh() -> None:
    """No fields: no version, seq 0, no times."""
    assert VersionState.from_hash({}) == VersionState()


def test_api_view_matches_the_seed_shape() -> None:
    """wa_web_version has array and string; times are RFC 3339 with Z; null before any attempt."""
    view = FULL.to_json()
    assert view["wa_web_version"] == {"array": [2, 3000, 1012345678], "string": "2.3000.1012345678"}
    assert view["last_refreshed"] == "2025-12-21T10:30:00Z"
    assert view["last_error"] == ""
    empty = VersionState().to_json()
    assert empty["wa_web_version"] is None
    assert empty["last_refreshed"] is None
    assert VersionState.from_json(view) == FULL


def test_corrupt_hash_is_a_message_error() -> None:
    """A hash someone else scribbled on does not decode silently into a wrong state."""
    with pytest.raises(MessageError):
        VersionState.from_hash({"string": "two", "seq": "1"})
    with pytest.raises(MessageError):
        VersionState.from_hash({"seq": "many"})


@pytest.mark.parametrize(
    ("age", "interval", "recent"),
    [
        (timedelta(minutes=9), 600, True),
        (timedelta(minutes=10), 600, False),
        (timedelta(0), 0, False),
    ],
)
def test_refreshed_within(age: timedelta, interval: float, recent: bool) -> None:
    """An attempt younger than the interval is recent; an interval of 0 disables the rule."""
    state = VersionState(last_refreshed=NOW - age)
    assert state.refreshed_within(interval, NOW) is recent


def test_never_refreshed_is_never_recent() -> None:
    """Before any attempt, even force=false refreshes."""
    assert VersionState().refreshed_within(600, NOW) is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rev", "1_000"),  # int() reads 1000, Lua's tonumber() nil
        ("seq", " 7"),
        ("seq", "+7"),
        ("seq", "07"),
        ("epoch", "-5"),
        ("epoch", "9" * 5000),
        ("pinned", "yes"),
        ("last_refreshed", "yesterday"),
        ("upstream", "2.3000.x"),
    ],
)
def test_every_stored_field_has_one_strict_parser(field: str, value: str) -> None:
    """A value Python and Lua could read differently, or that is no value of its kind, is
    reported for its field, and the field is left at its default; the rest still reads."""
    fields = {**FULL.to_hash(), field: value}
    state, problems = VersionState.read_hash(fields)
    assert list(problems) == [field]
    assert state.version == FULL.version
    assert getattr(state, field if field != "upstream" else "upstream") == getattr(
        VersionState(), field
    )


def test_an_array_that_disagrees_with_the_string_is_reported() -> None:
    """Clients in other languages read `array`: it must say what `string` says."""
    _, problems = VersionState.read_hash({**FULL.to_hash(), "array": "[2,3000,1]"})
    assert list(problems) == ["array"]
