"""Fixtures that run the real web and worker processes against the session's redis-server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.embedded import RedisServer
from devtools.processes import stop_all
from devtools.stub_upstream import StubUpstream
from tests.conftest import SECRET
from tests.e2e.processes import Process, listening_port, wait_for_http

Launcher = Callable[..., Process]


def service_env(redis_server: RedisServer, prefix: str, upstream: StubUpstream) -> dict[str, str]:
    """The environment of the Procfile's processes in a test: quick, and no auto refresh."""
    return {
        "REDIS_URL": redis_server.url,
        "REDIS_PREFIX": prefix,
        "ADMIN_SECRET": SECRET,
        "WA_VERSION_URL": upstream.url("/sw.js"),
        "FETCH_BACKOFF": "10ms",
        "AUTO_REFRESH_INTERVAL": "0",
        "WORKER_LEASE_TTL": "1s",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def base_env(redis_server: RedisServer, prefix: str, upstream: StubUpstream) -> dict[str, str]:
    return service_env(redis_server, prefix, upstream)


@pytest.fixture
def launch(base_env: dict[str, str], tmp_path: Path) -> Iterator[Launcher]:
    """Start Procfile processes by name; every one is stopped after the test."""
    started: list[Process] = []

    def start(name: str, **env: str) -> Process:
        process = Process(name, {**base_env, **env}, tmp_path)
        started.append(process)
        return process

    yield start
    stop_all(started)


@pytest.fixture
def start_web(launch: Launcher) -> Callable[..., Process]:
    """Start a web process on a free port; returned once it answers HTTP."""
    return lambda **env: web_process(launch, **env)


def web_process(launch: Launcher, **env: str) -> Process:
    """A web process started by `launch`, once it answers HTTP.

    It binds port 0 and the port is read from uvicorn's own startup line: a port found
    free and then bound later could be taken meanwhile by another test's web (the tests
    run four at a time), whose answers would then pass for this one's.
    """
    process = launch("web", PORT="0", **env)
    process.base_url = f"http://127.0.0.1:{listening_port(process)}"
    wait_for_http(f"{process.base_url}/", process)
    return process
