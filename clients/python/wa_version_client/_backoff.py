"""How loops that talk to Redis wait before trying again, and how they say why.

`Backoff` spaces the attempts; `Trouble` logs them without flooding the log: the first
failure with its cause, each change of cause, and the recovery, but not every retry of
an hour-long outage. `set_testing(True)` shortens every delay, for test suites.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from redis.exceptions import RedisError

from wa_version_client._connection import describe

# The longest delay while `set_testing(True)`: a test waits out no schedule meant for
# production, and a loop that retries for ever still pauses between tries rather than
# spinning on a refused connection. The tests poll their conditions as often.
TESTING_CEILING = 0.01

_testing = False


def set_testing(testing: bool) -> None:
    """For test suites only: with `True` every Backoff's delay is cut to at most
    TESTING_CEILING (still jittered); `False` restores the schedule. Off unless called."""
    global _testing
    _testing = testing


@dataclass
class Backoff:
    """Each `next_delay()` waits up to twice as long as the last, capped; `reset()` after success.

    The jitter (a uniform draw between half the ceiling and the ceiling) keeps many
    processes that lost Redis at the same moment from reconnecting in lockstep, while
    never retrying much sooner than the schedule says.
    """

    initial: float = 0.05
    maximum: float = 2.0
    _attempt: int = 0

    def next_delay(self) -> float:
        delay = self.delay(self._attempt)
        self._attempt += 1
        return delay

    def delay(self, attempt: int) -> float:
        """The wait after failure number `attempt` (0 for the first), drawn anew each call."""
        ceiling = min(self.maximum, self.initial * 2 ** min(attempt, 64))
        if _testing:
            ceiling = min(ceiling, TESTING_CEILING)
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._attempt = 0


class Trouble:
    """The log of one loop's failures: `failed(exc, retry_in)` on each, `recovered()` after."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what  # e.g. "the job loop"
        self._cause = ""
        self._since = 0.0
        self.failures = 0  # how many failures since the last recovery

    def failed(self, error: BaseException, retry_in: float) -> None:
        cause = describe(error)
        if not self._cause:
            self._since = time.monotonic()
        if cause != self._cause:
            # A Redis error says all in its message; anything else is a bug: show where.
            where = None if isinstance(error, RedisError) else error
            self._log.warning(
                "%s: %s; retrying in %.2fs", self._what, cause, retry_in, exc_info=where
            )
            self._cause = cause
        self.failures += 1

    def recovered(self) -> None:
        if self._cause:
            took = time.monotonic() - self._since
            self._log.info(
                "%s works again after %.1fs (%d retries)", self._what, took, self.failures
            )
        self._cause = ""
        self.failures = 0
