"""The stored state, and the one way anything is written: decide → plan → write.

    decide  the state machine (shared/transitions.py) makes the stored state a new one;
    plan    a value (shared/plan.py): that state with rev + 1, its announcement, the
            counters, the jobs' answers and acknowledgements;
    write   one Lua script (shared/write_script.py) runs the plan, guarded by the rev.

`StateStore.commit` does the three, for the worker's fetches and the API's pins alike;
`StateStore.answer` writes answers that change no state the same way.

The worker holding the lease is nearly always the only writer, so it keeps the state it
last wrote and decides on that, without reading first. The state is written only if the
stored `rev` is still the one decided on; if another writer got there first (a pin, a
worker from before a lease handover), the state is read again and the decision made
again. The answers to the jobs and their acknowledgement ride in the same script, so they
are stored exactly when the state they report is; so does the entry of each change in
the history list.

With `wait_replicas` (REDIS_WAIT_REPLICAS), nothing is announced before it is safe from
a failover: the script writes the state and the history; WAIT, on the same connection,
asks that many replicas to acknowledge them, and (with Sentinel) the sentinels must still
name the server written to as the primary; only then are the messages published, the
answers stored and the jobs acknowledged. Otherwise `NotReplicated` is raised and nobody
hears of the write: the jobs stay pending and are answered again. Answers that change no
state announce no change, and run whole at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from shared.errors import MessageError, NotReplicated, StateConflict
from shared.job_results import JobResult
from shared.keys import ServiceKeys
from shared.plan import NO_REPLY, Plan, Reply, plan_change, plan_reply
from shared.replicated import replicating, store_replicated
from shared.settings import Settings
from shared.transitions import Applied, Transition
from shared.write_script import TELL, WriteScript
from wa_version_client.contract import PublishedVersion, VersionState, epoch_ms, readable_state
from wa_version_client.deployment import Deployment, RedisClient

log = logging.getLogger(__name__)

# Writers racing each other settle in a write or two; more means something is wrong.
MAX_WRITE_ATTEMPTS = 10


class StateStore:
    """The version hash, written with a rev check; remembers what it last wrote."""

    def __init__(
        self,
        redis: RedisClient,
        keys: ServiceKeys,
        *,
        history_length: int = 100,
        wait_replicas: int = 0,
        wait_timeout: float = 1.0,
        deployment: Deployment | None = None,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        """`on_written`: called after each write of the state (done or not), before it
        returns: the web drops its held copy (shared/held_state.py), so a request after a
        pin sees the pin even before the notification of it is heard."""
        # The deployment `redis` belongs to, asked how a write waits for its replicas.
        self._replicated = replicating(deployment) if wait_replicas else None
        self._redis = redis
        self._keys = keys
        self._script = WriteScript(redis, keys, history_length=history_length)
        self._wait = (wait_replicas, int(wait_timeout * 1000))  # WAIT's arguments
        self._known: VersionState | None = None
        self._known_rev = ""  # the rev field as stored when `_known` was read or written
        self._unannounced: PublishedVersion | None = None  # written, NotReplicated
        self._on_written = on_written

    @classmethod
    def for_settings(
        cls,
        redis: RedisClient,
        keys: ServiceKeys,
        settings: Settings,
        on_written: Callable[[], None] | None = None,
    ) -> StateStore:
        """The store `settings` describe: history length, replicas to wait for."""
        return cls(
            redis,
            keys,
            history_length=settings.history_length,
            wait_replicas=settings.redis_wait_replicas,
            wait_timeout=settings.redis_wait_timeout,
            deployment=settings.deployment,
            on_written=on_written,
        )

    @property
    def keys(self) -> ServiceKeys:
        return self._keys

    async def read(self) -> VersionState:
        """The stored state, read now."""
        raw = await self._redis.hgetall(self._keys.version)
        self._known, self._known_rev = readable_state(raw), str(raw.get("rev", ""))
        return self._known

    async def commit(self, decide: Transition, reply: Reply = NO_REPLY) -> Applied:
        """Write what `decide` makes of the stored state, with `reply` for its jobs.

        Returns the decision as written: its state carries the rev it is stored under.
        Raises `StateConflict` when the state changed under MAX_WRITE_ATTEMPTS writes.
        """
        state = self._known if self._known is not None else await self.read()
        for _ in range(MAX_WRITE_ATTEMPTS):
            if state.epoch == 0:
                # A new hash (first run, or Redis lost its data) starts a new epoch, so
                # subscribers that saw a higher seq before still accept what follows.
                state = replace(state, epoch=epoch_ms())
            decided = decide(state)
            applied = replace(decided, state=replace(decided.state, rev=state.rev + 1))
            plan = plan_change(self._known_rev, applied, reply, self._unannounced)
            try:
                written = await self._write(plan)
            except NotReplicated:
                self._unannounced = applied.changed or self._unannounced
                raise
            if written:
                self._known, self._known_rev = applied.state, str(applied.state.rev)
                self._unannounced = None
                return applied
            state = await self._read_again()
        raise StateConflict(
            f"the stored version state changed under {MAX_WRITE_ATTEMPTS} writes in a row"
        )

    async def answer(self, reply: Reply, answer: JobResult | None) -> None:
        """Write `reply` with no state: every job in it told `answer` (jobs that needed no
        fetch, jobs set aside; None when the reply only acknowledges)."""
        await self._write(plan_reply(reply, answer))

    async def _write(self, plan: Plan) -> bool:
        """Run `plan`; False when its guard found the state changed and nothing was written.

        A plan with no state runs whole at once: it announces no change to wait for.
        """
        if plan.state is None:
            return bool(await self._script.run(plan))
        try:
            if self._replicated is None:
                return bool(await self._script.run(plan))
            if not await store_replicated(
                self._replicated, self._redis, self._script, plan, self._wait
            ):
                return False
            await self._script.run(plan, TELL)
            return True
        finally:
            if self._on_written is not None:
                self._on_written()

    async def _read_again(self) -> VersionState:
        """The stored state after a write found it changed: someone else wrote, or Redis
        went back in time (a failover to a replica that missed the last writes, a restored
        backup). Going back in the same epoch starts a new one, so every subscriber takes
        what follows as newer than the version it holds from the lost writes."""
        before = self._known
        state = await self.read()
        if before is not None and state.epoch == before.epoch and state.rev < before.rev:
            log.warning(
                "the stored state went back from rev %d to rev %d (writes were lost, as by "
                "a failover): starting a new epoch",
                before.rev, state.rev,
            )  # fmt: skip
            state = replace(state, epoch=max(epoch_ms(), state.epoch + 1))
        return state

    async def history(self, limit: int) -> list[PublishedVersion]:
        """The last `limit` changes, newest first; entries that do not decode are skipped."""
        decoded = []
        for entry in await self._redis.lrange(self._keys.history, 0, limit - 1):
            try:
                decoded.append(PublishedVersion.decode(entry))
            except MessageError as exc:
                log.warning("skipping a history entry: %s", exc)
        return decoded
