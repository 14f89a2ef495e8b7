"""Pin, unpin and history, through the HTTP API on a real Redis with a worker and the stub."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from shared.settings import Settings
from tests.conftest import SettingsFactory
from tests.support import (
    AUTH,
    REFRESH,
    VERSION,
    app_client,
    assert_failure,
    next_message,
    running_worker,
    wait_until,
)

PIN = "/admin/whatsapp/version/pin"
HISTORY = "/admin/whatsapp/version/history"
UPSTREAM = 1026131876


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_worker(settings), app_client(settings) as client:
        yield client


async def pin(api: httpx.AsyncClient, version: Any) -> httpx.Response:
    return await api.put(VERSION, json={"version": version}, headers=AUTH)


@pytest.mark.server_sensitive
async def test_a_pin_is_applied_and_announced(
    api: httpx.AsyncClient, redis: Redis, keys: ServiceKeys
) -> None:
    """A pinned version is stored and published like a fetched one, with kind "pin"."""
    await api.post(REFRESH, headers=AUTH)
    async with redis.pubsub() as subscriber:
        await subscriber.subscribe(keys.version_changed)
        response = await pin(api, "2.3000.1026131000")
        message = json.loads(await next_message(subscriber))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["pinned"] is True
    assert data["wa_web_version"]["string"] == "2.3000.1026131000"
    assert data["seq"] == 2
    assert (message["string"], message["kind"], message["seq"]) == ("2.3000.1026131000", "pin", 2)


async def test_an_array_pins_too(api: httpx.AsyncClient) -> None:
    response = await pin(api, [2, 3000, 1026131001])
    assert response.json()["data"]["wa_web_version"]["array"] == [2, 3000, 1026131001]


@pytest.mark.server_sensitive
async def test_while_pinned_fetches_are_recorded_not_applied(
    api: httpx.AsyncClient, upstream: StubUpstream
) -> None:
    await pin(api, "2.3000.1026131000")
    data = (await api.post(REFRESH, headers=AUTH)).json()["data"]
    assert data["refreshed"] is True
    assert data["wa_web_version"]["string"] == "2.3000.1026131000"
    assert data["upstream_version"]["string"] == f"2.3000.{UPSTREAM}"
    assert data["last_error"] == ""
    assert upstream.fetches == 1


@pytest.mark.server_sensitive
async def test_unpinning_applies_the_newer_upstream_version(api: httpx.AsyncClient) -> None:
    await api.post(REFRESH, headers=AUTH)
    await pin(api, "2.3000.1026131000")  # a rollback
    response = await api.delete(PIN, headers=AUTH)
    data = response.json()["data"]
    assert response.status_code == 200
    assert data["pinned"] is False
    assert data["wa_web_version"]["string"] == f"2.3000.{UPSTREAM}"
    assert data["seq"] == 3


@pytest.mark.server_sensitive
async def test_unpinning_a_mistaken_pin_above_upstream_returns_to_upstream(
    api: httpx.AsyncClient,
) -> None:
    """A pin above the real version (a typo, a guess) is undone by unpinning: upstream's
    version applies although it is older, announced as kind "unpin"."""
    await api.post(REFRESH, headers=AUTH)
    await pin(api, f"2.3000.{UPSTREAM + 5}")
    data = (await api.delete(PIN, headers=AUTH)).json()["data"]
    assert data["wa_web_version"]["string"] == f"2.3000.{UPSTREAM}"
    assert (data["pinned"], data["seq"]) == (False, 3)
    history = (await api.get(HISTORY, headers=AUTH)).json()["data"]["history"]
    assert (history[0]["kind"], history[0]["previous"]["string"]) == (
        "unpin",
        f"2.3000.{UPSTREAM + 5}",
    )


@pytest.mark.server_sensitive
async def test_unpinning_asks_for_a_forced_refresh(
    api: httpx.AsyncClient, upstream: StubUpstream
) -> None:
    """After an unpin a fetch runs without anyone asking: the state soon holds what
    upstream serves now, not only what it served last time."""
    await api.post(REFRESH, headers=AUTH)
    await pin(api, "2.3000.1026131000")
    upstream.configure(revision=UPSTREAM + 1)
    await api.delete(PIN, headers=AUTH)

    async def now_upstream() -> bool:
        state = (await api.get(VERSION, headers=AUTH)).json()["data"]
        return bool(state["wa_web_version"]["string"] == f"2.3000.{UPSTREAM + 1}")

    await wait_until(now_upstream)
    assert upstream.fetches == 2


@pytest.mark.server_sensitive
async def test_an_unpin_before_upstream_was_ever_heard_follows_the_next_fetch(
    api: httpx.AsyncClient,
) -> None:
    """Pinned high before any fetch, then unpinned: the refresh the unpin asks for
    applies upstream's version, although it is older than the mistaken pin."""
    await pin(api, f"2.3000.{UPSTREAM + 9}")
    unpinned = (await api.delete(PIN, headers=AUTH)).json()["data"]
    assert unpinned["wa_web_version"]["string"] == f"2.3000.{UPSTREAM + 9}"

    async def upstream_applied() -> bool:
        state = (await api.get(VERSION, headers=AUTH)).json()["data"]
        return bool(state["wa_web_version"]["string"] == f"2.3000.{UPSTREAM}")

    await wait_until(upstream_applied)
    history = (await api.get(HISTORY, headers=AUTH)).json()["data"]["history"]
    assert [h["kind"] for h in history] == ["unpin", "pin"]


@pytest.mark.server_sensitive
async def test_history_lists_fetch_pin_and_unpin_newest_first(api: httpx.AsyncClient) -> None:
    await api.post(REFRESH, headers=AUTH)
    await pin(api, "2.3000.1026131000")
    await api.delete(PIN, headers=AUTH)
    response = await api.get(HISTORY, headers=AUTH)
    history = response.json()["data"]["history"]
    assert [(h["kind"], h["seq"]) for h in history] == [("unpin", 3), ("pin", 2), ("fetch", 1)]
    assert history[0]["previous"]["string"] == "2.3000.1026131000"
    assert all(h["changed_at"].endswith("Z") for h in history)
    limited = (await api.get(HISTORY, params={"limit": "1"}, headers=AUTH)).json()["data"]
    assert [h["kind"] for h in limited["history"]] == ["unpin"]


@pytest.mark.server_sensitive
async def test_history_is_bounded(make_settings: SettingsFactory) -> None:
    settings = make_settings(history_length=2)
    async with running_worker(settings), app_client(settings) as api:
        for revision in (1, 2, 3):
            await pin(api, f"2.3000.{revision}")
        history = (await api.get(HISTORY, headers=AUTH)).json()["data"]["history"]
    assert [h["string"] for h in history] == ["2.3000.3", "2.3000.2"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "the body is not JSON"),
        (b"[]", "the body must be a JSON object"),
        (
            b'{"version": "2.3000.1", "x": 1}',
            'the body must be {"version": "2.3000.N"} or {"version": [2, 3000, N]}',
        ),
        (b'{"version": "2.3000"}', "'2.3000' is not a version like 2.3000.1012345678"),
        (b'{"version": [2, 3000]}', "[2, 3000] is not a version array of three integers"),
        (
            b'{"version": [2, 3000, true]}',
            "[2, 3000, True] is not a version array of three integers",
        ),
        (b'{"version": "2.3000.4294967296"}', "version part 4294967296 is not a uint32"),
        (b'{"version": "3.3000.1"}', "a WhatsApp Web version starts with 2, not 3"),
        (b'{"version": 2}', "version must be a string or an array"),
    ],
)
async def test_bad_pins_are_400(api: httpx.AsyncClient, body: bytes, error: str) -> None:
    response = await api.put(VERSION, content=body, headers=AUTH)
    assert_failure(response, 400, "Bad request", error)


async def test_an_oversized_body_is_413(api: httpx.AsyncClient) -> None:
    response = await api.put(VERSION, content=b" " * 5000, headers=AUTH)
    assert_failure(response, 413, "Payload too large", "the body is over 4096 bytes")


@pytest.mark.parametrize("limit", ["0", "1001", "x", "-1"])
async def test_a_bad_history_limit_is_400(api: httpx.AsyncClient, limit: str) -> None:
    response = await api.get(HISTORY, params={"limit": limit}, headers=AUTH)
    assert_failure(
        response, 400, "Bad request", f"limit must be a whole number from 1 to 1000, got {limit!r}"
    )


@pytest.mark.parametrize(("method", "path"), [("PUT", VERSION), ("DELETE", PIN), ("GET", HISTORY)])
async def test_pinning_needs_the_secret(api: httpx.AsyncClient, method: str, path: str) -> None:
    response = await api.request(method, path, json={"version": "2.3000.1"})
    assert_failure(response, 401, "Unauthorized", "Invalid or missing authentication")
