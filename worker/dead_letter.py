"""Jobs delivered too many times go to a dead-letter stream instead of looping forever.

A job is delivered again only when the worker that had it stopped before acknowledging
it; a job that keeps doing that (one that crashes the worker, say) is set aside after
`max_deliveries`, with its fields, for a person to look at:

    XRANGE whatsapp:refresh-jobs:dead - +
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from shared.keys import ServiceKeys
from wa_version_client.deployment import RedisClient
from worker.stream import Entry

log = logging.getLogger(__name__)

DEAD_LETTER_MAXLEN = 1000


async def set_aside_poison(
    redis: RedisClient,
    keys: ServiceKeys,
    consumer: str,
    entries: Sequence[Entry],
    max_deliveries: int,
    *,
    excused: Mapping[str, int] | None = None,
) -> tuple[list[Entry], list[Entry]]:
    """Split claimed `entries` into (to handle, set aside); the set-aside ones are copied
    to the dead-letter stream (the caller answers and acknowledges them). `excused` counts,
    per entry, the deliveries that were not the job's fault (Redis failed while it was in
    hand): they do not count."""
    if not entries:
        return [], []
    pending: Any = await redis.xpending_range(
        keys.refresh_jobs,
        keys.workers_group,
        min=entries[0][0],
        max=entries[-1][0],
        count=len(entries),
        consumername=consumer,
    )
    excused = excused or {}
    deliveries = {
        item["message_id"]: int(item["times_delivered"]) - excused.get(item["message_id"], 0)
        for item in pending
    }
    poison = [e for e in entries if deliveries.get(e[0], 0) > max_deliveries]
    if not poison:
        return list(entries), []
    pipe = redis.pipeline(transaction=False)
    for entry_id, fields in poison:
        record = {**(fields or {}), "job_entry": entry_id, "deliveries": str(deliveries[entry_id])}
        # redis-py's hint for the fields is an invariant, wider dict.
        pipe.xadd(keys.dead_letter, record, maxlen=DEAD_LETTER_MAXLEN)  # type: ignore[arg-type]
    await pipe.execute()
    log.error(
        "set aside %d refresh jobs delivered over %d times: see %s",
        len(poison),
        max_deliveries,
        keys.dead_letter,
    )
    kept = [e for e in entries if deliveries.get(e[0], 0) <= max_deliveries]
    return kept, poison
