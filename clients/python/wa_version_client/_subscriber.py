"""VersionSubscriber: what a connection manager embeds to always use the current version.

    async with VersionSubscriber("redis://…") as versions:
        versions.on_change(lambda old, new: log.info("now %s", new.string))
        ...
        client.version = versions.current.array      # no I/O
        ...
        except ClientOutdated:
            await versions.report_outdated(used)        # one fetch for the whole cluster

Pub/sub alone loses what is published while a subscriber is disconnected, so the hash is
read on start, after every (re)subscription and every `resync_interval` seconds; a
message or a read is applied only when its `(epoch, seq)` is newer than what is held, so
duplicates and stragglers change nothing.

Where it reads and subscribes is the deployment's to say (wa_version_client._deployment).
An idle subscriber holds one Redis connection: it subscribes and reads on the same one
(wa_version_client._subscribed), and sends its reports on it too. On a cluster it holds
redis-py's pub/sub connection and a pooled one for reads; a subscriber reading from a
replica opens one to the primary at its first report.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from wa_version_client import _defaults as defaults
from wa_version_client._connection import REDIS_DOWN, describe
from wa_version_client._deployment import RedisClient, Subscription
from wa_version_client._from_url import DEFAULT_REDIS_URL, deployment_for, reading_deployment
from wa_version_client._held import HeldVersion, OnChange
from wa_version_client._naming import ConnectionNaming
from wa_version_client._reports import OutdatedReports
from wa_version_client._subscribed import NotConnected
from wa_version_client._subscriber_env import options_from_env
from wa_version_client._tasks import cancel_and_wait
from wa_version_client.contract._clock import utc_now
from wa_version_client.contract._errors import MessageError
from wa_version_client.contract._keys import Keys
from wa_version_client.contract._latest import DEFAULT_MAX_AGE, Verdict, judge_latest
from wa_version_client.contract._published import PublishedVersion
from wa_version_client.contract._repair import plausible_epoch, readable_state
from wa_version_client.contract._state import VersionState
from wa_version_client.contract._version import WAVersion

log = logging.getLogger(__name__)

START_WAIT = 10.0  # seconds start() waits at most for the first read

# Every subscriber in a process gets the same message: it is decoded (and checked) once.
# PublishedVersion is immutable, so they share it; a malformed message raises each time.
_decode = functools.lru_cache(maxsize=16)(PublishedVersion.decode)


class VersionSubscriber:
    """Holds the current WhatsApp Web version and follows every change."""

    def __init__(
        self,
        redis_url: str = DEFAULT_REDIS_URL,
        *,
        prefix: str = defaults.PREFIX,
        resync_interval: float = 30.0,
        report_interval: float = defaults.REFRESH_MIN_INTERVAL,
        refresh_wait: float = defaults.REFRESH_WAIT,
        job_stream_maxlen: int = defaults.JOB_STREAM_MAXLEN,
        ping_interval: float = 5.0,
        max_age: float = DEFAULT_MAX_AGE,
        read_from_replica: bool = False,
        replica_url: str | None = None,
        redis: RedisClient | None = None,
        manager_id: str | None = None,
        client: str | None = "python",
    ) -> None:
        """`read_from_replica` (with a Sentinel or Cluster URL) or `replica_url` (a
        replica's own URL): read the hash and hear changes on a replica, so a fleet adds
        replicas rather than connections to the primary. Reports (rare) write to the
        primary: on the subscribed connection when it is the primary's, else through
        `redis` if given, or a client of `redis_url` that connects at the first report.
        `max_age`: how old (seconds) the service's last successful refresh may be for
        `latest()` to call the version held the latest. `manager_id` (host-pid unless
        given) and `client` name the subscribed connection for the fleet (_naming); with
        `client=None` it stays unnamed, out of the fleet (the service's own)."""
        self._primary = deployment_for(redis_url)
        self._primary.check_prefix(prefix)
        reading = reading_deployment(self._primary, read_from_replica, replica_url)
        self._reads_primary = reading.reads_primary
        # The primary's client for reports, made when the first needs it: most subscribers
        # never do (their reports go on the subscribed connection), and each client costs
        # a process about 13 KB, which a process holding many subscribers feels.
        self._redis = redis
        self._owned: list[RedisClient] = []
        self._keys = Keys(prefix)
        self._resync_interval = resync_interval
        self._held = HeldVersion()
        self._max_age = max_age
        self._stored: VersionState | None = None  # the hash as last read
        # (subscriptions, losses) of the subscription when the hash was read after it was
        # made: synced while both are still the same.
        self._read_after: tuple[int, int] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._reports = OutdatedReports(
            self._on_primary,
            self._keys,
            interval=report_interval,
            refresh_wait=refresh_wait,
            job_stream_maxlen=job_stream_maxlen,
        )
        self.subscription: Subscription = reading.subscribe(
            [self._keys.version_changed],
            on_message=self._on_message,
            on_subscribed=self._read_after_subscribing,
            ping_interval=ping_interval,
            max_backoff=1.0,  # a restarted Redis is back in use within about a second
        )
        self.naming = ConnectionNaming(self.subscription, manager_id, client)
        self.naming.follow(self._held)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> VersionSubscriber:
        """A subscriber set up from the environment the service reads: REDIS_URL (or
        REDIS_TLS_URL, with REDIS_SSL_CERT_REQS and REDIS_SSL_CA_CERTS), REDIS_PREFIX,
        REFRESH_MIN_INTERVAL (how often a report may ask), REFRESH_WAIT,
        JOB_STREAM_MAXLEN, where to read: REDIS_READ_FROM=replica (with a Sentinel URL)
        or REDIS_REPLICA_URL, and WA_MANAGER_ID. Raises ConfigError for a malformed value."""
        return cls(**options_from_env(os.environ if env is None else env, options))

    @property
    def current(self) -> PublishedVersion | None:
        """The version to use for the next connection; None until one is known. No I/O."""
        return self._held.current

    @property
    def current_since(self) -> float:
        """When the version `current` holds was applied, by time.monotonic() (0.0 before
        any version): how long it has been held, and when a change reached this
        subscriber. The same version in a new epoch leaves it as it was."""
        return self._held.held_since

    @property
    def synced(self) -> bool:
        """Whether `current` is known to be current: the subscription is up and the hash
        was read since it was made (between a reconnection and that read, a change may
        be missed)."""
        sub = self.subscription
        return self._read_after is not None and self._read_after == (sub.subscriptions, sub.losses)

    def latest(self, max_age: float | None = None) -> Verdict:
        """Whether `current` is the latest version, and if not, why (contract.judge_latest:
        synced; the service's last refresh attempt succeeded, and its last success is
        within `max_age` seconds, the constructor's by default). The hash as last read
        (at most a resync interval ago) is judged: no I/O. False while nothing is held."""
        held = self._held.current
        if held is None:
            return Verdict("unsynced", "no version is held yet")
        age = self._max_age if max_age is None else max_age
        return judge_latest(
            held, synced=self.synced, stored=self._stored, now=utc_now(), max_age=age
        )

    def on_change(self, callback: OnChange) -> OnChange:
        """Call `callback(old, new)` once per change of version, in order; usable as a decorator.

        The same version announced again in a later `(epoch, seq)` (Redis lost its data
        and the next refresh stored it in a new epoch) is held without a call: `current`
        then carries the new order. Callbacks run one after another in a task of their
        own, so a slow one delays the others but never what `current` returns; one that
        raises is logged and skipped.
        """
        return self._held.on_change(callback)

    async def start(self) -> None:
        """Subscribe, read the current version, and follow changes in the background.

        Returns once the first read is done or has failed (Redis down, say: the
        subscription keeps trying), after at most START_WAIT seconds.
        """
        self._tasks = [
            asyncio.create_task(self.subscription.run(), name="version-subscription"),
            asyncio.create_task(self._resync_periodically(), name="version-resync"),
            asyncio.create_task(self._held.call_back(), name="version-callbacks"),
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(START_WAIT):
                await self.subscription.first_attempt.wait()

    async def aclose(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        await self.naming.aclose()
        await self.subscription.aclose()
        for client in self._owned:
            await client.aclose()

    async def __aenter__(self) -> VersionSubscriber:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def resync(self) -> None:
        """Read the stored version and follow it (see HeldVersion.follow_store).

        The read goes on the connection the subscription reads from; while there is none
        (Redis away, a reconnection under way) it raises a redis ConnectionError, and the
        subscription reads again as soon as it is back.
        """
        asked = time.monotonic()
        state = readable_state(await self.subscription.command("HGETALL", self._keys.version))
        self._stored = state
        stored = PublishedVersion.from_state(state)
        if stored is not None:
            self._held.follow_store(stored, asked, primary=self._reads_primary)

    async def _read_after_subscribing(self) -> None:
        """Resync once subscribed; from then on `synced` until the subscription is lost."""
        losses = self.subscription.losses  # before: a loss during the read unsyncs
        await self.resync()  # its reply follows the confirmation: counted by now
        await self.naming.name(self._held.current)
        self._read_after = (self.subscription.subscriptions, losses)

    async def wait_newer(
        self, than: PublishedVersion | None, within: float
    ) -> PublishedVersion | None:
        """Wait up to `within` seconds for a version newer than `than` (another version,
        announced later; not the same one in a new epoch); the newest held."""
        return await self._held.wait_newer(than, within)

    async def report_outdated(self, version_used: object = None) -> bool:
        """Ask for a forced refresh after WhatsApp refused a connection as outdated.

        `version_used` is the version the refused connection sent, in whatever form the
        manager holds it (`current.array`, a list, `"2.3000.N"`, a WAVersion, `current`).
        The whole cluster turns any number of reports into at most one refresh per
        `report_interval`: the first report sets a Redis key that expires after it, and
        only that report enqueues a job. A report about a version older than the one
        held asks nothing: the caller should just reconnect with `current`. Returns
        whether this call enqueued the refresh.
        """
        used = None if version_used is None else WAVersion.of(version_used)
        held = self._held.current
        if used is not None and held is not None and held.version > used:
            return False
        return await self._reports.report()

    async def _on_primary(self, *args: str) -> Any:
        """Run a command on the primary: on the subscription's connection when that is the
        primary's and up, so a report opens no connection; else on the reports' client."""
        if self._reads_primary:
            with contextlib.suppress(NotConnected):
                return await self.subscription.command(*args)
        if self._redis is None:
            self._redis = self._primary.connect(max_connections=4)
            self._owned.append(self._redis)
        return await self._redis.execute_command(*args)

    def _on_message(self, channel: str, data: str) -> None:
        try:
            published = _decode(data)
        except MessageError as exc:
            log.warning("ignoring a version-changed message: %s", exc)
            return
        if not plausible_epoch(published.epoch):
            log.warning(
                "ignoring a version-changed message: epoch %d is ahead of the clock",
                published.epoch,
            )
            return
        self._held.offer(published)

    async def _resync_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._resync_interval)  # a backstop timer, not a race
            try:
                await self.resync()
            except REDIS_DOWN:
                pass  # the subscription reconnects and resyncs when Redis is back
            except Exception as exc:  # a garbled hash, a key of the wrong type: try later
                log.warning("reading the stored version failed: %s", describe(exc))
