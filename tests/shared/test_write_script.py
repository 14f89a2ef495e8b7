"""The write script is whole: a step that would fail part-way fails before anything is
written or published (a key of the wrong type, set by hand)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.job_results import JobResult
from shared.keys import ServiceKeys
from shared.plan import Reply
from shared.store import StateStore
from wa_version_client.contract import VersionState

pytestmark = pytest.mark.server_sensitive

ANSWER = JobResult(refreshed=True, error="", state=VersionState())


async def test_answers_are_not_stored_when_the_acknowledgement_would_fail(
    redis: Redis, keys: ServiceKeys
) -> None:
    """The job stream replaced by a string: XACK would fail after the answers were
    stored and published; the script refuses before either."""
    await redis.set(keys.refresh_jobs, "not a stream")
    reply = Reply(job_ids=("job-1",), entry_ids=("1-1",), result_ttl_ms=60_000)
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.refresh_results)
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await StateStore(redis, keys).answer(reply, ANSWER)
        heard = await pubsub.get_message(timeout=0.1)  # the subscribe confirmation
        assert heard is not None
        assert heard["type"] == "subscribe"
        assert await pubsub.get_message(timeout=0.2) is None
    assert not await redis.exists(keys.refresh_result("job-1"))


async def test_dead_letters_that_cannot_be_copied_answer_nobody(
    redis: Redis, keys: ServiceKeys
) -> None:
    """The dead-letter stream replaced by a list: nothing copied, answered or counted."""
    await redis.rpush(keys.dead_letter, "not a stream")
    reply = Reply(
        job_ids=("job-1",),
        entry_ids=("1-1",),
        result_ttl_ms=60_000,
        set_aside=({"job_id": "job-1", "job_entry": "1-1", "deliveries": "9"},),
    )
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await StateStore(redis, keys).answer(reply, ANSWER)
    assert not await redis.exists(keys.refresh_result("job-1"))
