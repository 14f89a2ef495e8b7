"""The plan of a write: everything one write stores, announces, counts, answers and
acknowledges, as a value, made before anything is written.

    decide (shared/transitions.py) → plan (here) → write (shared/write_script.py)

`StateStore.commit` (shared/store.py) puts the three together; `StateStore.answer`
writes a plan with no state (answers alone: jobs that needed no fetch, set aside, or
not decodable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from shared.job_results import BatchResult, JobResult
from shared.metrics import NO_COUNTS, OLDER_UPSTREAM, Counts
from shared.transitions import Applied
from wa_version_client.contract import PublishedVersion, VersionState

# A job has four fields; an entry set aside keeps at most this many of its own, so that
# its copy is one bounded XADD whatever was put on the stream.
MAX_DEAD_LETTER_FIELDS = 100


@dataclass(frozen=True, slots=True)
class Reply:
    """What a write does for a batch of jobs, and what it counts.

    `job_ids` are answered (each under its own key for `result_ttl_ms`, and all in one
    message); `entry_ids` are acknowledged, answered or not (stale, undecodable); the
    `set_aside` entries are copied to the dead-letter stream.
    """

    job_ids: tuple[str, ...] = ()
    entry_ids: tuple[str, ...] = ()
    result_ttl_ms: int = 0
    counts: Counts = NO_COUNTS
    set_aside: tuple[Mapping[str, str], ...] = ()


NO_REPLY = Reply()


@dataclass(frozen=True, slots=True)
class Plan:
    """One write, whole; the script runs it section by section, in this order."""

    # The state (its rev one more than the stored one), stored only if the stored rev is
    # still `guard` (the text it was decided on); None: no state, nothing checked.
    state: VersionState | None
    guard: str
    announce: PublishedVersion | None  # a change: pushed to the history and published
    reannounce: PublishedVersion | None  # a change stored before but never announced
    reply: Reply
    answer: JobResult | None  # what every job in `reply.job_ids` is told

    @property
    def batch(self) -> BatchResult | None:
        """The one message that answers every job."""
        if self.answer is None or not self.reply.job_ids:
            return None
        return BatchResult(self.reply.job_ids, self.answer)


def plan_change(
    guard: str, applied: Applied, reply: Reply, unannounced: PublishedVersion | None
) -> Plan:
    """The write of `applied`, a decision made on the state stored with rev `guard`.

    Jobs answered with a state were answered by a fetch (`fetched_answer`). A fetch that
    found an older build than the stored one is counted. A change written earlier but
    never announced (NotReplicated) that is still the stored one is announced now, or
    subscribers would hear of it only at their next re-read.
    """
    counts = reply.counts + (OLDER_UPSTREAM if applied.older_upstream else NO_COUNTS)
    return Plan(
        state=applied.state,
        guard=guard,
        announce=applied.changed,
        reannounce=None if applied.changed else _still_owed(unannounced, applied.state),
        reply=replace(reply, counts=counts),
        answer=fetched_answer(applied) if reply.job_ids else None,
    )


def fetched_answer(applied: Applied) -> JobResult:
    """What jobs answered by a fetch are told: refreshed, the state as written, and the
    error the decision reports."""
    return JobResult(refreshed=True, error=applied.error, state=applied.state)


def plan_reply(reply: Reply, answer: JobResult | None) -> Plan:
    """A write of `reply` alone, every job told `answer`; no state, no rev to check."""
    return Plan(None, "", None, None, reply, answer if reply.job_ids else None)


def _still_owed(pending: PublishedVersion | None, state: VersionState) -> PublishedVersion | None:
    """`pending`, if `state` is still the state its change made."""
    if pending is None or pending.order != (state.epoch, state.seq):
        return None
    return pending if pending.version == state.version else None
