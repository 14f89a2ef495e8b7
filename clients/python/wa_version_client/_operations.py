"""The client's Redis operations beside its subscription: read the state, ask for a refresh."""

from __future__ import annotations

from wa_version_client._deployment import RedisClient
from wa_version_client._reports import ENQUEUED, ONCE_PER_INTERVAL
from wa_version_client.contract._keys import Keys
from wa_version_client.contract._refresh_job import RefreshJob
from wa_version_client.contract._repair import readable_state
from wa_version_client.contract._state import VersionState


async def read_state(redis: RedisClient, keys: Keys) -> VersionState:
    """The stored state, read now, as far as it decodes (see `readable_state`)."""
    return readable_state(await redis.hgetall(keys.version))


async def enqueue(redis: RedisClient, keys: Keys, job: RefreshJob, *, maxlen: int) -> str:
    """Append `job` to the stream, trimmed to about `maxlen` entries; its entry id."""
    entry_id = await redis.xadd(
        keys.refresh_jobs,
        job.to_fields(),  # type: ignore[arg-type]  # redis-py's hint is an invariant wider dict
        maxlen=maxlen,
        approximate=True,
    )
    return str(entry_id)  # decode_responses=True: already a str


async def enqueue_once_per(
    redis: RedisClient, keys: Keys, job: RefreshJob, *, slot: str, interval_ms: int, maxlen: int
) -> bool:
    """Enqueue `job` and take the key `slot` for `interval_ms`, in one atomic step, unless
    `slot` is taken; whether it enqueued. One step, so the job's stream id is the time the
    interval began, and no lost connection leaves the slot taken without its job."""
    fields = [word for pair in job.to_fields().items() for word in pair]
    limits = (str(max(1, interval_ms)), str(maxlen))
    left = await redis.eval(ONCE_PER_INTERVAL, 2, slot, keys.refresh_jobs, *limits, *fields)
    return int(left) == ENQUEUED
