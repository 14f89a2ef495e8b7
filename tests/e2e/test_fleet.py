"""The fleet through real processes: a watcher names its connection, the web lists it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process, strings
from tests.support import AUTH, publish_version, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

FLEET = "/admin/whatsapp/fleet"


async def versions_of(api: httpx.AsyncClient, manager_id: str) -> list[tuple[Any, Any]]:
    response = await api.get(FLEET, headers=AUTH)
    assert response.status_code == 200, response.text
    managers = response.json()["data"]["managers"]
    return [(m["client"], m["version"]) for m in managers if m["id"] == manager_id]


async def test_a_watcher_is_in_the_fleet_with_its_version_until_it_exits(
    launch: Launcher, start_web: Callable[..., Process], redis: Redis, keys: ServiceKeys
) -> None:
    await publish_version(redis, keys, 700)
    web = start_web()
    watcher = launch("watcher", WA_MANAGER_ID="gateway-7")
    await wait_until(lambda: strings(watcher) == ["2.3000.700"], within=30)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as api:
        await wait_until(
            lambda: _equals(versions_of(api, "gateway-7"), [("watcher", "2.3000.700")]), within=30
        )
        body = (await api.get(FLEET, headers=AUTH)).json()
        assert body["status"] is True
        assert body["data"]["by_version"]["2.3000.700"] >= 1
        assert body["data"]["read_at"].endswith("Z")
        await publish_version(redis, keys, 701)
        await wait_until(
            lambda: _equals(versions_of(api, "gateway-7"), [("watcher", "2.3000.701")]), within=30
        )
        metrics = (await api.get("/metrics", headers=AUTH)).text
        assert 'wa_version_fleet_managers{version="2.3000.701"}' in metrics
        assert "wa_version_fleet_behind " in metrics
        watcher.stop()
        await wait_until(lambda: _equals(versions_of(api, "gateway-7"), []), within=30)


async def test_the_fleet_needs_the_secret(start_web: Callable[..., Process]) -> None:
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as api:
        assert (await api.get(FLEET)).status_code == 401


async def _equals(found: Any, expected: list[tuple[Any, Any]]) -> bool:
    return bool(await found == expected)


def test_a_manager_id_that_cannot_name_a_connection_stops_the_watcher(launch: Launcher) -> None:
    """A space (CLIENT SETNAME refuses it) in WA_MANAGER_ID: one clear line, exit 2."""
    watcher = launch("watcher", WA_MANAGER_ID="gateway 7")
    assert watcher.wait() == 2
    assert "manager id" in watcher.output
    assert "Traceback" not in watcher.output
