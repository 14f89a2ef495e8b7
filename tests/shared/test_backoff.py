"""Backoff spaces retries; Trouble logs them without flooding the log."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from wa_version_client._backoff import TESTING_CEILING
from wa_version_client.runtime import Backoff, Trouble, set_testing

log = logging.getLogger("tests.trouble")
# The delays as they are outside tests (the session cuts them short: tests/conftest.py).
pytestmark = pytest.mark.usefixtures("real_backoff")


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    """Each delay lies in [ceiling/2, ceiling], the ceiling doubling up to the maximum."""
    backoff = Backoff(initial=0.1, maximum=0.8)
    ceilings = [0.1, 0.2, 0.4, 0.8, 0.8]
    for ceiling in ceilings:
        assert ceiling / 2 <= backoff.next_delay() <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 0.1


def test_trouble_logs_the_cause_once_per_change_and_the_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ten identical failures make one line with Redis's words; a new cause one more;
    the recovery one line with the retry count."""
    trouble = Trouble(log, "the job loop")
    refused = RedisConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")
    with caplog.at_level(logging.INFO, logger="tests.trouble"):
        for _ in range(10):
            trouble.failed(refused, 0.5)
        trouble.failed(RedisConnectionError("Connection reset by peer"), 0.5)
        trouble.recovered()
        trouble.recovered()  # nothing to say when nothing failed
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "the job loop: ConnectionError: Error 111 connecting to 127.0.0.1:6399. "
        "Connection refused.; retrying in 0.50s",
        "the job loop: ConnectionError: Connection reset by peer; retrying in 0.50s",
        lines[2],
    ]
    assert lines[2].startswith("the job loop works again after ")
    assert lines[2].endswith("(11 retries)")


def test_trouble_shows_where_a_bug_happened_but_not_for_redis_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Redis error says all in its message; anything else carries its traceback."""
    trouble = Trouble(log, "the job loop")
    with caplog.at_level(logging.INFO, logger="tests.trouble"):
        trouble.failed(RedisConnectionError("gone"), 0.1)
        trouble.failed(KeyError("job_id"), 0.1)
    assert [record.exc_info is not None for record in caplog.records] == [False, True]


def test_the_delay_of_an_attempt_lies_between_half_its_ceiling_and_its_ceiling() -> None:
    """`delay(n)` draws from [c/2, c] with c = initial·2ⁿ capped at `maximum`; a huge n
    costs nothing (no overflow)."""
    backoff = Backoff(initial=0.1, maximum=1.0)
    for attempt, ceiling in [(0, 0.1), (1, 0.2), (3, 0.8), (4, 1.0), (10_000, 1.0)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not a constant


def test_testing_mode_cuts_every_delay_short_and_off_restores_the_schedule() -> None:
    """set_testing(True): each delay at most TESTING_CEILING, still jittered; False: the
    schedule as before."""
    backoff = Backoff(initial=0.1, maximum=1.0)
    set_testing(True)
    try:
        delays = [backoff.delay(attempt) for attempt in range(12) for _ in range(20)]
        assert all(TESTING_CEILING / 2 <= d <= TESTING_CEILING for d in delays)
        assert len(set(delays)) > 1
    finally:
        set_testing(False)
    assert 0.5 <= backoff.delay(10) <= 1.0
