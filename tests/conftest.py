"""Fixtures: a real server for the session, a fresh key prefix per test, the stub upstream.

The server is the one `REDIS_SERVER` names (valkey-8.1 unless set; see devtools/embedded.py),
never whatever `redis-server` is on PATH. `./dev test` runs every test on Valkey 8.1, then
on Redis 6.2 only the tests marked `server_sensitive` (`-m server_sensitive`).

Which tests are server_sensitive: those whose outcome can depend on the server's version
or build, because what they test involves streams and consumer groups, blocking reads, Lua
scripts, RESP3 or pub/sub, expiry or other keyspace behaviour, replication (WAIT, replicas),
Sentinel, Cluster, TLS or ACLs, a server restarting or failing, or the Node and Go clients
against Redis. When in doubt, mark it. A test about something else (HTTP parsing, the
envelope, authentication's answers, the upstream) that reaches Redis only through the
commands the marked tests cover runs on Valkey 8.1 alone. A module about those things is
marked whole (`pytestmark`): its few tests that use no server just run twice.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from redis.asyncio import Redis

from devtools.cluster import ClusterDeployment
from devtools.embedded import RedisServer, describe_server
from devtools.sentinels import SentinelDeployment
from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from shared.settings import Settings
from wa_version_client.deployment import connect_server
from wa_version_client.runtime import set_testing

SECRET = "test-secret-\u00e9-not-for-production"


def pytest_configure(config: pytest.Config) -> None:
    # Retry delays cut short in this process (the service's loops and the client's):
    # tests wait for recoveries, not for a production backoff schedule. The processes
    # the tests start keep theirs. `real_backoff` restores it for a test.
    set_testing(True)


def pytest_report_header(config: pytest.Config) -> str:
    return f"redis server: {describe_server()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Where the run left files to look at (`record_property("artifact", path)` in a
    test): the admin page's screenshot. Read from the reports, so it works under xdist."""
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "artifact":
                terminalreporter.write_line(f"saved: {value}")


@pytest.fixture
def real_backoff() -> Iterator[None]:
    """Backoff's own schedule during this test, for the tests of the schedule itself."""
    set_testing(False)
    yield
    set_testing(True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real server, the one REDIS_SERVER names, on a free port for the whole run."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, to stop and start."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def sentinel_deployment() -> Iterator[SentinelDeployment]:
    """A primary, two replicas and three sentinels of the test's own (devtools/sentinels.py)."""
    with SentinelDeployment() as deployment:
        yield deployment


@pytest.fixture
def cluster_deployment() -> Iterator[ClusterDeployment]:
    """Three primaries with a replica each, of the test's own (devtools/cluster.py)."""
    with ClusterDeployment() as deployment:
        yield deployment


@pytest.fixture
def prefix() -> str:
    """A key prefix of the test's own, so tests never see each other's keys."""
    return f"test-{uuid.uuid4().hex[:12]}"


def hash_tagged_prefix() -> str:
    """A prefix of the test's own, hash-tagged: on a cluster every key must share one
    slot. A module on a cluster takes it as its prefix:
    `prefix = pytest.fixture(hash_tagged_prefix, name="prefix")`."""
    return f"{{test-{uuid.uuid4().hex[:12]}}}"


@pytest.fixture
def keys(prefix: str) -> ServiceKeys:
    return ServiceKeys(prefix)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = connect_server(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def upstream() -> Iterator[StubUpstream]:
    stub = StubUpstream().start()
    yield stub
    stub.stop()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(
    redis_server: RedisServer, prefix: str, upstream: StubUpstream
) -> SettingsFactory:
    """Settings pointing at the test Redis and the stub, with quick retries."""

    def make(**changes: Any) -> Settings:
        base = Settings(
            redis_url=redis_server.url,
            admin_secret=SECRET,
            redis_prefix=prefix,
            version_urls=(upstream.url("/sw.js"),),
            fetch_backoff=0.01,
            # No refresh of the workers' own unless a test asks: tests count fetches.
            auto_refresh_interval=0.0,
            fetch_timeout=2.0,
            refresh_deadline=5.0,
            refresh_wait=8.0,
            job_claim_idle=10.0,
            worker_lease_ttl=1.0,
        )
        return replace(base, **changes)

    return make


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()
