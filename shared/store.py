"""Writing the stored state in one round trip, together with whatever must go with it.

The worker holding the lease is nearly always the only writer, so it keeps the state it
last wrote and decides on that, without reading first. Every write carries `rev` + 1
and runs only if the stored `rev` is still the one decided on (a Lua script, so the
check and the writes are atomic); if another writer got there first (a pin, a worker
from before a lease handover), the state is read again and the decision made again.
The answers to the jobs and their acknowledgement ride in the same script, so they are
stored exactly when the state they report is; so does the entry of each change in the
history list.

With `wait_replicas` (REDIS_WAIT_REPLICAS), nothing is announced before it is safe from
a failover: the script writes the state and the history; WAIT, on the same connection,
asks that many replicas to acknowledge them, and (with Sentinel) the sentinels must still
name the server written to as the primary; only then are the messages published, the
answers stored and the jobs acknowledged. Otherwise `NotReplicated` is raised and nobody
hears of the write: the jobs stay pending and are answered again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from shared.errors import MessageError, NotReplicated, StateConflict
from shared.keys import ServiceKeys
from shared.replicated import AFTER_REPLICATION, replicating, write_replicated
from shared.settings import Settings
from shared.transitions import Applied, Transition
from wa_version_client.contract import PublishedVersion, VersionState, epoch_ms, readable_state
from wa_version_client.deployment import Deployment, RedisClient

log = logging.getLogger(__name__)


# A Redis command as words: ("SET", key, value, "PX", "60000").
Command = tuple[str, ...]
FollowUp = Callable[[Applied], Sequence[Command]]

# KEYS[1]: the state hash. ARGV[1]: the rev the writes were decided on, as it was stored
# (compared as text: a value Python and Lua would read differently cannot pass for
# another). ARGV[2…]: the commands, each as its word count followed by its words. All
# run, or none.
_GUARDED_WRITE = """
if (redis.call('HGET', KEYS[1], 'rev') or '') ~= ARGV[1] then
  return 0
end
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return 1
"""


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
    ) -> None:
        # The deployment `redis` belongs to, asked how a write waits for its replicas.
        self._replicated = replicating(deployment) if wait_replicas else None
        self._redis = redis
        self._keys = keys
        self._history_length = history_length
        self._wait = (wait_replicas, int(wait_timeout * 1000))  # WAIT's arguments
        self._script = redis.register_script(_GUARDED_WRITE)
        self._known: VersionState | None = None
        self._known_rev = ""  # the rev field as stored when `_known` was read or written
        self._unannounced: PublishedVersion | None = None  # written, NotReplicated

    @classmethod
    def for_settings(cls, redis: RedisClient, keys: ServiceKeys, settings: Settings) -> StateStore:
        """The store `settings` describe: history length, replicas to wait for."""
        return cls(
            redis,
            keys,
            history_length=settings.history_length,
            wait_replicas=settings.redis_wait_replicas,
            wait_timeout=settings.redis_wait_timeout,
            deployment=settings.deployment,
        )

    @property
    def keys(self) -> ServiceKeys:
        return self._keys

    async def read(self) -> VersionState:
        """The stored state, read now."""
        raw = await self._redis.hgetall(self._keys.version)
        self._known, self._known_rev = readable_state(raw), str(raw.get("rev", ""))
        return self._known

    async def commit(self, decide: Transition, follow_up: FollowUp | None = None) -> Applied:
        """Write what `decide` makes of the current state, with `follow_up`'s commands.

        Raises `StateConflict` when the state changed under MAX_WRITE_ATTEMPTS writes.
        """
        state = self._known if self._known is not None else await self.read()
        for _ in range(MAX_WRITE_ATTEMPTS):
            if state.epoch == 0:
                # A new hash (first run, or Redis lost its data) starts a new epoch, so
                # subscribers that saw a higher seq before still accept what follows.
                state = replace(state, epoch=epoch_ms())
            applied = decide(state)
            written = replace(applied.state, rev=state.rev + 1)
            applied = replace(applied, state=written)
            commands = [self._state_write(written)]
            if applied.changed is not None:
                announcement = applied.changed.encode()
                commands.append(("PUBLISH", self._keys.version_changed, announcement))
                commands.append(("LPUSH", self._keys.history, announcement))
                last = str(self._history_length - 1)
                commands.append(("LTRIM", self._keys.history, "0", last))
            elif (pending := self._unannounced_in(written)) is not None:
                # A change written earlier but never announced (NotReplicated) survived:
                # announce it now, or subscribers would hear of it only at their re-read.
                commands.append(("PUBLISH", self._keys.version_changed, pending.encode()))
            commands.extend(follow_up(applied) if follow_up else ())
            try:
                done = await self._write_guarded(commands)
            except NotReplicated:
                self._unannounced = applied.changed or self._unannounced
                raise
            if done:
                self._known, self._known_rev = written, str(written.rev)
                self._unannounced = None
                return applied
            state = await self._read_again()
        raise StateConflict(
            f"the stored version state changed under {MAX_WRITE_ATTEMPTS} writes in a row"
        )

    def _unannounced_in(self, state: VersionState) -> PublishedVersion | None:
        """The change written but not announced, if `state` is still the state it made."""
        pending = self._unannounced
        if pending is None or pending.order != (state.epoch, state.seq):
            return None
        return pending if pending.version == state.version else None

    async def _write_guarded(self, commands: Sequence[Command]) -> bool:
        """Run `commands` if the rev is still the one decided on; whether they ran."""
        guard = [self._keys.version]
        if self._replicated is None:
            return bool(await self._script(guard, [self._known_rev, *_words(commands)]))
        later = [c for c in commands if c[0] in AFTER_REPLICATION]
        now = [c for c in commands if c[0] not in AFTER_REPLICATION]
        args = [self._known_rev, *_words(now)]
        if not await write_replicated(
            self._replicated, self._redis, self._script, guard, args, self._wait
        ):
            return False
        await self.send(later)
        return True

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

    async def send(self, commands: Sequence[Command]) -> None:
        """Run `commands` in one round trip (a pipeline, not a transaction)."""
        if not commands:
            return
        pipe = self._redis.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        await pipe.execute()

    def _state_write(self, state: VersionState) -> Command:
        fields = [word for pair in state.to_hash().items() for word in pair]
        return ("HSET", self._keys.version, *fields)


def _words(commands: Sequence[Command]) -> list[str | int]:
    words: list[str | int] = []
    for command in commands:
        words.append(len(command))
        words.extend(command)
    return words
