"""Upstream faults against the real processes: the right retries, a clear 500 or the next
source, the version kept.

The tests that change only the upstream's behaviour share one web and one worker (the
`system` fixture): what each sees is made fresh by resetting the stub and deleting the
stored state and counters, not by starting processes again. Tests that need settings of
their own start their own.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer, free_port
from devtools.processes import stop_all
from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher, service_env, web_process
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH, VERSION, publish_version

pytestmark = pytest.mark.slow

STORED = 1026131876
# A fetch timeout long enough that a loaded machine (or parallel tests) never turns an
# answer into a timeout; only the timeout case waits it out.
FAST = {
    "FETCH_ATTEMPTS": "3",
    "FETCH_TIMEOUT": "1s",
    "REFRESH_DEADLINE": "6s",
    "REFRESH_WAIT": "10s",
    "FETCH_MAX_BYTES": "65536",
}

# (stub behaviour, the error after "<url>: ", upstream fetches the refresh makes)
FAULTS: dict[str, tuple[dict[str, Any], str, int]] = {
    "5xx is retried": ({"status": 503}, "upstream answered HTTP 503", 3),
    "404 is not retried": ({"status": 404}, "upstream answered HTTP 404", 1),
    "timeout is retried": ({"delay": 3.0}, "timed out after 1s", 3),
    "no client_revision": (
        {"without_revision": True},
        "client_revision not found in the response",
        1,
    ),
    "revision beyond uint32": (
        {"revision": 2**32},
        "client_revision 4294967296 does not fit a uint32",
        1,
    ),
    "redirect loop is not retried": (
        {"redirect_loop": True},
        "TooManyRedirects: Exceeded maximum allowed redirects.",
        1 + 5,
    ),
    "body not the gzip it claims": (
        {"bogus_gzip": True},
        "the body is not the gzip it claims: Error -3 while decompressing data: "
        "incorrect header check",
        1,
    ),
    "mobile page": ({"mobile": True}, "client_revision not found in the response", 2),
    "redirect to another host is not followed": (
        {"redirect_host": "localhost"},
        "redirect refused: to localhost, another host than 127.0.0.1 "
        "(FETCH_REDIRECT_HOSTS lists the hosts a redirect may go to)",
        1,
    ),
    "huge body without client_revision": (
        {"without_revision": True, "pad_to": 65537},
        "client_revision not found in the first 65536 bytes of the response",
        1,
    ),
}


NEWER = 1045818043
# (the first source's behaviour and path, extra settings, the source that answers:
#  "first" or "next", requests the first source gets)
SURVIVED: dict[str, tuple[dict[str, Any], str, dict[str, str], str, int]] = {
    "gzip": ({"gzip": True}, "/", {}, "first", 1),
    "chunked": ({"chunked": True}, "/", {}, "first", 1),
    "302 to the file": ({"redirect": True}, "/sw.js", {}, "first", 2),
    "1.05 MB home page, FETCH_MAX_BYTES 256 KiB": (
        {"page_size": 1_050_827, "first_at": 82_000},
        "/",
        {"FETCH_MAX_BYTES": "262144"},
        "first",
        1,
    ),
    "redirect loop": ({"redirect_loop": True}, "/sw.js", {}, "next", 1 + 5),
    "302 to another host": ({"redirect_host": "localhost"}, "/sw.js", {}, "next", 1),
    "302 to a host FETCH_REDIRECT_HOSTS lists": (
        {"redirect_host": "localhost"},
        "/sw.js",
        {"FETCH_REDIRECT_HOSTS": "localhost"},
        "first",
        2,
    ),
    "body not the gzip it claims": ({"bogus_gzip": True}, "/sw.js", {}, "next", 1),
    "mobile page": ({"mobile": True}, "/", {}, "next", 2),
}


@dataclass
class System:
    """A web and a worker with FAST settings, the stub they fetch from, their keys."""

    web: Process
    upstream: StubUpstream
    keys: ServiceKeys


@pytest.fixture(scope="module")
def shared_system(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    upstream = StubUpstream().start()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    env = {**service_env(redis_server, prefix, upstream), **FAST}
    started: list[Process] = []

    def launch(name: str, **more: str) -> Process:
        started.append(Process(name, {**env, **more}, tmp_path_factory.mktemp(name)))
        return started[-1]

    try:
        launch("worker")
        yield System(web_process(launch), upstream, ServiceKeys(prefix))
    finally:
        stop_all(started)
        upstream.stop()


@pytest.fixture
async def system(shared_system: System, redis: Redis) -> System:
    """The shared system as new: a healthy stub that counted nothing, no stored state, no
    counters. The job stream, its group and the worker's lease stay: they hold nothing a
    test looks at once its jobs are answered."""
    shared_system.upstream.reset()
    kept = {shared_system.keys.refresh_jobs, shared_system.keys.worker_lease}
    kept.add(shared_system.keys.worker_heartbeats)
    async for key in redis.scan_iter(match=f"{shared_system.keys.prefix}:*"):
        if key not in kept:
            await redis.delete(key)
    return shared_system


@pytest.fixture
def fallback() -> Iterator[StubUpstream]:
    """A second, healthy upstream: the next source."""
    stub = StubUpstream().start()
    yield stub
    stub.stop()


async def refresh_and_check_kept(web: Process, expected_error: str) -> None:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.post(REFRESH, headers=AUTH)
        state = (await client.get(VERSION, headers=AUTH)).json()["data"]
    assert response.status_code == 500
    assert response.json() == {
        "status": False,
        "code": 500,
        "message": "Failed to refresh WhatsApp Web version",
        "error": expected_error,
    }
    assert state["wa_web_version"]["string"] == f"2.3000.{STORED}"
    assert state["seq"] == 1
    assert state["last_error"] == expected_error


async def store_a_version(web: Process) -> None:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_gives_a_clear_500_and_keeps_the_version(fault: str, system: System) -> None:
    """Each fault of FAULTS: a 500 naming the source and the cause, the stored version and
    its seq unchanged, after exactly the upstream requests the retry policy allows."""
    behaviour, error, fetches = FAULTS[fault]
    web, upstream = system.web, system.upstream
    await store_a_version(web)
    upstream.configure(**behaviour)
    await refresh_and_check_kept(web, f"{upstream.url('/sw.js')}: {error}")
    assert upstream.fetches == 1 + fetches


async def test_429_waits_for_retry_after(system: System) -> None:
    """A 429 with Retry-After: 1 is retried, never sooner than a second after the last try."""
    web, upstream = system.web, system.upstream
    await store_a_version(web)
    upstream.configure(status=429, retry_after="1")
    await refresh_and_check_kept(web, f"{upstream.url('/sw.js')}: upstream answered HTTP 429")
    tries = upstream.fetch_times[1:]
    assert len(tries) == 3
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(tries))


async def test_connection_refused_is_reported_and_keeps_the_version(
    launch: Launcher, start_web: Callable[..., Process], redis: Redis, keys: ServiceKeys
) -> None:
    """Nothing listens at the source: a 500 naming the connection error; the version stays."""
    await publish_version(redis, keys, STORED)
    closed = f"http://127.0.0.1:{free_port()}/sw.js"
    launch("worker", **FAST, WA_VERSION_URL=closed)
    web = start_web(**FAST)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.post(REFRESH, headers=AUTH)
    assert response.status_code == 500
    assert response.json()["error"].startswith(f"{closed}: ConnectError")
    assert await redis.hget(keys.version, "string") == f"2.3000.{STORED}"


async def test_an_older_build_during_a_rollout_is_a_200_that_keeps_the_version(
    system: System,
) -> None:
    """Upstream serving an older build (a rollout, builds back to back) is normal weather:
    200, the stored version kept, upstream's answer and its time recorded, no last_error,
    and the /metrics counter of older builds goes up."""
    web, upstream = system.web, system.upstream
    await store_a_version(web)
    upstream.configure(revision=STORED - 1)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.post(REFRESH, headers=AUTH)
        metrics = (await client.get("/metrics", headers=AUTH)).text
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["refreshed"] is True
    assert data["wa_web_version"]["string"] == f"2.3000.{STORED}"
    assert data["upstream_version"]["string"] == f"2.3000.{STORED - 1}"
    assert data["upstream_seen_at"] == data["last_refreshed"]
    assert data["last_error"] == ""
    assert "wa_upstream_older_total 1.0" in metrics


@pytest.mark.parametrize("case", list(SURVIVED))
async def test_upstream_oddities_still_give_the_version(
    case: str,
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    fallback: StubUpstream,
) -> None:
    """Encodings, a moved file (on the source's host, or on a host FETCH_REDIRECT_HOSTS
    lists) and a page past FETCH_MAX_BYTES are read from the first source; a redirect loop
    or to another host, a bad gzip or the mobile page hand over to the next one. The
    refresh answers 200 with the version and the source that gave it."""
    behaviour, path, settings, answering, requests = SURVIVED[case]
    upstream.configure(revision=NEWER, **behaviour)
    fallback.configure(revision=NEWER + 1)
    first, following = upstream.url(path), fallback.url("/")
    launch("worker", **{**FAST, **settings}, WA_VERSION_URL=f"{first},{following}")
    web = start_web(**FAST)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.post(REFRESH, headers=AUTH)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    revision, source = (NEWER, first) if answering == "first" else (NEWER + 1, following)
    assert (data["wa_web_version"]["string"], data["source"]) == (f"2.3000.{revision}", source)
    assert upstream.fetches == requests
    assert fallback.fetches == (1 if answering == "next" else 0)


async def test_the_gate_refuses_a_plain_client_and_lets_the_worker_through(
    system: System,
) -> None:
    """The stub's gate is on: httpx's own headers get the 400 and the 6 KB sorry page, the
    worker's BROWSER_HEADERS get the version."""
    web, upstream = system.web, system.upstream
    async with httpx.AsyncClient(timeout=10) as plain:
        refused_sw = await plain.get(upstream.url("/sw.js"))
        refused_home = await plain.get(upstream.url("/"))
    assert (refused_sw.status_code, refused_home.status_code) == (400, 400)
    assert b"Sorry, something went wrong" in refused_home.content
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.post(REFRESH, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["wa_web_version"]["string"] == f"2.3000.{STORED}"
