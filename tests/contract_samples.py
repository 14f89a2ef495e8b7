"""Values for every field of a contract model, made from its declaration alone: the tests
that a field declared in the model flows through each client (Python, Node, Go) need no
new case when a field is added, only when a new kind of value is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wa_version_client.contract import PublishedVersion, WAVersion
from wa_version_client.contract._codec import ModelField, model_fields
from wa_version_client.contract._model import (
    FLAT,
    Choice,
    Const,
    Flag,
    Integer,
    Text,
    Time,
    Version,
)


def sample(field: ModelField, index: int) -> Any:
    """A value of `field`'s type other than its default (not null where it may be null)."""
    kind = field.wire.type
    if isinstance(kind, Integer):
        return min(kind.minimum + 7 + index, kind.maximum)
    if isinstance(kind, Text):
        return f"sample-{field.attr}" if kind.pattern else f"sample {field.attr}"
    if isinstance(kind, Flag):
        return not field.default if isinstance(field.default, bool) else True
    if isinstance(kind, Choice):
        return next(value for value in reversed(kind.values) if value != field.default)
    if isinstance(kind, Const):
        return kind.value
    if isinstance(kind, Time):
        return datetime(2026, 1, 2, 3, 4, index, tzinfo=UTC)
    if isinstance(kind, Version):
        return WAVersion(2, 3000, 1_026_131_000 + index)
    raise TypeError(f"no sample of {kind!r}: teach tests/contract_samples.py")


def sampled(cls: type) -> Any:
    """An instance of the model `cls` with every field at its sample."""
    return cls(**{f.attr: sample(f, i) for i, f in enumerate(model_fields(cls))})


def wrong_values(field: ModelField) -> list[Any]:
    """JSON values no reader of `field` may take (null, where it may not be null)."""
    kind = field.wire.type
    nulls = [] if field.nullable else [None]
    if isinstance(kind, Integer):
        return [*nulls, kind.minimum - 1, True, 1.5, str(kind.minimum + 1)]
    if isinstance(kind, Text):
        return [*nulls, 7, ["text"], *(["not an id", "x" * 10_000] if kind.pattern else [])]
    if isinstance(kind, Flag):
        return [*nulls, 1, "true"]
    if isinstance(kind, Choice):
        return [*nulls, "none of them", 0]
    if isinstance(kind, Const):
        return [*nulls, not kind.value if isinstance(kind.value, bool) else "other"]
    if isinstance(kind, Time):
        return [*nulls, 7, "yesterday"]
    if isinstance(kind, Version):
        return [*nulls, "2.3000.1", [2, 3000, 1], {"array": [2, 3000, 1]}, {"string": "2.3000"}]
    raise TypeError(f"no wrong values of {kind!r}: teach tests/contract_samples.py")


@dataclass(frozen=True)
class Case:
    """A version-changed message, and what the Python library reads in it (None: refused)."""

    label: str
    text: str
    expected: dict[str, Any] | None


def expected_fields(message: PublishedVersion) -> dict[str, Any]:
    """What every client must expose for `message`, by JSON name: a version as its array."""
    out: dict[str, Any] = {}
    for field in model_fields(PublishedVersion):
        value = getattr(message, field.attr)
        if field.wire.json == FLAT:
            out |= {"array": value.array, "string": str(value)}
        elif isinstance(field.wire.type, Version):
            out[field.wire.json or field.attr] = None if value is None else value.array
        else:
            out[field.wire.json or field.attr] = field.wire.type.write(value)
    return out


def message_cases() -> list[Case]:
    """The sample message; each field absent; each field wrong in every way its type can
    be. The verdicts are the Python library's."""
    good = json.loads(sampled(PublishedVersion).encode())
    variants = [("every field", good)]
    for field in model_fields(PublishedVersion):
        names = ("array", "string") if field.wire.json == FLAT else (field.wire.json or field.attr,)
        for name in names:
            variants.append((f"{name} absent", {k: v for k, v in good.items() if k != name}))
        if field.wire.json == FLAT:
            variants.append(("array disagrees", {**good, "array": [2, 3000, 1]}))
            continue
        for value in wrong_values(field):
            variants.append((f"{names[0]}={value!r}", {**good, names[0]: value}))
    return [_case(label, data) for label, data in variants]


def _case(label: str, data: dict[str, Any]) -> Case:
    text = json.dumps(data)
    try:
        message = PublishedVersion.decode(text)
    except ValueError:
        return Case(label, text, None)
    return Case(label, text, expected_fields(message))
