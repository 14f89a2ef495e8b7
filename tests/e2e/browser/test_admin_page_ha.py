"""The admin page in headless Chromium with the web, the worker and a watcher on Sentinel
and on a Cluster: the version and its live update, the rest of the state live (a failed
refresh, a pin of the version held), a watcher reading a replica coming and
going in the fleet, a pin and an unpin. The same steps as on one server (steps.py).

Every wait is one of Playwright's, with a deadline (conftest.DEADLINE_MS), never a sleep."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import pytest
from playwright.async_api import Page, expect

from devtools.cluster import ClusterDeployment
from devtools.sentinels import SentinelDeployment
from tests.conftest import hash_tagged_prefix
from tests.e2e.browser.conftest import Service, stub_version
from tests.e2e.browser.steps import (
    failure_elsewhere_shows_as_typed_on,
    pin_of_the_version_held_shows,
    pin_then_unpin,
    version_follows_a_refresh_elsewhere,
    watcher_listed,
)
from tests.e2e.conftest import Launcher

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

prefix = pytest.fixture(hash_tagged_prefix, name="prefix")


class Deployment(NamedTuple):
    url: str
    replicas: frozenset[str]  # host:port of each replica, as the fleet names servers


@pytest.fixture(params=["sentinel", "cluster"])
def deployment(request: pytest.FixtureRequest) -> Deployment:
    """A Sentinel deployment or a Cluster of the test's own (tests/conftest.py)."""
    if request.param == "sentinel":
        sentinel: SentinelDeployment = request.getfixturevalue("sentinel_deployment")
        return Deployment(sentinel.url(), _addresses(sentinel.replica_ports()))
    cluster: ClusterDeployment = request.getfixturevalue("cluster_deployment")
    return Deployment(cluster.url(), _addresses(p for ps in cluster.paired.values() for p in ps))


@pytest.fixture
def base_env(base_env: dict[str, str], deployment: Deployment) -> dict[str, str]:
    """The processes' environment (tests/e2e/conftest.py) on the deployment instead of
    the session's server: the browser fixtures' web and worker run there."""
    return {**base_env, "REDIS_URL": deployment.url}


async def test_the_version_shows_and_follows_a_refresh_elsewhere(
    page_errors: list[str], dashboard: Page, service: Service
) -> None:
    await expect(dashboard.locator("#current-version")).to_have_text(stub_version(service.upstream))
    await version_follows_a_refresh_elsewhere(dashboard, service)
    assert page_errors == []


async def test_a_failed_refresh_and_a_pin_of_the_version_held_show_without_a_reload(
    dashboard: Page, service: Service
) -> None:
    await failure_elsewhere_shows_as_typed_on(dashboard, service)
    await pin_of_the_version_held_shows(dashboard, service)


async def test_a_watcher_reading_a_replica_comes_and_goes_in_the_fleet(
    dashboard: Page, service: Service, launch: Launcher, deployment: Deployment
) -> None:
    """Listed with the version it was told and the replica it reads (the fleet's server
    column), while it runs."""
    reading = {"REDIS_READ_FROM": "replica"}
    async with watcher_listed(dashboard, service, launch, "ha-watcher", **reading) as row:
        server = (await row.locator("td").nth(3).inner_text()).strip()
        assert server in deployment.replicas


async def test_pin_a_typed_version_then_unpin(dashboard: Page, service: Service) -> None:
    await pin_then_unpin(dashboard, service)


def _addresses(ports: Iterable[int]) -> frozenset[str]:
    return frozenset(f"127.0.0.1:{port}" for port in ports)
