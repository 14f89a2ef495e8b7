"""Gathering the jobs one fetch answers: a burst read to its end, and jobs that arrive
while the fetch is under way.

Waiting before a fetch starts makes its answer fresher, never staler: every job it
answers was enqueued before it began.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from wa_version_client.runtime import cancel_and_wait
from worker.refresher import Outcome
from worker.stream import MAX_BATCH, Entry, JobStream

# A burst of jobs is taken to be over when none arrives for this long...
BURST_PAUSE_MS = 20
# ...or after this long, so a steady stream of jobs still gets fetches.
MAX_LINGER = 0.25

Fetch = Callable[[], Coroutine[Any, Any, Outcome]]


async def rest_of_burst(stream: JobStream, entries: list[Entry]) -> list[Entry]:
    """`entries` and those that follow until arrivals pause (no job for BURST_PAUSE_MS),
    at most MAX_LINGER seconds. Called with more than one job in hand: a lone job is
    fetched for at once."""
    give_up = time.monotonic() + MAX_LINGER
    while len(entries) < MAX_BATCH and time.monotonic() < give_up:
        more = await stream.read(block_ms=BURST_PAUSE_MS, limit=MAX_BATCH - len(entries))
        if not more:
            break
        entries.extend(more)
    return entries


@dataclass(frozen=True, slots=True)
class Joined:
    """A fetch's outcome, the jobs that joined it, and a read still under way at its end."""

    outcome: Outcome
    entries: list[Entry]
    reading: asyncio.Task[list[Entry]] | None


async def fetch_joining(stream: JobStream, fetch: Fetch, room: int = MAX_BATCH) -> Joined:
    """Fetch once; jobs that arrive while the fetch is under way join it, `room` at most.

    A read that returned before the fetch ended holds only jobs enqueued before it
    ended: those are answered by it. A read still under way when the fetch ends may
    return later jobs: it is handed back, not cancelled (what Redis delivered to it would
    be left pending), and its jobs make the next batch, answered by a later fetch.
    """
    fetching = asyncio.create_task(fetch(), name="upstream-fetch")
    joined: list[Entry] = []
    reading: asyncio.Task[list[Entry]] | None = None
    try:
        while len(joined) < room:
            read = stream.read(limit=room - len(joined))
            reading = asyncio.create_task(read, name="job-read")
            await asyncio.wait({fetching, reading}, return_when=asyncio.FIRST_COMPLETED)
            if fetching.done() or reading.exception() is not None:
                break  # the caller takes this read's jobs, or its error, next
            joined.extend(reading.result())
            reading = None
        return Joined(await fetching, joined, reading)
    except BaseException:
        await cancel_and_wait(fetching, *([reading] if reading else []))
        raise
