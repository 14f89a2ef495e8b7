"""What the admin page never shows, and what its session opens: the event stream."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import httpx
import pytest

from shared.settings import Settings
from tests.api.page_support import ACTIONS, LOGIN, log_in
from tests.conftest import SECRET
from tests.support import app_client, running_api, running_worker

EVENTS = "/admin/whatsapp/version/events"


async def test_the_secret_is_never_in_a_page_a_url_or_a_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Every page and answer of a session's life, and every log line meanwhile."""
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Response] = []
    async with running_worker(settings), app_client(settings) as api:
        api.event_hooks["response"] = [seen_response(seen)]
        await log_in(api, "wrong")
        await log_in(api)
        origin = {"Origin": "http://testserver"}
        for path, data in ACTIONS.items():
            await api.post(path, data=data, headers=origin)
            await api.get("/admin/")
        await api.post("/admin/pin", data={"version": "nonsense"}, headers=origin)
        await api.get("/admin/fleet")
        await api.get("/admin/state")
        await api.post(LOGIN, data={"secret": "x" * 5000}, headers=origin)
        await api.post("/admin/logout", headers=origin)
    assert len(seen) >= 10
    for response in seen:
        shown = [response.text, str(response.url), str(response.headers)]
        shown.append(str(response.history) + str(response.request.url))
        assert not any(SECRET in text for text in shown), response.url
    assert caplog.records  # the requests were logged, without the secret
    assert not any(SECRET in record.getMessage() for record in caplog.records)


def seen_response(seen: list[httpx.Response]) -> Callable[[httpx.Response], Awaitable[None]]:
    async def keep(response: httpx.Response) -> None:
        await response.aread()
        seen.append(response)

    return keep


async def test_the_event_stream_accepts_the_session(settings: Settings) -> None:
    async with running_worker(settings), running_api(settings) as api:
        refused = await api.get(EVENTS)
        assert refused.status_code == 401
        await log_in(api)
        await api.post("/admin/refresh", data={"force": "true"}, headers=origin_of(api))
        async with api.stream("GET", EVENTS) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            event = []
            async for line in stream.aiter_lines():
                if not line:
                    break
                event.append(line)
    assert "event: version" in event
    assert any(line.startswith("data: {") and '"string":"2.3000.' in line for line in event)


def origin_of(api: httpx.AsyncClient) -> dict[str, str]:
    return {"Origin": str(api.base_url).rstrip("/")}
