"""JSON Schemas from the contract model: the files in schemas/, and the OpenAPI components
the API's document is built from (api/openapi_components.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devtools.contract.common import NOTICE, anchored, description, hash_fields, json_fields
from wa_version_client.contract import PublishedVersion, VersionState
from wa_version_client.contract._api import ApiFailure, Refreshed
from wa_version_client.contract._codec import ModelField
from wa_version_client.contract._model import (
    VERSION_FORMS,
    Choice,
    Const,
    Flag,
    Integer,
    Text,
    Time,
    Version,
)
from wa_version_client.contract._version import UINT32_MAX, VERSION_TEXT
from wa_version_client.contract._wire import DIGITS

Schema = dict[str, Any]
# A version's piece by name ("version", "array", "string", "uint32"), given the pieces
# made so far: a $ref to it, or the schema itself.
Ref = Callable[[str, dict[str, Schema]], Schema]

SCHEMA_BASE = "https://github.com/wa-version-service/schemas/"
TIME_TEXT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
EXAMPLE = [2, 3000, 1026131876]


def version_schemas(ref: Ref) -> dict[str, Schema]:
    """The pieces of a version, each by name, referring to the others through `ref`."""
    pieces: dict[str, Schema] = {"uint32": {"type": "integer", "minimum": 0, "maximum": UINT32_MAX}}
    pieces["array"] = {
        "type": "array",
        "prefixItems": [ref("uint32", pieces)] * 3,
        "minItems": 3,
        "maxItems": 3,
        "examples": [EXAMPLE],
        "description": VERSION_FORMS["array"],
    }
    pieces["string"] = {
        "type": "string",
        "pattern": anchored(VERSION_TEXT.pattern),
        "examples": [".".join(map(str, EXAMPLE))],
        "description": VERSION_FORMS["string"],
    }
    pieces["version"] = {
        "type": "object",
        "required": ["array", "string"],
        "properties": {"array": ref("array", pieces), "string": ref("string", pieces)},
    }
    return pieces


def value_schema(kind: Any, ref: Callable[[str], Schema]) -> Schema:
    """The JSON Schema of one wire type's JSON form."""
    if isinstance(kind, Integer):
        return {"type": "integer", "minimum": kind.minimum, "maximum": kind.maximum}
    if isinstance(kind, Text):
        pattern = {"pattern": f"^{kind.pattern}$"} if kind.pattern else {}
        return {"type": "string", **({"format": kind.format} if kind.format else {}), **pattern}
    if isinstance(kind, Flag):
        return {"type": "boolean"}
    if isinstance(kind, Choice):
        return {"enum": list(kind.values)}
    if isinstance(kind, Const):
        return {"const": kind.value}
    if isinstance(kind, Time):
        return {"type": "string", "format": "date-time", "examples": ["2025-12-21T10:30:00Z"]}
    if isinstance(kind, Version):
        return ref("version")
    raise TypeError(f"no JSON Schema for {kind!r}: teach devtools/contract/schemas.py")


def or_null(schema: Schema) -> Schema:
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"oneOf": [{"type": "null"}, schema]}


def object_schema(cls: type, ref: Callable[[str], Schema]) -> Schema:
    """`cls`'s JSON form: its properties, and those a reader needs present."""
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for field in json_fields(cls):
        if field.flat:
            for name in field.names:
                properties[name] = {**ref(name), "description": field.doc}
        else:
            schema = value_schema(field.kind, ref)
            schema = or_null(schema) if field.nullable else schema
            properties[field.name] = {**schema, "description": field.doc}
        required += field.names if field.required else []
    return {"type": "object", "required": required, "properties": properties}


def defs_ref(name: str, pieces: dict[str, Schema] | None = None) -> Schema:
    """A piece of a version as a schema file has it: in its `$defs`."""
    return {"$ref": f"#/$defs/{name}"}


def document(file: str, title: str, cls: type, body: Schema, *, defs: bool) -> Schema:
    head = {
        "$comment": NOTICE,
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_BASE + file,
        "title": title,
        "description": description(cls),
    }
    return {**head, **body, **({"$defs": version_schemas(defs_ref)} if defs else {})}


def message_schema() -> Schema:
    body = {**object_schema(PublishedVersion, defs_ref), "additionalProperties": True}
    return document(
        "version-changed.schema.json", "version-changed", PublishedVersion, body, defs=True
    )


def state_schema() -> Schema:
    """The state as the API shows it (`data` of GET /admin/whatsapp/version)."""
    body = object_schema(VersionState, defs_ref)
    return document("version-state.schema.json", "version state", VersionState, body, defs=True)


def hash_schema() -> Schema:
    """The hash `<prefix>:version`: every value a string; empty or absent is the default."""
    properties: dict[str, Schema] = {}
    for field in hash_fields(VersionState):
        patterns = stored_patterns(field)
        for name, pattern in patterns.items():
            shown = {"pattern": anchored(f"|{pattern}")} if pattern else {}
            properties[name] = {"type": "string", **shown, "description": field.wire.doc}
    body = {
        "type": "object",
        "properties": properties,
        "additionalProperties": {"type": "string"},
    }
    return document("version-hash.schema.json", "version hash", VersionState, body, defs=False)


def stored_patterns(field: ModelField) -> dict[str, str | None]:
    """The regex (Python's, fullmatch) of each string field `field` is stored in."""
    kind, name = field.wire.type, field.hash_name
    assert name is not None
    uint32 = VERSION_TEXT.pattern.split(r"\.")[0]
    if field.hash_flat:
        return {"string": VERSION_TEXT.pattern, "array": rf"\[{uint32},{uint32},{uint32}\]"}
    if isinstance(kind, Integer):
        return {name: DIGITS.pattern}
    if isinstance(kind, Flag):
        return {name: "[01]"}
    if isinstance(kind, Time):
        return {name: TIME_TEXT}
    if isinstance(kind, Version):
        return {name: VERSION_TEXT.pattern}
    if isinstance(kind, Choice):
        return {name: "|".join(kind.values)}
    if isinstance(kind, Text):
        return {name: kind.pattern or None}
    raise TypeError(f"no stored form for {kind!r}: teach devtools/contract/schemas.py")


def openapi_components() -> dict[str, Schema]:
    """The components of the API's OpenAPI document: its answers' shapes."""
    pieces = version_schemas(component_ref)

    def ref(name: str) -> Schema:
        return component_ref(name, pieces)

    state, refreshed = object_schema(VersionState, ref), object_schema(Refreshed, ref)
    message, failure = object_schema(PublishedVersion, ref), object_schema(ApiFailure, ref)
    return {
        "Version": pieces["version"],
        "State": state,
        "Refreshed": {"allOf": [{"$ref": "#/components/schemas/State"}, refreshed]},
        "VersionChanged": {**message, "description": description(PublishedVersion)},
        "Failure": {**failure, "additionalProperties": False},
    }


def component_ref(name: str, pieces: dict[str, Schema]) -> Schema:
    """The version object by reference (#/components/schemas/Version); its parts inline."""
    if name == "version":
        return {"$ref": "#/components/schemas/Version"}
    return pieces[name]


def json_text(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, str]:
    return {
        "schemas/version-changed.schema.json": json_text(message_schema()),
        "schemas/version-state.schema.json": json_text(state_schema()),
        "schemas/version-hash.schema.json": json_text(hash_schema()),
    }
