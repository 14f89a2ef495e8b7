"""The write: one Lua script that runs a plan (shared/plan.py), section by section.

Everything a plan holds is written in one atomic step, so a job's answer is stored
exactly when the state it reports is. With REDIS_WAIT_REPLICAS the script runs in two
goes (shared/replicated.py): STORE (the guarded state, its history, the counters, the
dead letters) then, once replicas have that, TELL (the messages, the answers, the
acknowledgements). Nothing here unpacks an unbounded list: Redis's Lua stops `unpack`
at about 8,000 values, and a batch may hold 10,000 jobs (worker/stream.py's MAX_BATCH):
the state's fields and a dead letter's (at most MAX_DEAD_LETTER_FIELDS) are bounded, the
acknowledgements go ACK_CHUNK at a time, each answer is a SET of its own. The one message
answering a batch holds its job ids, each at most 128 characters (the contract's
RefreshJob; 32 as the API and the clients write them): under 1.4 MB (350 KB), inside
Redis's pub/sub output limits.

Every write of the state publishes its new rev on `state_changed` in the same section as
the HSET (STORE), never held back for replicas: the web processes answering from a copy
(shared/held_state.py) must hear of a write as soon as a read of Redis could show it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from redis.asyncio import Redis

from shared.keys import ServiceKeys
from shared.plan import MAX_DEAD_LETTER_FIELDS, Plan
from wa_version_client.contract import PublishedVersion
from wa_version_client.deployment import RedisClient

log = logging.getLogger(__name__)

ALL, STORE, TELL = "all", "store", "tell"  # which sections a run of the script does

# The dead-letter stream keeps about the last this many jobs set aside.
DEAD_LETTER_MAXLEN = 1000
# Job entries acknowledged per XACK.
ACK_CHUNK = 1000

# Returns 0 when the guard failed (nothing was written), else 1 + the counters skipped.
_WRITE = """
local sections = ARGV[1]
local version, history, metrics, jobs, dead_letters = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local guard, history_last = ARGV[2], ARGV[3]
local changed, announce, reannounce = ARGV[4], ARGV[5], ARGV[6]
local results, answer, ttl_ms, batch = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local group, dead_maxlen, ack_chunk = ARGV[11], ARGV[12], tonumber(ARGV[13])
local state_changed, rev = ARGV[14], ARGV[15]
-- The lists after the header, in this order, each as many words as its count says.
local state_at = 21
local whole_at = state_at + tonumber(ARGV[16])
local sums_at = whole_at + tonumber(ARGV[17])
local acks_at = sums_at + tonumber(ARGV[18])
local dead_at = acks_at + tonumber(ARGV[19])
local dead_end = dead_at + tonumber(ARGV[20]) - 1

local function counted(reply)
  if type(reply) == 'table' and reply.err then return 1 end
  return 0
end

-- What could fail part-way fails before anything is written: a stream key holding
-- another type (set by hand) would fail XADD or XACK after the answers were published.
local function must_be_stream(key)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'stream' and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. kind .. ', not a stream')
  end
end
local wrong = (dead_end >= dead_at and sections ~= 'tell' and must_be_stream(dead_letters))
  or (dead_at > acks_at and sections ~= 'store' and must_be_stream(jobs))
if wrong then return wrong end

local skipped = 0
if sections ~= 'tell' then
  if whole_at > state_at then
    -- guard: the state is written only over the one it was decided on (compared as text)
    if (redis.call('HGET', version, 'rev') or '') ~= guard then
      return 0
    end
    -- history: first, so that a key of the wrong type fails the write before it starts
    if announce ~= '' then
      redis.call('LPUSH', history, announce)
      redis.call('LTRIM', history, 0, history_last)
    end
    -- state: the contract's few fields; and, whatever else waits for replicas, word of
    -- the write at once to the web processes holding a copy (shared/held_state.py)
    redis.call('HSET', version, unpack(ARGV, state_at, whole_at - 1))
    redis.call('PUBLISH', state_changed, rev)
  end
  -- counters: one garbled by hand is skipped, never the write
  for i = whole_at, sums_at - 1, 2 do
    skipped = skipped + counted(redis.pcall('HINCRBY', metrics, ARGV[i], ARGV[i + 1]))
  end
  for i = sums_at, acks_at - 1, 2 do
    skipped = skipped + counted(redis.pcall('HINCRBYFLOAT', metrics, ARGV[i], ARGV[i + 1]))
  end
  -- dead letters: each entry set aside, as its field count then its (bounded) fields
  local i = dead_at
  while i <= dead_end do
    local n = tonumber(ARGV[i])
    redis.call('XADD', dead_letters, 'MAXLEN', '~', dead_maxlen, '*', unpack(ARGV, i + 1, i + n))
    i = i + n + 1
  end
end
if sections ~= 'store' then
  -- announcement
  if announce ~= '' then redis.call('PUBLISH', changed, announce) end
  if reannounce ~= '' then redis.call('PUBLISH', changed, reannounce) end
  -- answers: each job's under its own key for a while, and all of them in one message
  if answer ~= '' then
    for k = 6, #KEYS do
      redis.call('SET', KEYS[k], answer, 'PX', ttl_ms)
    end
    redis.call('PUBLISH', results, batch)
  end
  -- acknowledgements: last (nothing above can fail once begun: see must_be_stream)
  for i = acks_at, dead_at - 1, ack_chunk do
    redis.call('XACK', jobs, group, unpack(ARGV, i, math.min(i + ack_chunk - 1, dead_at - 1)))
  end
end
return 1 + skipped
"""


class WriteScript:
    """The script, registered once, and how a plan is laid out for it."""

    def __init__(self, redis: RedisClient, keys: ServiceKeys, *, history_length: int) -> None:
        self._keys = keys
        self._history_length = history_length
        self._script = redis.register_script(_WRITE)

    async def run(self, plan: Plan, sections: str = ALL, client: Redis | None = None) -> int:
        """Run `sections` of `plan`: 0 when the guard failed and nothing was written."""
        keys, args = self._arguments(plan, sections)
        reply = int(await self._script(keys, args, client=client))
        if reply > 1:
            log.warning(
                "%d counters in %s are not numbers: not added to", reply - 1, self._keys.metrics
            )
        return reply

    def _arguments(self, plan: Plan, sections: str) -> tuple[list[str], list[str]]:
        keys, reply = self._keys, plan.reply
        encoded = "" if plan.answer is None else plan.answer.encode()
        batch = plan.batch
        state = [] if plan.state is None else _pairs(plan.state.to_hash().items())
        whole = _pairs((name, str(by)) for name, by in reply.counts.whole)
        sums = _pairs((name, repr(by)) for name, by in reply.counts.sums)
        dead: list[str] = []
        for fields in reply.set_aside:
            assert len(fields) <= MAX_DEAD_LETTER_FIELDS + 2, "a dead letter's fields are bounded"
            dead += [str(2 * len(fields)), *_pairs(fields.items())]
        header = [
            sections, plan.guard, str(self._history_length - 1),
            keys.version_changed, _text(plan.announce), _text(plan.reannounce),
            keys.refresh_results, encoded, str(reply.result_ttl_ms),
            "" if batch is None else batch.encode(encoded),
            keys.workers_group, str(DEAD_LETTER_MAXLEN), str(ACK_CHUNK),
            keys.state_changed, "" if plan.state is None else str(plan.state.rev),
            str(len(state)), str(len(whole)), str(len(sums)), str(len(reply.entry_ids)),
            str(len(dead)),
        ]  # fmt: skip
        fixed = [keys.version, keys.history, keys.metrics, keys.refresh_jobs, keys.dead_letter]
        answered = [keys.refresh_result(job_id) for job_id in reply.job_ids] if encoded else []
        return [*fixed, *answered], [*header, *state, *whole, *sums, *reply.entry_ids, *dead]


def _pairs(items: Iterable[tuple[str, str]]) -> list[str]:
    return [word for pair in items for word in pair]


def _text(message: PublishedVersion | None) -> str:
    return "" if message is None else message.encode()
