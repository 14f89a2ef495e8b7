"""Exponential backoff with full jitter, for loops that reconnect to Redis."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    """Each `next_delay()` waits up to twice as long as the last, capped; `reset()` after success.

    Full jitter (a uniform draw below the cap) keeps many processes that lost Redis at the
    same moment from reconnecting in lockstep.
    """

    initial: float = 0.05
    maximum: float = 2.0
    _attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2**self._attempt)
        self._attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._attempt = 0
