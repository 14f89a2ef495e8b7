"""The clients for other languages (clients/node, clients/go) run their own tests against
the real service: a Redis server of the test's own (the one REDIS_SERVER names), the stub
of WhatsApp Web, and the web and worker processes of the Procfile, passed to them in
WA_TEST_* variables.

The server is started again on its port whenever it exits, so a test can lose Redis's
data with SHUTDOWN NOSAVE, as a restart without persistence does.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.embedded import RedisServer
from devtools.sentinels import SERVICE, SentinelDeployment
from devtools.stub_upstream import StubUpstream
from tests.clients.corpus import verdicts
from tests.conftest import SECRET
from tests.e2e.conftest import Launcher, base_env, launch, start_web
from tests.e2e.processes import Process
from tests.tls import TlsRedis, tls_redis

__all__ = [
    "base_env",
    "client_env",
    "launch",
    "restartable_redis",
    "sentinel_client_env",
    "start_web",
    "tls_client_env",
    "tls_redis",
]


@pytest.fixture
def restartable_redis() -> Iterator[RedisServer]:
    """A server of the test's own, started again on its port each time it exits."""
    server = RedisServer()
    server.start()
    lock = threading.Lock()
    stopping = threading.Event()

    def supervise() -> None:
        while True:
            server.wait()
            with lock:
                if stopping.is_set():
                    return
                server.stop()  # reaps it and removes its directory: the data is gone
                server.start()

    supervisor = threading.Thread(target=supervise, daemon=True)
    supervisor.start()
    yield server
    with lock:
        stopping.set()
        server.stop()
    supervisor.join(timeout=10)


@pytest.fixture
def client_env(
    restartable_redis: RedisServer,
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    prefix: str,
    tmp_path: Path,
) -> dict[str, str]:
    """This environment plus WA_TEST_*: the running service, for a client's tests."""
    return service_for_clients(restartable_redis.url, launch, start_web, upstream, prefix, tmp_path)


@pytest.fixture
def sentinel_client_env(
    sentinel_deployment: SentinelDeployment,
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    prefix: str,
    tmp_path: Path,
) -> dict[str, str]:
    """As client_env, the service on a Sentinel deployment; WA_TEST_SENTINELS names them."""
    deployment = sentinel_deployment
    env = service_for_clients(deployment.url(), launch, start_web, upstream, prefix, tmp_path)
    primary = f"redis://127.0.0.1:{deployment.primary_port()}/0"
    sentinels = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in deployment.sentinels)
    return {
        **env,
        "WA_TEST_REDIS_URL": primary,  # for the tests' own reads; it moves on a failover
        "WA_TEST_SENTINELS": sentinels,
        "WA_TEST_SENTINEL_NAME": SERVICE,
    }


@pytest.fixture
def tls_client_env(
    tls_redis: TlsRedis,
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    prefix: str,
    tmp_path: Path,
) -> dict[str, str]:
    """As client_env, the service on Redis over TLS with a self-signed certificate and a
    password, as on Heroku; WA_TEST_TLS_URL and WA_TEST_TLS_CERT for the client."""
    env = service_for_clients(
        tls_redis.plain_url, launch, start_web, upstream, prefix, tmp_path,
        service={"REDIS_URL": tls_redis.url(), "REDIS_SSL_CERT_REQS": "none"},
    )  # fmt: skip
    tls = {"WA_TEST_TLS_URL": tls_redis.url(), "WA_TEST_TLS_CERT": str(tls_redis.certificate)}
    return {**env, **tls}


def service_for_clients(
    redis_url: str,
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    prefix: str,
    tmp_path: Path,
    service: dict[str, str] | None = None,
) -> dict[str, str]:
    """Start a worker and a web on `redis_url` (or the `service` environment); this
    environment plus WA_TEST_*, WA_TEST_REDIS_URL being `redis_url`."""
    service = service or {"REDIS_URL": redis_url}
    launch("worker", **service)
    web = start_web(**service)
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps(verdicts()))
    env = {
        **os.environ,
        "WA_TEST_REDIS_URL": redis_url,
        "WA_TEST_PREFIX": prefix,
        "WA_TEST_API_URL": web.base_url,
        "WA_TEST_ADMIN_SECRET": SECRET,
        "WA_TEST_STUB_URL": upstream.url(""),
        "WA_TEST_CORPUS": str(corpus),
    }
    for name in ("REDIS_URL", "REDIS_TLS_URL", "REDIS_PREFIX"):
        env.pop(name, None)  # a client's own environment is each test's to set
    return env
