"""The pieces the OpenAPI document (api/openapi.py) is built from: the shapes of a
version and of the state as the API shows them, the patterns of what the API accepts,
and the envelope. tests/api/test_openapi_document.py holds them to the code they describe.
"""

from __future__ import annotations

from typing import Any

from api.envelope import STATUS_MESSAGES

# A uint32 in decimal, without leading zeros: 0 to 4294967295.
UINT32_PATTERN = (
    "(0|[1-9][0-9]{0,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}"
    "|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}"
    "|42949672[0-8][0-9]|429496729[0-5])"
)
VERSION_PATTERN = f"^2\\.{UINT32_PATTERN}\\.{UINT32_PATTERN}$"

# `force` as parse_force() reads it: these words in any letter case, nothing else.
FORCE_PATTERN = (
    "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0|[Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff])$"
)

# `limit` of the history: 1 to 1000.
LIMIT_PATTERN = "^([1-9][0-9]{0,2}|1000)$"

TIME = {"type": ["string", "null"], "format": "date-time", "examples": ["2025-12-21T10:30:00Z"]}
VERSION_SCHEMA = {
    "type": "object",
    "required": ["array", "string"],
    "properties": {
        "array": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 4294967295},
            "minItems": 3,
            "maxItems": 3,
            "examples": [[2, 3000, 1012345678]],
        },
        "string": {"type": "string", "examples": ["2.3000.1012345678"]},
    },
}
STATE_PROPERTIES: dict[str, Any] = {
    "wa_web_version": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Version"}]},
    "last_refreshed": {**TIME, "description": "The last fetch attempt, failed or not."},
    "last_error": {
        "type": "string",
        "description": "Why the last attempt failed; empty after success.",
    },
    "last_success": {**TIME, "description": "The last successful fetch."},
    "source": {"type": "string", "description": "The URL that answered the last successful fetch."},
    "seq": {"type": "integer", "minimum": 0, "description": "+1 with each version change."},
    "epoch": {
        "type": "integer",
        "minimum": 0,
        "description": "When the stored state was first written (ms).",
    },
    "changed_at": {**TIME, "description": "When the version last changed."},
    "pinned": {"type": "boolean", "description": "Whether an operator pinned the version."},
    "upstream_version": {
        "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Version"}],
        "description": "The version upstream reported last (applied or not).",
    },
    "upstream_seen_at": {**TIME, "description": "When upstream reported it."},
    "awaiting_upstream": {
        "type": "boolean",
        "description": "Unpinned before upstream was ever heard: the next fetch applies.",
    },
}


def success(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "code", "message", "data"],
        "additionalProperties": False,
        "properties": {
            "status": {"const": True},
            "code": {"const": 200},
            "message": {"type": "string"},
            "data": data,
        },
    }


def answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def failures(*codes: int) -> dict[str, Any]:
    return {
        str(code): answer(STATUS_MESSAGES[code], {"$ref": "#/components/schemas/Failure"})
        for code in codes
    }


ADMIN_FAILURES = (401, 429, 431, 500, 503)
