"""StateStore: one-round-trip writes guarded by rev, on fakeredis (with Lua) and a real server."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import fakeredis
import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from shared import transitions
from shared.errors import NotReplicated, StateConflict
from shared.job_results import JobResult
from shared.keys import ServiceKeys
from shared.metrics import Counts
from shared.plan import Reply
from shared.store import MAX_WRITE_ATTEMPTS, StateStore
from shared.transitions import Applied
from tests.support import wait_until
from wa_version_client.contract import (
    PublishedVersion,
    VersionState,
    WAVersion,
    epoch_ms,
    readable_state,
)
from wa_version_client.deployment import deployment_for

pytestmark = pytest.mark.server_sensitive

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEYS = ServiceKeys("unit")


@pytest.fixture
async def fake() -> AsyncIterator[Redis]:
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield client
    await client.aclose()


def fetched(revision: int) -> transitions.Transition:
    """The transition of a fetch that found 2.3000.`revision`."""
    return lambda state: transitions.fetched(state, WAVersion(2, 3000, revision), NOW, source="s")


async def test_each_write_bumps_rev_and_remembers_the_state(fake: Redis) -> None:
    store = StateStore(fake, KEYS)
    first = await store.commit(fetched(1))
    second = await store.commit(fetched(2))
    assert (first.state.rev, second.state.rev) == (1, 2)
    stored = VersionState.from_hash(await fake.hgetall(KEYS.version))
    assert stored == second.state


async def test_a_write_by_someone_else_makes_it_decide_again(fake: Redis) -> None:
    """The store decided on rev 1, another writer made rev 2: it re-reads, re-decides on
    what is there, and writes rev 3, losing neither write."""
    store = StateStore(fake, KEYS)
    await store.commit(fetched(1))
    other = StateStore(fake, KEYS)
    await other.commit(fetched(5))
    seen: list[int] = []

    def decide(state: VersionState) -> Applied:
        seen.append(state.rev)
        return Applied(replace(state, last_error="noted"))

    applied = await store.commit(decide)
    assert seen == [1, 2]
    assert applied.state.rev == 3
    assert applied.state.version == WAVersion(2, 3000, 5)  # the other writer's version kept


async def test_a_reply_rides_once_with_the_write_that_succeeds(fake: Redis) -> None:
    """What goes with a write (counters, answers) is written once, with the attempt that is
    stored: after a lost race, the answer reports the state of the attempt that won."""
    store = StateStore(fake, KEYS)
    await store.commit(fetched(1))
    await StateStore(fake, KEYS).commit(fetched(2))
    reply = Reply(job_ids=("job",), result_ttl_ms=60_000, counts=Counts((("jobs_fetched", 1),)))
    await store.commit(fetched(3), reply)
    assert await fake.hget(KEYS.metrics, "jobs_fetched") == "1"
    stored = JobResult.decode(await fake.get(KEYS.refresh_result("job")) or "")
    assert (stored.refreshed, stored.state.seq) == (True, 3)  # decided on the rival's seq 2


async def test_an_answer_without_a_state_leaves_the_state_alone(fake: Redis) -> None:
    """Answers that change no state (no fetch needed, set aside) are written unguarded:
    whatever rev is stored, the answers are stored and the hash is untouched."""
    await fake.hset(KEYS.version, mapping={"rev": "7", "string": "2.3000.1"})
    result = JobResult(False, "", VersionState(version=WAVersion(2, 3000, 1)))
    await StateStore(fake, KEYS).answer(Reply(("a", "b"), result_ttl_ms=60_000), result)
    assert (
        await fake.mget(KEYS.refresh_result("a"), KEYS.refresh_result("b")) == [result.encode()] * 2
    )
    assert await fake.hgetall(KEYS.version) == {"rev": "7", "string": "2.3000.1"}


async def test_a_counter_garbled_by_hand_does_not_stop_the_write(
    fake: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A counter holding text: that one is not added to (and the log says so); the state,
    the answer and the other counters are written."""
    await fake.hset(KEYS.metrics, "fetches_ok", "lots")
    whole = (("fetches_ok", 1), ("jobs_fetched", 1))
    reply = Reply(("job",), result_ttl_ms=60_000, counts=Counts(whole))
    applied = await StateStore(fake, KEYS).commit(fetched(1), reply)
    assert applied.state.rev == 1
    assert await fake.hmget(KEYS.metrics, ["fetches_ok", "jobs_fetched"]) == ["lots", "1"]
    assert await fake.exists(KEYS.refresh_result("job"))
    assert "1 counters in unit:metrics are not numbers" in caplog.text


async def test_a_rev_lua_cannot_read_is_written_over_not_spun_on(fake: Redis) -> None:
    """`rev 1_000` (1000 for Python, nil for Lua): the guard compares the stored text, so
    the next write goes through at once and leaves a plain number."""
    store = StateStore(fake, KEYS)
    await store.commit(fetched(1))
    await fake.hset(KEYS.version, "rev", "1_000")
    fresh = StateStore(fake, KEYS)
    applied = await fresh.commit(fetched(2))
    assert applied.state.version == WAVersion(2, 3000, 2)
    assert await fake.hget(KEYS.version, "rev") == "1"


async def test_a_garbled_ordering_starts_a_new_epoch(fake: Redis) -> None:
    """A malformed seq (or epoch, or version) resets the ordering: the next change is seq 1
    of a new, plausible epoch, which every subscriber follows."""
    await fake.hset(KEYS.version, mapping={"string": "2.3000.1", "seq": "x", "epoch": "-5"})
    applied = await StateStore(fake, KEYS).commit(fetched(2))
    assert applied.changed is not None
    assert (applied.changed.seq, applied.changed.epoch > 0) == (1, True)
    assert readable_state(await fake.hgetall(KEYS.version)).epoch == applied.changed.epoch


async def test_an_epoch_from_the_future_is_no_epoch(fake: Redis) -> None:
    """A stored epoch far ahead of the clock is implausible: readers see no ordering."""
    await fake.hset(KEYS.version, mapping={"string": "2.3000.1", "seq": "3", "epoch": str(10**18)})
    assert (readable_state(await fake.hgetall(KEYS.version)).epoch) == 0


async def test_a_write_that_keeps_losing_gives_up() -> None:
    """Someone else writes between every decision and its write: StateConflict after a
    bounded number of attempts, not a loop for ever."""
    server = fakeredis.FakeServer()
    ours = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    rival = fakeredis.FakeRedis(server=server, decode_responses=True)
    store = StateStore(ours, KEYS)
    attempts = 0

    def decide(state: VersionState) -> Applied:
        nonlocal attempts
        attempts += 1
        rival.hincrby(KEYS.version, "rev", 1)  # another writer, just in time
        return Applied(state)

    with pytest.raises(StateConflict):
        await store.commit(decide)
    assert attempts == MAX_WRITE_ATTEMPTS
    await ours.aclose()


async def test_a_change_is_stored_and_published_once(redis: Redis, keys: ServiceKeys) -> None:
    """On a real server: a change is written to the hash and published on version-changed
    in the same script; a fetch of the same version publishes nothing."""
    store = StateStore(redis, keys)
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.version_changed)
        for revision in (7, 7, 8):
            await store.commit(fetched(revision))
        published = []
        # Drain what is queued: the confirmation, then each published change.
        while (message := await pubsub.get_message(timeout=0.05)) is not None:
            if message["type"] == "message":
                published.append(json.loads(message["data"]))
    assert [(m["string"], m["seq"]) for m in published] == [("2.3000.7", 1), ("2.3000.8", 2)]
    stored = await redis.hgetall(keys.version)
    assert (stored["string"], stored["array"], stored["seq"]) == ("2.3000.8", "[2,3000,8]", "2")


async def test_a_new_hash_starts_a_new_epoch_that_later_writes_keep(
    redis: Redis, keys: ServiceKeys
) -> None:
    """The first write stamps an epoch; writes after it keep it; a hash that vanished (Redis
    lost its data) gets a new, larger one and seq starts again at 1."""
    first = await StateStore(redis, keys).commit(fetched(7))
    second = await StateStore(redis, keys).commit(fetched(8))
    assert first.state.epoch > 0
    assert second.state.epoch == first.state.epoch
    assert second.changed is not None
    assert second.changed.epoch == first.state.epoch
    await redis.delete(keys.version)
    await wait_until(lambda: epoch_ms() > first.state.epoch)  # epochs are ms: let one pass
    third = await StateStore(redis, keys).commit(fetched(8))
    assert third.state.epoch > first.state.epoch
    assert third.state.seq == 1


async def test_a_state_gone_back_in_time_starts_a_new_epoch(fake: Redis) -> None:
    """The store wrote rev 2; Redis now holds the rev-1 hash (a failover to a replica that
    missed the last write): the next write carries a greater epoch, so subscribers that
    hold the lost seq 2 take it as newer."""
    store = StateStore(fake, KEYS)
    first = await store.commit(fetched(1))
    snapshot = {str(k): str(v) for k, v in (await fake.hgetall(KEYS.version)).items()}
    lost = await store.commit(fetched(2))
    for field, value in snapshot.items():  # back to rev 1, same epoch
        await fake.hset(KEYS.version, field, value)
    after = await store.commit(fetched(3))
    assert after.state.epoch > lost.state.epoch == first.state.epoch
    assert after.changed is not None
    assert after.changed.newer_than(lost.changed)


async def test_a_write_by_another_writer_keeps_the_epoch(fake: Redis) -> None:
    """A rev that moved forward under the store is a write by someone else, not a loss."""
    store = StateStore(fake, KEYS)
    first = await store.commit(fetched(1))
    await StateStore(fake, KEYS).commit(fetched(2))
    after = await store.commit(fetched(3))
    assert after.state.epoch == first.state.epoch


async def test_a_write_no_replica_acknowledged_is_announced_to_nobody(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """With wait_replicas and a server that has no replica: NotReplicated is raised, and
    neither the version-changed message nor the job's answer nor its XACK is sent."""
    deployment = deployment_for(redis_server.url)
    store = StateStore(redis, keys, wait_replicas=1, wait_timeout=0.05, deployment=deployment)
    entry_id = str(await redis.xadd(keys.refresh_jobs, {"job": "1"}))
    await redis.xgroup_create(keys.refresh_jobs, keys.workers_group, id="0")
    await redis.xreadgroup(keys.workers_group, "w", {keys.refresh_jobs: ">"})
    reply = Reply(job_ids=("job",), entry_ids=(entry_id,), result_ttl_ms=60_000)
    heard: list[str] = []
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.version_changed)
        with pytest.raises(NotReplicated, match="0 of 1 replicas"):
            await store.commit(fetched(1), reply)
        while (message := await pubsub.get_message(timeout=0.2)) is not None:
            if message["type"] == "message":
                heard.append(message["data"])
    assert heard == []
    pending = await redis.xpending(keys.refresh_jobs, keys.workers_group)
    assert pending["pending"] == 1
    assert not await redis.exists(keys.refresh_result("job"))


@pytest.fixture
def primary_and_replica(redis_server: RedisServer) -> Iterator[tuple[RedisServer, RedisServer]]:
    """A primary and its replica, both of the server the session runs."""
    # The replica's first sync at once, not after Redis 7's and Valkey's 5 s wait for
    # more replicas to share it (as devtools/sentinels.py starts its servers).
    with (
        RedisServer(None, "--repl-diskless-sync-delay", "0") as primary,
        RedisServer(None, "--replicaof", "127.0.0.1", str(primary.port)) as replica,
    ):
        yield primary, replica


async def _replicas_online(redis: Redis) -> bool:
    info = await redis.info("replication")
    return any(
        isinstance(v, dict) and v.get("state") == "online"
        for k, v in info.items()
        if k.startswith("slave")
    )


async def test_a_change_written_but_not_announced_is_announced_by_the_next_write(
    primary_and_replica: tuple[RedisServer, RedisServer], keys: ServiceKeys
) -> None:
    """The replica frozen: the change is written but WAIT times out (NotReplicated, no
    message). Once the replica is back, the next write finds that change still stored
    and publishes it, instead of leaving subscribers to their periodic re-read."""
    primary, replica = primary_and_replica
    deployment = deployment_for(primary.url)
    redis = deployment.server_client()
    try:
        await wait_until(lambda: _replicas_online(redis))
        store = StateStore(redis, keys, wait_replicas=1, wait_timeout=1.0, deployment=deployment)
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe(keys.version_changed)
            replica.signal(signal.SIGSTOP)
            try:
                with pytest.raises(NotReplicated):
                    await store.commit(fetched(7))
            finally:
                replica.signal(signal.SIGCONT)
            heard = await _messages(pubsub, within=0.3)
            assert heard == []
            await wait_until(lambda: _replica_caught_up(redis))
            await store.commit(fetched(7))  # the same version: no change of its own
            heard = await _messages(pubsub, within=2)
        assert [PublishedVersion.decode(m).version.patch for m in heard] == [7]
    finally:
        await redis.aclose()


async def _replica_caught_up(redis: Redis) -> bool:
    """Whether the replica has acknowledged everything the primary wrote."""
    info = await redis.info("replication")
    replicas = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
    return bool(replicas) and int(replicas[0]["offset"]) >= int(info["master_repl_offset"])


async def _messages(pubsub: Any, within: float) -> list[str]:
    """The messages heard until none comes for `within` seconds."""
    heard = []
    while (message := await pubsub.get_message(timeout=within)) is not None:
        if message["type"] == "message":
            heard.append(message["data"])
    return heard
