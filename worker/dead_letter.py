"""Jobs delivered too many times go to a dead-letter stream instead of looping forever.

A job is delivered again only when the worker that had it stopped before acknowledging
it; a job that keeps doing that (one that crashes the worker, say) is set aside after
`max_deliveries`, with its fields, for a person to look at:

    XRANGE whatsapp:refresh-jobs:dead - +

The copy, the job's answer and its acknowledgement are one write (shared/plan.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.keys import ServiceKeys
from shared.plan import MAX_DEAD_LETTER_FIELDS
from wa_version_client.deployment import RedisClient
from worker.stream import Entry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sorted:
    """Claimed entries sorted out: those to handle, and those to set aside with the
    copies the dead-letter stream gets of them."""

    kept: list[Entry]
    poison: list[Entry]
    copies: tuple[dict[str, str], ...]


async def sort_out_poison(
    redis: RedisClient,
    keys: ServiceKeys,
    consumer: str,
    entries: Sequence[Entry],
    max_deliveries: int,
    *,
    excused: Mapping[str, int] | None = None,
) -> Sorted:
    """Split claimed `entries` into those to handle and those delivered over
    `max_deliveries` times. `excused` counts, per entry, the deliveries that were not the
    job's fault (Redis failed while it was in hand): they do not count."""
    if not entries:
        return Sorted([], [], ())
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
        return Sorted(list(entries), [], ())
    kept = [e for e in entries if deliveries.get(e[0], 0) <= max_deliveries]
    copies = tuple(_copy(entry_id, fields, deliveries[entry_id]) for entry_id, fields in poison)
    return Sorted(kept, poison, copies)


def _copy(entry_id: str, fields: Mapping[str, str] | None, deliveries: int) -> dict[str, str]:
    """The dead-letter record of an entry: its fields (at most MAX_DEAD_LETTER_FIELDS of
    them), where it was, and how often it was delivered."""
    fields = fields or {}
    if len(fields) > MAX_DEAD_LETTER_FIELDS:
        log.warning(
            "refresh job %s has %d fields: its dead letter keeps the first %d",
            entry_id, len(fields), MAX_DEAD_LETTER_FIELDS,
        )  # fmt: skip
        fields = dict(list(fields.items())[:MAX_DEAD_LETTER_FIELDS])
    return {**fields, "job_entry": entry_id, "deliveries": str(deliveries)}


def log_set_aside(keys: ServiceKeys, count: int, max_deliveries: int) -> None:
    log.error(
        "set aside %d refresh jobs delivered over %d times: see %s",
        count,
        max_deliveries,
        keys.dead_letter,
    )
