"""Writing the stored state in one round trip, together with whatever must go with it.

The worker holding the lease is nearly always the only writer, so it keeps the state it
last wrote and decides on that, without reading first. Every write carries `rev` + 1
and runs only if the stored `rev` is still the one decided on (a Lua script, so the
check and the writes are atomic); if another writer got there first (a pin, a worker
from before a lease handover), the state is read again and the decision made again.
The answers to the jobs and their acknowledgement ride in the same script, so they are
stored exactly when the state they report is; so does the entry of each change in the
history list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from redis.asyncio import Redis

from shared.clock import epoch_ms, format_time
from shared.keys import Keys
from shared.messages import PublishedVersion
from shared.state import VersionState
from shared.version import WAVersion


@dataclass(frozen=True, slots=True)
class Applied:
    """A new state, the change to publish (if any) and the error to report (if any)."""

    state: VersionState
    changed: PublishedVersion | None = None
    error: str = ""
    # Upstream served an older build than the stored one (a rollout under way): kept ours.
    older_upstream: bool = False


def change_version(
    current: VersionState, version: WAVersion, now: datetime, *, source: str, kind: str
) -> Applied:
    """`current` with `version` applied: seq + 1, and the announcement to publish."""
    state = replace(current, version=version, seq=current.seq + 1, changed_at=now)
    announcement = PublishedVersion(
        version=version,
        previous=current.version,
        seq=state.seq,
        epoch=state.epoch,
        changed_at=format_time(now),
        source=source,
        kind=kind,
    )
    return Applied(state, announcement)


# A Redis command as words: ("SET", key, value, "PX", "60000").
Command = tuple[str, ...]
Decide = Callable[[VersionState], Applied]
FollowUp = Callable[[Applied], Sequence[Command]]

# KEYS[1]: the state hash. ARGV[1]: the rev the writes were decided on. ARGV[2…]: the
# commands, each as its word count followed by its words. All run, or none.
_GUARDED_WRITE = """
if tonumber(redis.call('HGET', KEYS[1], 'rev') or '0') ~= tonumber(ARGV[1]) then
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


class StateStore:
    """The version hash, written with a rev check; remembers what it last wrote."""

    def __init__(self, redis: Redis, keys: Keys, *, history_length: int = 100) -> None:
        self._redis = redis
        self._keys = keys
        self._history_length = history_length
        self._script = redis.register_script(_GUARDED_WRITE)
        self._known: VersionState | None = None

    @property
    def keys(self) -> Keys:
        return self._keys

    async def read(self) -> VersionState:
        """The stored state, read now."""
        self._known = VersionState.from_hash(await self._redis.hgetall(self._keys.version))
        return self._known

    async def commit(self, decide: Decide, follow_up: FollowUp | None = None) -> Applied:
        """Write what `decide` makes of the current state, with `follow_up`'s commands."""
        state = self._known if self._known is not None else await self.read()
        while True:
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
            commands.extend(follow_up(applied) if follow_up else ())
            if await self._script([self._keys.version], [state.rev, *_words(commands)]):
                self._known = written
                return applied
            state = await self.read()  # someone else wrote: decide again on what is there

    async def history(self, limit: int) -> list[PublishedVersion]:
        """The last `limit` changes, newest first."""
        entries = await self._redis.lrange(self._keys.history, 0, limit - 1)
        return [PublishedVersion.decode(entry) for entry in entries]

    async def run(self, commands: Sequence[Command]) -> None:
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
