"""The OpenAPI document says what the code does: a fast check for drift.

Each pattern in the document is tried against the parser it describes on the same
inputs, and states the code produces are validated against the document's schemas.
JSON Schema patterns are ECMA-262 regexes, where `$` does not match before a final
newline; Python's `re.search` would, so patterns are tried as anchored full matches.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from api.bodies import parse_pinned_version
from api.envelope import ApiError
from api.openapi import OPENAPI
from api.openapi_parts import FORCE_PATTERN, LIMIT_PATTERN, STATE_PROPERTIES, VERSION_PATTERN
from api.routes import parse_force, parse_limit
from wa_version_client.contract import VersionState, WAVersion

WORDS = [
    *("true", "TRUE", "tRuE", "false", "False", "1", "0", "yes", "NO", "on", "Off"),
    *("", " true", "true ", "on\n", "2", "truee", "t", "\uff54rue", "İ", "yes!", "none", "nul"),
]
VERSIONS = [
    *("2.3000.1", "2.3000.4294967295", "2.0.0", "2.3000.1027934701"),
    *("2.3000.4294967296", "3.3000.1", "2.3000", "2.3000.1.1", "2.03000.1", "2.3000.-1"),
    *("2. 3000.1", "2.3000.1\n", "٢.3000.1", "2.3000.1e3", "", "v2.3000.1", "2.3000.01"),
]
LIMITS = ["1", "20", "999", "1000", "0", "1001", "01", "-1", "+5", "5.0", "", "²", "1000\n"]


def matches(pattern: str, value: str) -> bool:
    assert pattern.startswith("^")
    assert pattern.endswith("$")
    return re.fullmatch(pattern[1:-1], value) is not None


def accepts(parse: Any, value: Any) -> bool:
    try:
        parse(value)
    except ApiError:
        return False
    return True


@pytest.mark.parametrize("word", WORDS)
def test_the_force_pattern_admits_exactly_what_parse_force_accepts(word: str) -> None:
    assert matches(FORCE_PATTERN, word) == accepts(parse_force, word)


@pytest.mark.parametrize("text", VERSIONS)
def test_the_version_pattern_admits_exactly_the_pins_accepted(text: str) -> None:
    assert matches(VERSION_PATTERN, text) == accepts(parse_pinned_version, {"version": text})


@pytest.mark.parametrize("raw", LIMITS)
def test_the_limit_pattern_admits_exactly_what_parse_limit_accepts(raw: str) -> None:
    assert matches(LIMIT_PATTERN, raw) == accepts(parse_limit, raw)


def _validate(instance: Any, component: str) -> None:
    schema = {"$ref": f"#/components/schemas/{component}", "components": OPENAPI["components"]}
    jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)


AT = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
STATES = {
    "empty": VersionState(),
    "fetched": VersionState(
        version=WAVersion(2, 3000, 1027934701),
        seq=3,
        epoch=1766313000000,
        rev=9,
        changed_at=AT,
        source="https://web.whatsapp.com/sw.js",
        last_refreshed=AT,
        last_success=AT,
    ),
    "pinned, upstream older": VersionState(
        version=WAVersion(2, 3000, 5),
        seq=1,
        epoch=1,
        pinned=True,
        upstream=WAVersion(2, 3000, 4),
        upstream_at=AT,
        last_error="upstream answered HTTP 503",
        last_refreshed=AT,
    ),
}


@pytest.mark.parametrize("state", STATES.values(), ids=list(STATES))
def test_every_state_the_api_shows_satisfies_the_document(state: VersionState) -> None:
    """The State and Refreshed components describe `VersionState.to_json()`, field for field."""
    shown = state.to_json()
    assert set(shown) == set(STATE_PROPERTIES)
    _validate(shown, "State")
    _validate({"refreshed": True, **shown}, "Refreshed")


def test_a_state_the_code_could_never_show_is_refused() -> None:
    """The schema is strict enough to notice a wrong type: it is not `{}`."""
    with pytest.raises(jsonschema.ValidationError):
        _validate({**VersionState().to_json(), "seq": "3"}, "State")
