"""What a batch of jobs gets: which jobs still matter, the reply written for them, and
the log line of the answer."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from shared.job_results import JobResult
from shared.metrics import NO_COUNTS, Counts
from shared.plan import Reply
from wa_version_client.contract import RefreshJob, epoch_ms
from worker.refresher import Outcome
from worker.stream import Entry

log = logging.getLogger("worker.consumer")  # the consumer's lines, wherever they are made

# Job ids per log line: a line stays a few KB (ids and request ids are bounded by the
# contract), under what log shippers split or drop (Heroku's: 10 KB).
LOG_IDS_PER_LINE = 50


def live(jobs: Sequence[RefreshJob]) -> list[RefreshJob]:
    """The jobs someone still waits for; the others are acknowledged without an answer."""
    now_ms = epoch_ms()
    live = [job for job in jobs if job.deadline_ms > now_ms]
    if len(live) < len(jobs):
        log.info("dropping %d refresh jobs nobody waits for any more", len(jobs) - len(live))
    return live


def reply_to(
    entries: Sequence[Entry],
    jobs: Sequence[RefreshJob],
    result_ttl: float,
    *,
    counts: Counts = NO_COUNTS,
    set_aside: tuple[dict[str, str], ...] = (),
) -> Reply:
    """The reply that answers `jobs` (each answer kept `result_ttl` seconds) and
    acknowledges every one of `entries`, whether it held a job to answer or not."""
    return Reply(
        job_ids=tuple(job.job_id for job in jobs),
        entry_ids=tuple(entry_id for entry_id, _ in entries),
        result_ttl_ms=int(result_ttl * 1000),
        counts=counts,
        set_aside=set_aside,
    )


def said(outcome: Outcome, result: JobResult) -> str:
    """What a fetch did, in the words of the log: fetched ok (and what came of it), or failed."""
    if outcome.fetched is None:
        return f"fetch failed: {outcome.error}"
    got, held = outcome.fetched.version, result.state.version
    if result.state.pinned:
        return f"fetched ok: {got} from {outcome.fetched.source}; pinned to {held}, not applied"
    if held is not None and got < held:
        return f"fetched ok: {got} from {outcome.fetched.source}, older than {held}; kept {held}"
    return f"fetched ok: {got} from {outcome.fetched.source}"


def log_answer(said: str, jobs: Sequence[RefreshJob]) -> None:
    """`said` and the jobs answered: their ids in lines of LOG_IDS_PER_LINE (every id
    stays in the log, and no line grows with the batch)."""
    log_jobs(f"{said}; answered {len(jobs)} refresh jobs", jobs)


def log_answered_more(jobs: Sequence[RefreshJob]) -> None:
    """Jobs answered by the fetch before, queued before it began."""
    log_jobs(f"answered {len(jobs)} more refresh jobs queued before that fetch", jobs)


def log_jobs(event: str, jobs: Sequence[RefreshJob]) -> None:
    for start in range(0, max(len(jobs), 1), LOG_IDS_PER_LINE):
        some = jobs[start : start + LOG_IDS_PER_LINE]
        log.info(
            event if start == 0 else f"{event} (continued)",
            extra={
                "job_ids": [job.job_id for job in some],
                "request_ids": [job.request_id for job in some if job.request_id],
            },
        )
