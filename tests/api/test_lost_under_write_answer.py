"""A write to a Redis connection closed under it (uvloop's RuntimeError, passed on as it is
by redis-py) answers like Redis going away: 503, a warning; any other RuntimeError a 500."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.error_handlers import EXCEPTION_HANDLERS, CatchUnexpected

CLOSED_UNDER_WRITE = (
    "unable to perform operation on <TCPTransport closed=True reading=False 0x55fa5a904400>;"
    " the handler is closed"
)


async def lost(request: Request) -> Response:
    raise RuntimeError(CLOSED_UNDER_WRITE)


async def broken(request: Request) -> Response:
    raise RuntimeError("something else entirely")


@pytest.fixture
async def api() -> httpx.AsyncClient:
    app = Starlette(
        routes=[Route("/lost", lost), Route("/broken", broken)],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(CatchUnexpected)],
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_write_on_a_closed_connection_is_redis_away(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await api.get("/lost")
    assert response.status_code == 503
    assert response.json()["error"] == "the version store is unreachable; try again shortly"
    assert [r.levelname for r in caplog.records] == ["WARNING"]


async def test_any_other_runtime_error_stays_unexpected(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await api.get("/broken")
    assert response.status_code == 500
    assert "something else" not in response.text
    assert [r.levelname for r in caplog.records] == ["ERROR"]
