"""Turning every failure into an envelope: ours, the framework's, and the unexpected."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.envelope import ApiError, failure
from shared.errors import StateConflict
from wa_version_client.deployment import REDIS_DOWN, describe, lost_under_write

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


async def on_runtime_error(request: Request, exc: Exception) -> Response:
    """A write to a Redis connection closed under it (uvloop's RuntimeError, which
    redis-py passes on as it is: wa_version_client's lost_under_write) is Redis going
    away, a 503; any other RuntimeError stays unexpected (CatchUnexpected: a 500)."""
    if not lost_under_write(exc):
        raise exc
    return await on_redis_down(request, exc)


async def on_redis_refusal(request: Request, exc: Exception) -> Response:
    """Redis answered with an error (out of memory, a read-only replica, …): a 503 too."""
    log.warning("Redis refused a command: %s", describe(exc))
    return failure(ApiError(503, "the version store refused the request; try again shortly"))


async def on_state_conflict(request: Request, exc: Exception) -> Response:
    log.warning("%s", exc)
    return failure(ApiError(503, "the version store is busy; try again shortly"))


async def on_client_disconnect(request: Request, exc: Exception) -> Response:
    """The client left in the middle of its body: nothing to answer, nothing to alarm."""
    log.info("the client went away before sending its whole body")
    return failure(ApiError(400, "the request body ended early"))


UNEXPECTED = ApiError(500, "an unexpected error occurred; it has been logged")


class CatchUnexpected:
    """Anything no handler took: logged with its traceback and the request's id, and a 500
    envelope that tells the client nothing about the internals.

    Pure ASGI and inside RequestId, unlike Starlette's handler for `Exception` (which runs
    outside every middleware): the 500 carries X-Request-ID, and the one log line about
    the failure carries the request id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("unexpected failure answering %s %s", scope["method"], scope["path"])
            if not started:
                await failure(UNEXPECTED)(scope, receive, send)


_FRAMEWORK_ERRORS = {
    404: "no such endpoint",
    405: "method not allowed on this endpoint",
}

EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    ApiError: on_api_error,
    HTTPException: on_http_exception,
    **{kind: on_redis_down for kind in REDIS_DOWN},
    RedisError: on_redis_refusal,
    StateConflict: on_state_conflict,
    RuntimeError: on_runtime_error,
    ClientDisconnect: on_client_disconnect,
}
