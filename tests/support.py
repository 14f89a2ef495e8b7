"""Running the API and the worker inside a test's event loop, on a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import AsyncIterator

import httpx
import uvicorn
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.protocol import GuardedHttpProtocol

# Re-exported: the tests wait and publish the way the benchmarks do.
from devtools.publishing import UPSTREAM_SW as UPSTREAM_SW
from devtools.publishing import publish_version as publish_version
from devtools.waiting import wait_until as wait_until
from shared.settings import Settings
from tests.conftest import SECRET
from wa_version_client import VersionSubscriber
from worker.main import run_worker


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[asyncio.Event]:
    """A worker answering jobs until the block ends; yields its stop event."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))
    try:
        yield stop
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def app_client(
    settings: Settings, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this event loop with no server between: a client whose requests httpx
    hands straight to it (ASGITransport), its lifespan run around them as uvicorn runs it.

    For tests of what the app answers. What HTTP framing, the header limits, slow
    clients or the guarded protocol (api/protocol.py) decide needs `running_api`.
    """
    app = create_app(settings)
    # ASGITransport sends no lifespan events: run it here, and hand each request a copy of
    # the state it yields, as uvicorn does.
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "state": dict(state or {})}, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, timeout=30
        ) as client:
            yield client


@contextlib.asynccontextmanager
async def serving(config: uvicorn.Config) -> AsyncIterator[int]:
    """uvicorn serving `config` on a loopback port; yields the port once it accepts.

    The socket is bound here, on a port the kernel picks, and handed to uvicorn: a port
    chosen free beforehand can be taken by another test's process before uvicorn binds
    it, and uvicorn then exits the test process's event loop with SystemExit.
    """
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the server
            await asyncio.sleep(0.01)  # polling a condition; the loop ends with the task
        yield listening.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        listening.close()


@contextlib.asynccontextmanager
async def running_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app served by uvicorn on a loopback port (`serving`); yields a client for it."""
    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        lifespan="on",
        proxy_headers=False,  # as the Procfile runs it: the app alone reads X-Forwarded-For
        http=GuardedHttpProtocol,
    )
    async with (
        serving(config) as port,  # entered first: `port` is bound for the client below
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        yield client


def wait_for_port(port: int, process: subprocess.Popen[bytes], within: float = 10.0) -> None:
    """Return once 127.0.0.1:`port` accepts connections; fail if `process` exits first."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process meant to listen on {port} exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)  # polling for the port to open, bounded by the deadline
    raise AssertionError(f"nothing listened on port {port} within {within}s")


REFRESH = "/admin/whatsapp/version/refresh"
VERSION = "/admin/whatsapp/version"
AUTH = {b"X-Admin-Secret": SECRET.encode()}  # bytes: the secret is not ASCII


def assert_failure(response: httpx.Response, code: int, message: str, error: str) -> None:
    """The response is exactly the failure envelope with these values."""
    assert response.status_code == code
    assert response.json() == {"status": False, "code": code, "message": message, "error": error}


def subscriber_for(settings: Settings) -> VersionSubscriber:
    """A VersionSubscriber set up as the service's settings say."""
    return VersionSubscriber(
        settings.redis_url,
        prefix=settings.redis_prefix,
        report_interval=settings.refresh_min_interval,
        refresh_wait=settings.refresh_wait,
        job_stream_maxlen=settings.job_stream_maxlen,
    )


async def blocked_in_xreadgroup(redis: Redis) -> bool:
    """Whether a client (a worker) waits in a blocking XREADGROUP right now."""
    return any(
        c.get("cmd") == "xreadgroup" and "b" in c.get("flags", "")
        for c in await redis.client_list()
    )


async def next_message(pubsub: PubSub, within: float = 5.0) -> str:
    """The data of the next published message, skipping confirmations; fail after `within`."""
    deadline = asyncio.get_running_loop().time() + within
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await pubsub.get_message(timeout=left)
        if message is not None and message["type"] == "message":
            return str(message["data"])
    raise AssertionError(f"no message within {within}s")


async def subscribed(redis: Redis, channel: str) -> bool:
    """Whether a client (the watcher) listens on `channel`: the watcher prints the stored
    version before its subscription is in place, and a message published before that is
    heard by nobody."""
    counts = await redis.pubsub_numsub(channel)
    return bool(counts) and int(counts[0][1]) > 0
