"""StateStore on fakeredis (with Lua): one-round-trip writes guarded by rev."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import fakeredis
import pytest
from redis.asyncio import Redis

from shared.keys import Keys
from shared.state import VersionState
from shared.store import Applied, StateStore
from shared.version import WAVersion
from worker.apply import apply_fetched
from worker.fetch import Fetched

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEYS = Keys("unit")


@pytest.fixture
async def fake() -> AsyncIterator[Redis]:
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield client
    await client.aclose()


def fetched(revision: int) -> Fetched:
    return Fetched(WAVersion(2, 3000, revision), "s")


async def test_each_write_bumps_rev_and_remembers_the_state(fake: Redis) -> None:
    store = StateStore(fake, KEYS)
    first = await store.commit(lambda state: apply_fetched(state, fetched(1), NOW))
    second = await store.commit(lambda state: apply_fetched(state, fetched(2), NOW))
    assert (first.state.rev, second.state.rev) == (1, 2)
    stored = VersionState.from_hash(await fake.hgetall(KEYS.version))
    assert stored == second.state


async def test_a_write_by_someone_else_makes_it_decide_again(fake: Redis) -> None:
    """The store decided on rev 1, another writer made rev 2: it re-reads, re-decides on
    what is there, and writes rev 3, losing neither write."""
    store = StateStore(fake, KEYS)
    await store.commit(lambda state: apply_fetched(state, fetched(1), NOW))
    other = StateStore(fake, KEYS)
    await other.commit(lambda state: apply_fetched(state, fetched(5), NOW))
    seen: list[int] = []

    def decide(state: VersionState) -> Applied:
        seen.append(state.rev)
        return Applied(replace(state, last_error="noted"))

    applied = await store.commit(decide)
    assert seen == [1, 2]
    assert applied.state.rev == 3
    assert applied.state.version == WAVersion(2, 3000, 5)  # the other writer's version kept


async def test_follow_up_commands_run_with_the_write_that_succeeds(fake: Redis) -> None:
    """Commands riding with a write run once, with the attempt that is stored."""
    store = StateStore(fake, KEYS)
    await store.commit(lambda state: apply_fetched(state, fetched(1), NOW))
    await StateStore(fake, KEYS).commit(lambda state: apply_fetched(state, fetched(2), NOW))

    def follow_up(applied: Applied) -> list[tuple[str, ...]]:
        return [("RPUSH", "unit:log", str(applied.state.rev))]

    await store.commit(lambda state: apply_fetched(state, fetched(3), NOW), follow_up)
    assert await fake.lrange("unit:log", 0, -1) == ["3"]


async def test_run_sends_plain_commands(fake: Redis) -> None:
    await StateStore(fake, KEYS).run([("SET", "unit:a", "1"), ("SET", "unit:b", "2")])
    assert await fake.mget("unit:a", "unit:b") == ["1", "2"]
