"""The plan of a write, a value: what a decision and a reply make, before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime

from shared import transitions
from shared.job_results import JobResult
from shared.metrics import Counts
from shared.plan import Reply, plan_change, plan_reply
from wa_version_client.contract import VersionState, WAVersion

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STORED = VersionState(version=WAVersion(2, 3000, 5), seq=2, epoch=1, rev=7)
REPLY = Reply(("job-1", "job-2"), ("1-0", "2-0"), 60_000, Counts((("jobs_fetched", 1),)))


def test_a_change_is_announced_and_its_jobs_told_what_the_fetch_made() -> None:
    applied = transitions.fetched(STORED, WAVersion(2, 3000, 6), NOW, source="s")
    plan = plan_change("7", applied, REPLY, None)
    assert (plan.state, plan.guard, plan.announce) == (applied.state, "7", applied.changed)
    assert plan.reannounce is None
    assert plan.answer == JobResult(refreshed=True, error="", state=applied.state)
    assert plan.batch is not None
    assert plan.batch.job_ids == ("job-1", "job-2")
    assert plan.reply.entry_ids == ("1-0", "2-0")


def test_an_older_build_is_counted_with_the_reply() -> None:
    """Upstream serving an older build (a rollout) keeps the version and counts it."""
    applied = transitions.fetched(STORED, WAVersion(2, 3000, 4), NOW, source="s")
    plan = plan_change("7", applied, REPLY, None)
    assert plan.announce is None
    assert plan.reply.counts.whole == (("jobs_fetched", 1), ("fetches_older", 1))


def test_a_change_never_announced_is_owed_while_it_is_the_stored_one() -> None:
    """A change written but not announced (NotReplicated) rides with the next write that
    keeps it; once another change replaced it, it is owed no more."""
    owed = transitions.fetched(STORED, WAVersion(2, 3000, 6), NOW, source="s")
    assert owed.changed is not None
    same = transitions.failed(owed.state, "HTTP 503", NOW)
    assert plan_change("8", same, Reply(), owed.changed).reannounce == owed.changed
    newer = transitions.fetched(owed.state, WAVersion(2, 3000, 9), NOW, source="s")
    plan = plan_change("8", newer, Reply(), owed.changed)
    assert (plan.announce, plan.reannounce) == (newer.changed, None)


def test_a_reply_alone_writes_no_state_and_checks_nothing() -> None:
    told = JobResult(refreshed=False, error="", state=STORED)
    plan = plan_reply(REPLY, told)
    assert (plan.state, plan.guard, plan.announce, plan.answer) == (None, "", None, told)
    acknowledged_only = plan_reply(Reply(entry_ids=("3-0",)), None)
    assert (acknowledged_only.answer, acknowledged_only.batch) == (None, None)
