"""Running the worker process until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket

import httpx

from shared.keys import ServiceKeys
from shared.logs import hide
from shared.persistence import PersistenceWatch
from shared.settings import Settings
from shared.store import StateStore
from wa_version_client.runtime import cancel_and_wait
from worker.consumer import JobConsumer
from worker.fetch import VersionFetcher
from worker.refresher import Refresher
from worker.schedule import AutoRefresh

log = logging.getLogger(__name__)


def worker_name() -> str:
    """Unique per process, readable in XINFO: host, pid and a random tail."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def upstream_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client the worker fetches the upstream with. It follows no redirect itself:
    each source checks and follows them (worker/redirects.py)."""
    timeout = httpx.Timeout(settings.fetch_timeout)
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False)


async def run_worker(settings: Settings, stop: asyncio.Event, *, burst: bool = False) -> None:
    """Answer refresh jobs until `stop` is set; the job in hand is finished first.

    With `burst`, return as soon as no job is left in the stream, pending or new, and
    enqueue no scheduled refresh (arq's burst mode: for tests and one-off runs).
    """
    hide(*settings.secrets())  # a credential in WA_VERSION_URL, say, never reaches a log
    redis = settings.deployment.connect()
    keys = ServiceKeys(settings.redis_prefix)
    async with upstream_client(settings) as http:
        refresher = Refresher(
            StateStore.for_settings(redis, keys, settings),
            VersionFetcher(settings, http),
            settings.refresh_min_interval,
        )
        consumer = JobConsumer(redis, keys, settings, refresher, name=worker_name(), burst=burst)
        schedule = AutoRefresh(redis, keys, settings)
        following = settings.deployment.follow_primary(redis)
        persistence = PersistenceWatch(settings.deployment, redis, keys)
        helpers = [
            asyncio.create_task(following, name="follow-primary"),
            asyncio.create_task(persistence.run(), name="persistence-watch"),
        ]
        if not burst:
            helpers.append(asyncio.create_task(schedule.run(), name="refresh-schedule"))
        log.info("worker %s started", consumer.name)
        try:
            await consumer.run(stop)
        finally:
            await cancel_and_wait(*helpers)
            await persistence.aclose()
            await redis.aclose()
    log.info("worker %s stopped", consumer.name)


async def serve(settings: Settings) -> None:
    """`run_worker`, stopped by SIGTERM (Heroku, honcho) or SIGINT (Ctrl-C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run_worker(settings, stop)
