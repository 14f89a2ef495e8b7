"""The JSON envelope every response uses: `{status, code, message, data|error}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

# The message each failing status carries; the `error` field says what went wrong.
STATUS_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    413: "Payload too large",
    429: "Too many requests",
    431: "Request header fields too large",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class ApiError(Exception):
    """Raised by a handler to answer with a failure envelope."""

    def __init__(
        self,
        code: int,
        error: str,
        *,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.code = code
        self.error = error
        self.message = message or STATUS_MESSAGES.get(code, "Error")
        self.headers = headers


def success(message: str, data: Mapping[str, Any]) -> JSONResponse:
    """A 200 envelope around `data`."""
    return JSONResponse({"status": True, "code": 200, "message": message, "data": dict(data)})


def failure(error: ApiError) -> JSONResponse:
    """A failure envelope for `error`."""
    body = {"status": False, "code": error.code, "message": error.message, "error": error.error}
    return JSONResponse(body, status_code=error.code, headers=error.headers)
