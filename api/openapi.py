"""The OpenAPI 3.1 document of the admin API, served at /openapi.json.

The admin page (/admin/ and its forms, api/admin_page.py) is HTML for people, not part
of the API: it is left out, save its session as a way into the event stream.
"""

from __future__ import annotations

from typing import Any

from api.openapi_components import COMPONENTS
from api.openapi_parts import (
    ADMIN_FAILURES,
    FLEET,
    FORCE_PATTERN,
    LIMIT_PATTERN,
    VERSION_PATTERN,
    answer,
    failures,
    success,
)
from api.page_auth import SESSION_COOKIE

# What /readyz answers when ready.
READY: dict[str, Any] = {
    "type": "object",
    "required": ["ready", "warnings"],
    "properties": {
        "ready": {"const": True},
        "warnings": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What is wrong without stopping the service: a Redis that keeps"
            " nothing on disk (a restart would lose the pin), or whose persistence is unknown.",
        },
    },
}

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
            "adminSession": {
                "type": "apiKey",
                "in": "cookie",
                "name": SESSION_COOKIE,
                "description": "The admin page's session, set by logging in at /admin/.",
            },
        },
        # The answers' shapes, from the contract model (./dev contract).
        "schemas": COMPONENTS,
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
                    "200": answer(
                        "Refreshed, or the recent state when force=false",
                        success({"$ref": "#/components/schemas/Refreshed"}),
                    ),
                    **failures(400, *ADMIN_FAILURES, 504),
                },
            }
        },
        "/admin/whatsapp/version": {
            "get": {
                "summary": "The stored version and refresh bookkeeping",
                "operationId": "getVersion",
                "security": [{"adminSecret": []}],
                "responses": {
                    "200": answer("The state", success({"$ref": "#/components/schemas/State"})),
                    **failures(*ADMIN_FAILURES),
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
                    "200": answer("Pinned", success({"$ref": "#/components/schemas/State"})),
                    **failures(400, 408, 413, *ADMIN_FAILURES),
                },
            },
        },
        "/admin/whatsapp/version/pin": {
            "delete": {
                "summary": "Unpin: upstream's last version applies; a forced refresh is asked for",
                "operationId": "unpinVersion",
                "security": [{"adminSecret": []}],
                "responses": {
                    "200": answer("Unpinned", success({"$ref": "#/components/schemas/State"})),
                    **failures(*ADMIN_FAILURES),
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
                        "schema": {"type": "string", "pattern": LIMIT_PATTERN},
                    }
                ],
                "responses": {
                    "200": answer(
                        "The history",
                        success(
                            {
                                "type": "object",
                                "required": ["history"],
                                "properties": {
                                    "history": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/VersionChanged"},
                                    }
                                },
                            }
                        ),
                    ),
                    **failures(400, *ADMIN_FAILURES),
                },
            }
        },
        "/admin/whatsapp/fleet": {
            "get": {
                "summary": "Which connection manager holds which version (cached a second)",
                "operationId": "fleet",
                "security": [{"adminSecret": []}],
                "responses": {
                    "200": answer("The fleet", success(FLEET)),
                    **failures(*ADMIN_FAILURES),
                },
            }
        },
        "/admin/whatsapp/version/events": {
            "get": {
                "summary": "Server-Sent Events: the current version, then one event per change",
                "description": "Each event is `event: version`, `id: <epoch>-<seq>`, `data:` a"
                " VersionChanged message; `: ping` comments keep the stream alive. A"
                " `Last-Event-ID` equal to the current id gets nothing until the next change."
                " The admin page's session opens it as well as the secret.",
                "operationId": "versionEvents",
                "security": [{"adminSecret": []}, {"adminSession": []}],
                "responses": {
                    "200": {
                        "description": "An endless stream of events",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **failures(*ADMIN_FAILURES),
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
                    **failures(*ADMIN_FAILURES),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "The process is alive",
                "operationId": "healthz",
                "responses": {
                    "200": answer("Alive", success({"type": "object"})),
                    **failures(431),
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "Redis answers and a worker reads jobs",
                "operationId": "readyz",
                "responses": {
                    "200": answer("Ready", success(READY)),
                    **failures(431, 503),
                },
            }
        },
    },
}
