"""Awaiting the answers to refresh jobs without polling and without a connection each.

One subscription per process (the deployment's: wa_version_client.deployment) receives
every batch result and resolves the futures of the jobs this process is waiting for. A
result is also stored briefly under its own key: it is read after each (re)subscription,
when messages may have been lost, and once more when a wait times out.

The same subscription may carry one more channel (`Listener`): heard on the connection
the answers come on, its messages arrive in the order they were published among them
(the web's held state, shared/held_state.py, hears of a write before its job's answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from shared.errors import MessageError, ResultTimeout
from shared.job_results import BatchResult, JobResult
from shared.keys import ServiceKeys
from wa_version_client.deployment import Deployment, RedisClient, Subscription

log = logging.getLogger(__name__)

# How long the last look for a stored answer may take once the wait is over.
LAST_LOOK = 0.5


class Listener(Protocol):
    """What hears another channel on the results' subscription."""

    @property
    def channel(self) -> str: ...

    def on_message(self, data: str) -> None: ...

    # After each (re)subscription, once the stored answers are read.
    async def resubscribed(self, subscription: Subscription) -> None: ...


class ResultWaiter:
    """Hands each job's result to whoever `expect`ed it. Run `run()` as a task, then
    `aclose()`. `redis` (a client of `deployment`) reads a stored answer at the end of a
    wait; the subscription holds a connection of its own."""

    def __init__(
        self,
        deployment: Deployment,
        redis: RedisClient,
        keys: ServiceKeys,
        also: Listener | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._also = also
        self._waiting: dict[str, asyncio.Future[JobResult]] = {}
        self.subscription: Subscription = deployment.subscribe(
            [keys.refresh_results] + ([] if also is None else [also.channel]),
            on_message=self._on_message,
            on_subscribed=self._after_subscribing,
            max_backoff=2.0,
        )

    async def run(self) -> None:
        await self.subscription.run()

    async def aclose(self) -> None:
        await self.subscription.aclose()

    @contextmanager
    def expect(self, job_id: str) -> Iterator[asyncio.Future[JobResult]]:
        """Register interest in `job_id` *before* enqueuing it, so no answer can slip by."""
        future: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        self._waiting[job_id] = future
        try:
            yield future
        finally:
            del self._waiting[job_id]

    async def wait(
        self, job_id: str, future: asyncio.Future[JobResult], within: float
    ) -> JobResult:
        """The job's result, or `ResultTimeout` once `within` seconds pass without one."""
        try:
            return await asyncio.wait_for(future, within)
        except TimeoutError:
            pass
        # The message may have been lost while the answer itself was stored: one last look,
        # brief, so a Redis that hangs does not hold the caller past the wait.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LAST_LOOK):
                stored = await self._redis.get(self._keys.refresh_result(job_id))
                if stored is not None and (result := _decoded(job_id, stored)) is not None:
                    return result
        raise ResultTimeout(f"no worker answered the refresh within {within:g}s")

    def _on_message(self, channel: str, data: str) -> None:
        if self._also is not None and channel == self._also.channel:
            self._also.on_message(data)
            return
        try:
            batch = BatchResult.decode(data)
        except MessageError as exc:
            log.warning("ignoring a refresh result message: %s", exc)
            return
        for job_id in batch.job_ids:
            self._resolve(job_id, batch.result)

    async def _after_subscribing(self) -> None:
        await self._recover_missed()
        if self._also is not None:
            await self._also.resubscribed(self.subscription)

    async def _recover_missed(self) -> None:
        """Read the answers stored for the jobs waited for, on the subscription's connection:
        read there, after SUBSCRIBE, an answer this misses is one the subscription hears."""
        job_ids = list(self._waiting)
        if not job_ids:
            return
        names = [self._keys.refresh_result(j) for j in job_ids]
        stored = await self.subscription.command("MGET", *names)
        for job_id, text in zip(job_ids, stored, strict=True):
            if text is not None and (result := _decoded(job_id, text)) is not None:
                self._resolve(job_id, result)

    def _resolve(self, job_id: str, result: JobResult) -> None:
        future = self._waiting.get(job_id)
        if future is not None and not future.done():
            future.set_result(result)


def _decoded(job_id: str, text: str | bytes) -> JobResult | None:
    """A stored answer, or None (logged) when it does not decode."""
    try:
        return JobResult.decode(text)
    except MessageError as exc:
        log.warning("ignoring the stored answer to job %s: %s", job_id, exc)
        return None
