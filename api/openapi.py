"""The OpenAPI 3.1 document of the admin API, served at /openapi.json."""

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

_TIME = {"type": ["string", "null"], "format": "date-time", "examples": ["2025-12-21T10:30:00Z"]}
_VERSION = {
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
_STATE_PROPERTIES: dict[str, Any] = {
    "wa_web_version": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Version"}]},
    "last_refreshed": {**_TIME, "description": "The last fetch attempt, failed or not."},
    "last_error": {
        "type": "string",
        "description": "Why the last attempt failed; empty after success.",
    },
    "last_success": {**_TIME, "description": "The last successful fetch."},
    "source": {"type": "string", "description": "The URL that answered the last successful fetch."},
    "seq": {"type": "integer", "minimum": 0, "description": "+1 with each version change."},
    "epoch": {
        "type": "integer",
        "minimum": 0,
        "description": "When the stored state was first written (ms).",
    },
    "changed_at": {**_TIME, "description": "When the version last changed."},
    "pinned": {"type": "boolean", "description": "Whether an operator pinned the version."},
    "upstream_version": {
        "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Version"}],
        "description": "The version upstream reported last (applied or not).",
    },
    "upstream_seen_at": {**_TIME, "description": "When upstream reported it."},
    "awaiting_upstream": {
        "type": "boolean",
        "description": "Unpinned before upstream was ever heard: the next fetch applies.",
    },
}


def _success(data: dict[str, Any]) -> dict[str, Any]:
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


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _failures(*codes: int) -> dict[str, Any]:
    return {
        str(code): _answer(STATUS_MESSAGES[code], {"$ref": "#/components/schemas/Failure"})
        for code in codes
    }


_ADMIN_FAILURES = (401, 429, 431, 500, 503)

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "wa-version-service",
        "version": "1",
        "description": "Keeps every WhatsApp connection on the current WhatsApp Web version.",
    },
    "components": {
        "securitySchemes": {
            "adminSecret": {"type": "apiKey", "in": "header", "name": "X-Admin-Secret"},
            "metricsToken": {"type": "http", "scheme": "bearer"},
        },
        "schemas": {
            "Version": _VERSION,
            "State": {
                "type": "object",
                "required": list(_STATE_PROPERTIES),
                "properties": _STATE_PROPERTIES,
            },
            "Refreshed": {
                "type": "object",
                "required": ["refreshed", *_STATE_PROPERTIES],
                "properties": {
                    "refreshed": {"type": "boolean", "description": "Whether this call fetched."},
                    **_STATE_PROPERTIES,
                },
            },
            "Failure": {
                "type": "object",
                "required": ["status", "code", "message", "error"],
                "additionalProperties": False,
                "properties": {
                    "status": {"const": False},
                    "code": {"type": "integer", "minimum": 400, "maximum": 599},
                    "message": {"type": "string"},
                    "error": {"type": "string"},
                },
            },
        },
    },
    "paths": {
        "/admin/whatsapp/version/refresh": {
            "post": {
                "summary": "Fetch and apply the latest WhatsApp Web version",
                "operationId": "refreshVersion",
                "security": [{"adminSecret": []}],
                "parameters": [
                    {
                        "name": "force",
                        "in": "query",
                        "required": False,
                        "description": "Fetch even if the last attempt is recent (default true).",
                        "schema": {"type": "string", "pattern": FORCE_PATTERN, "default": "true"},
                    }
                ],
                "responses": {
                    "200": _answer(
                        "Refreshed, or the recent state when force=false",
                        _success({"$ref": "#/components/schemas/Refreshed"}),
                    ),
                    **_failures(400, *_ADMIN_FAILURES, 504),
                },
            }
        },
        "/admin/whatsapp/version": {
            "get": {
                "summary": "The stored version and refresh bookkeeping",
                "operationId": "getVersion",
                "security": [{"adminSecret": []}],
                "responses": {
                    "200": _answer("The state", _success({"$ref": "#/components/schemas/State"})),
                    **_failures(*_ADMIN_FAILURES),
                },
            },
            "put": {
                "summary": "Pin a version: applied and announced now, fetches no longer apply",
                "operationId": "pinVersion",
                "security": [{"adminSecret": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["version"],
                                "additionalProperties": False,
                                "properties": {
                                    "version": {
                                        "oneOf": [
                                            {"type": "string", "pattern": VERSION_PATTERN},
                                            {
                                                "type": "array",
                                                "prefixItems": [{"const": 2}],
                                                "items": {
                                                    "type": "integer",
                                                    "minimum": 0,
                                                    "maximum": 4294967295,
                                                },
                                                "minItems": 3,
                                                "maxItems": 3,
                                            },
                                        ]
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _answer("Pinned", _success({"$ref": "#/components/schemas/State"})),
                    **_failures(400, 408, 413, *_ADMIN_FAILURES),
                },
            },
        },
        "/admin/whatsapp/version/pin": {
            "delete": {
                "summary": "Unpin: upstream's last version applies; a forced refresh is asked for",
                "operationId": "unpinVersion",
                "security": [{"adminSecret": []}],
                "responses": {
                    "200": _answer("Unpinned", _success({"$ref": "#/components/schemas/State"})),
                    **_failures(*_ADMIN_FAILURES),
                },
            }
        },
        "/admin/whatsapp/version/history": {
            "get": {
                "summary": "The last applied versions, newest first",
                "operationId": "versionHistory",
                "security": [{"adminSecret": []}],
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^([1-9][0-9]{0,2}|1000)$"},
                    }
                ],
                "responses": {
                    "200": _answer(
                        "The history",
                        _success(
                            {
                                "type": "object",
                                "required": ["history"],
                                "properties": {
                                    "history": {"type": "array", "items": {"type": "object"}}
                                },
                            }
                        ),
                    ),
                    **_failures(400, *_ADMIN_FAILURES),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics: this web process's and all workers'",
                "operationId": "metrics",
                "security": [{"adminSecret": []}, {"metricsToken": []}],
                "responses": {
                    "200": {
                        "description": "Prometheus text format 0.0.4",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_failures(*_ADMIN_FAILURES),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "The process is alive",
                "operationId": "healthz",
                "responses": {
                    "200": _answer("Alive", _success({"type": "object"})),
                    **_failures(431),
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "Redis answers and a worker reads jobs",
                "operationId": "readyz",
                "responses": {
                    "200": _answer("Ready", _success({"type": "object"})),
                    **_failures(431, 503),
                },
            }
        },
    },
}
