"""GET of the state and force=false answer from the copy the web holds (shared/held_state.py),
on a real Redis with a worker: every write shows, none is answered from a stale copy.

The copy's timer (MAX_AGE) is set out of reach here: what keeps it true is the word of
each write, and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from devtools.stub_upstream import StubUpstream
from shared import held_state, transitions
from shared.keys import ServiceKeys
from shared.refresh_client import refresh_client
from shared.settings import Settings
from shared.store import StateStore
from tests.conftest import SettingsFactory
from tests.support import AUTH, REFRESH, VERSION, app_client, running_worker, wait_until
from wa_version_client.contract import VersionState, WAVersion, utc_now

pytestmark = pytest.mark.server_sensitive

PIN = "/admin/whatsapp/version/pin"
PINNED = WAVersion.parse("2.3000.1026131000")


@pytest.fixture(autouse=True)
def no_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(held_state, "MAX_AGE", 3600.0)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_worker(settings), app_client(settings) as client:
        yield client


async def shown(api: httpx.AsyncClient) -> dict[str, Any]:
    """The state GET answers (it must answer 200)."""
    response = await api.get(VERSION, headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def shows(api: httpx.AsyncClient, expected: dict[str, Any]) -> bool:
    return await shown(api) == expected


async def test_a_refresh_through_the_web_shows_in_the_next_get(api: httpx.AsyncClient) -> None:
    """The write's notification comes ahead of its job's answer: once the POST is answered,
    the next GET shows what it wrote, with no wait (and force=false sees it too)."""
    await api.post(REFRESH, headers=AUTH)
    await shown(api)  # held from here on
    for _ in range(3):  # each attempt changes the timestamps alone
        refreshed = (await api.post(REFRESH, headers=AUTH)).json()["data"]
        assert refreshed.pop("refreshed") is True
        assert await shown(api) == refreshed
        answer = (await api.post(f"{REFRESH}?force=false", headers=AUTH)).json()["data"]
        assert answer == {**refreshed, "refreshed": False}


async def test_attempts_made_elsewhere_show(
    api: httpx.AsyncClient, redis: Redis, keys: ServiceKeys, settings: Settings,
    upstream: StubUpstream,
) -> None:  # fmt: skip
    """Refreshes another process asks for, a success then a failure, change no version:
    only timestamps and the error. Each shows in the web's GET."""
    await api.post(REFRESH, headers=AUTH)
    before = await shown(api)
    async with refresh_client(redis, keys, settings) as elsewhere:
        success = await elsewhere.refresh(force=True)
        await wait_until(lambda: shows(api, success.state.to_json()), within=5)
        upstream.configure(without_revision=True)
        failure = await elsewhere.refresh(force=True)
    assert failure.error
    assert str(failure.state.version) == str(success.state.version)
    assert str(failure.state.version) == before["wa_web_version"]["string"]
    await wait_until(lambda: shows(api, failure.state.to_json()), within=5)


async def test_pins_and_unpins_show(
    api: httpx.AsyncClient, redis: Redis, keys: ServiceKeys
) -> None:
    """A pin made by another process shows; so does an unpin; and a pin made through this
    web shows in the very next GET."""
    await api.post(REFRESH, headers=AUTH)
    await shown(api)
    store = StateStore(redis, keys)
    pinned = await store.commit(lambda s: transitions.pinned(s, PINNED, utc_now()))
    await wait_until(lambda: shows(api, pinned.state.to_json()), within=5)
    unpinned = await store.commit(lambda s: transitions.unpinned(s, utc_now()))
    await wait_until(lambda: shows(api, unpinned.state.to_json()), within=5)
    response = await api.put(VERSION, json={"version": "2.3000.1026131001"}, headers=AUTH)
    assert await shown(api) == response.json()["data"]
    response = await api.delete(PIN, headers=AUTH)
    assert await shown(api) == response.json()["data"]


async def test_a_garbled_notification_is_logged_and_drops_the_copy(
    api: httpx.AsyncClient, redis: Redis, keys: ServiceKeys, caplog: pytest.LogCaptureFixture
) -> None:
    """A write by hand is not announced: the copy is answered from until a message on the
    channel says otherwise; one that is no rev is logged, and taken as word of a write."""
    await api.post(REFRESH, headers=AUTH)
    held = await shown(api)
    await redis.hset(keys.version, "last_error", "written by hand")
    assert await shown(api) == held  # the copy, not a read
    await redis.publish(keys.state_changed, "not a rev")
    await wait_until(lambda: shows(api, {**held, "last_error": "written by hand"}), within=5)
    assert "a " + keys.state_changed + " message is not a rev: 'not a rev'" in caplog.text
    # Still listening after it.
    response = await api.put(VERSION, json={"version": "2.3000.1026131000"}, headers=AUTH)
    await redis.hset(keys.version, "last_error", "again by hand")
    await redis.publish(keys.state_changed, "12")
    await wait_until(
        lambda: shows(api, {**response.json()["data"], "last_error": "again by hand"}), within=5
    )


async def test_no_copy_is_answered_while_redis_is_away(
    own_redis: RedisServer, make_settings: SettingsFactory
) -> None:
    """Redis stopped: GET answers 503, not the copy; Redis back without the hash (it keeps
    nothing on disk): GET answers what it holds now, never the copy from before."""
    settings = make_settings(redis_url=own_redis.url)
    async with running_worker(settings), app_client(settings) as api:
        await api.post(REFRESH, headers=AUTH)
        assert (await shown(api))["wa_web_version"] is not None
        own_redis.stop()
        await wait_until(lambda: _status(api, 503), within=10)
        own_redis.start()
        answers: list[httpx.Response] = []

        async def answered() -> bool:
            answers.append(await api.get(VERSION, headers=AUTH))
            return answers[-1].status_code == 200

        await wait_until(answered, within=10)
    assert answers[-1].json()["data"] == VersionState().to_json()
    assert {a.status_code for a in answers[:-1]} <= {503}


async def _status(api: httpx.AsyncClient, status: int) -> bool:
    return (await api.get(VERSION, headers=AUTH)).status_code == status
