"""Turning every failure into an envelope: ours, the framework's, and the unexpected."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.envelope import ApiError, failure
from shared.errors import MessageError
from shared.redis import REDIS_DOWN, describe

log = logging.getLogger(__name__)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return failure(exc)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405, in the envelope instead of plain text."""
    assert isinstance(exc, HTTPException)
    error = ApiError(
        exc.status_code,
        _FRAMEWORK_ERRORS.get(exc.status_code, exc.detail),
        headers=exc.headers,
    )
    return failure(error)


async def on_redis_down(request: Request, exc: Exception) -> Response:
    log.warning("Redis is unreachable: %s", describe(exc))
    return failure(ApiError(503, "the version store is unreachable; try again shortly"))


async def on_redis_refusal(request: Request, exc: Exception) -> Response:
    """Redis answered with an error (out of memory, a read-only replica, …): a 503 too."""
    log.warning("Redis refused a command: %s", describe(exc))
    return failure(ApiError(503, "the version store refused the request; try again shortly"))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """Anything else: a 500 that tells the client nothing about the internals."""
    if isinstance(exc, MessageError):
        log.error("stored data does not decode: %s", exc)
    return failure(ApiError(500, "an unexpected error occurred; it has been logged"))


_FRAMEWORK_ERRORS = {
    404: "no such endpoint",
    405: "method not allowed on this endpoint",
}

EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    ApiError: on_api_error,
    HTTPException: on_http_exception,
    **{kind: on_redis_down for kind in REDIS_DOWN},
    RedisError: on_redis_refusal,
    Exception: on_unexpected,
}
