"""The pieces the OpenAPI document (api/openapi.py) is built from: the patterns of what
the API accepts, and the envelope. The shapes of its answers (a version, the state, a
history entry, a failure) are generated from the contract model by `./dev contract`
(api/openapi_components.py). tests/api/test_openapi_document.py holds them to the code
they describe.
"""

from __future__ import annotations

from typing import Any

from api.envelope import STATUS_MESSAGES
from api.openapi_components import COMPONENTS

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

# The state's fields, as the generated components declare them (tests compare them with
# what the code shows).
STATE_PROPERTIES: dict[str, Any] = COMPONENTS["State"]["properties"]


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


# GET /admin/whatsapp/fleet's data (shared/fleet.py).
FLEET: dict[str, Any] = {
    "type": "object",
    "required": ["managers", "by_version", "ignored", "unlisted", "read_at"],
    "properties": {
        "managers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "client", "version", "server", "connected_for"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                    "client": {"enum": ["python", "node", "go", "watcher"]},
                    "version": {"type": ["string", "null"]},
                    "server": {"type": "string"},
                    "connected_for": {"type": "integer", "minimum": 0},
                },
            },
        },
        "by_version": {"type": "object", "additionalProperties": {"type": "integer"}},
        "ignored": {"type": "integer", "minimum": 0},
        # Servers (host:port) whose clients could not be listed: a replica or node down.
        "unlisted": {"type": "array", "items": {"type": "string"}},
        "read_at": {"type": "string"},
    },
}
