"""The Python client reads and writes every field the contract model declares, in every
form it declares, and its schemas name them all: checked against the model, so a new
field needs no new test here (tests/contract_samples.py makes its values)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.contract_samples import message_cases, sampled
from wa_version_client.contract import MessageError, PublishedVersion, RefreshJob, VersionState
from wa_version_client.contract._codec import model_fields
from wa_version_client.contract._model import FLAT, FLAT_NAMES, Text

SCHEMAS = Path(__file__).parents[2] / "schemas"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def names(cls: type, form: str) -> list[str]:
    """The names `cls`'s fields take in `form` ("json" or "hash"), as the model says."""
    out: list[str] = []
    for field in model_fields(cls):
        name = getattr(field.wire, form)
        if name == FLAT:
            out += FLAT_NAMES
        elif name is not None:
            out.append(name or field.attr)
    return out


def test_every_field_of_the_message_survives_its_json() -> None:
    message = sampled(PublishedVersion)
    data = json.loads(message.encode())
    assert list(data) == names(PublishedVersion, "json")
    assert PublishedVersion.decode(message.encode()) == message
    jsonschema.validate(data, schema("version-changed.schema.json"))


def test_every_field_of_the_state_survives_the_hash_and_the_api() -> None:
    state = sampled(VersionState)
    assert sorted(state.to_hash()) == sorted(names(VersionState, "hash"))
    assert VersionState.from_hash(state.to_hash()) == state
    shown = state.to_json()
    assert list(shown) == names(VersionState, "json")
    from_api = VersionState.from_json(shown)
    assert from_api == VersionState(**{**vars_of(state), "rev": 0})  # the API shows no rev
    jsonschema.validate(state.to_hash(), schema("version-hash.schema.json"))
    jsonschema.validate(shown, schema("version-state.schema.json"))


def test_every_field_of_a_job_survives_the_stream() -> None:
    job = sampled(RefreshJob)
    fields = job.to_fields()
    assert list(fields) == names(RefreshJob, "hash")
    assert all(isinstance(value, str) for value in fields.values())
    assert RefreshJob.from_fields(fields) == job


def checked_hash_names() -> list[str]:
    """The hash fields that are not free text: each has a form of its own."""
    free = {f.wire.hash or f.attr for f in model_fields(VersionState) if type(f.wire.type) is Text}
    return [name for name in names(VersionState, "hash") if name not in free]


@pytest.mark.parametrize("name", checked_hash_names())
def test_a_malformed_stored_field_is_reported_for_itself(name: str) -> None:
    """Each hash field has a parser that refuses garbage, and says so for that field."""
    stored = {**sampled(VersionState).to_hash(), name: "\x00garbage"}
    _, problems = VersionState.read_hash(stored)
    assert list(problems) == [name]
    with pytest.raises(MessageError, match=name):
        VersionState.from_hash(stored)


@pytest.mark.parametrize("case", message_cases(), ids=lambda case: case.label)
def test_the_decoder_reads_the_sample_and_refuses_each_wrong_field(case: Any) -> None:
    """Each field absent or of a wrong kind is refused (unless the model lets it be
    absent); what the schema accepts, the decoder does too, but for an array that
    disagrees with the string (which no schema can say)."""
    data = json.loads(case.text)
    valid = jsonschema.Draft202012Validator(schema("version-changed.schema.json")).is_valid(data)
    defaults = {
        f.wire.json or f.attr: f.wire.type.write(f.default)
        for f in model_fields(PublishedVersion)
        if f.wire.optional
    }
    if case.expected is None:
        with pytest.raises(MessageError):
            PublishedVersion.decode(case.text)
        assert not valid or case.label == "array disagrees"
        return
    assert valid
    if case.label != "every field":  # an optional field absent: read as its default
        absent = case.label.removesuffix(" absent")
        assert absent in defaults
        assert case.expected[absent] == defaults[absent]


def vars_of(value: Any) -> dict[str, Any]:
    return {field.attr: getattr(value, field.attr) for field in model_fields(type(value))}
