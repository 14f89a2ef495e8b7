"""The JSON Schema given to non-Python subscribers matches what is published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from wa_version_client.contract import PublishedVersion, WAVersion

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "version-changed.schema.json").read_text()
)


def validate(message: Any) -> None:
    jsonschema.validate(message, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("previous", [None, WAVersion(2, 3000, 1026131876)])
def test_published_messages_satisfy_the_schema(previous: WAVersion | None) -> None:
    message = PublishedVersion(
        version=WAVersion(2, 3000, 1026131877),
        previous=previous,
        seq=2,
        epoch=1766313000000,
        changed_at="2026-11-25T19:56:47Z",
        source="https://web.whatsapp.com/sw.js",
    )
    validate(json.loads(message.encode()))


@pytest.mark.parametrize(
    "change",
    [
        {"array": [2, 3000]},
        {"array": [2, 3000, 2**32]},
        {"string": "2.3000"},
        {"seq": 0},
        {"previous": {"string": "2.3000.1"}},
    ],
)
def test_the_schema_rejects_malformed_messages(change: dict[str, Any]) -> None:
    """The schema is strict enough to catch what a subscriber must not apply."""
    message = {
        "array": [2, 3000, 5],
        "string": "2.3000.5",
        "previous": None,
        "seq": 1,
        "epoch": 1,
        "changed_at": "2026-11-25T19:56:47Z",
        "source": "s",
    }
    with pytest.raises(jsonschema.ValidationError):
        validate({**message, **change})
