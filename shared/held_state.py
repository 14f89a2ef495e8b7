"""The version state as a web process holds it: GET of the state and force=false answer
from it instead of reading the hash per request.

A copy is only as good as the word of every write, so:

- every write of the hash (shared/write_script.py, the service's only writer) publishes
  the new rev on `keys.state_changed` in the same script as its HSET. The web hears it on
  the subscription it holds for the jobs' answers (shared/results.py), so ahead of the
  answer to the job whose write it announces. A notification, or a write this process
  made itself, drops the copy: the next request reads Redis and keeps what it read;
- after each (re)subscription the hash is read again, on the subscription's connection;
- while the subscription is down (Redis away, a reconnection under way), or before it
  has been read after, nothing is answered from the copy: requests read Redis as they
  would without it;
- a read is kept only if no notification came while it ran (a read from a pooled
  connection may have been served before the write a notification announces);
- a copy older than `max_age` is read again: a hash written by hand (or by a worker of an
  older release during a rolling deploy), which nobody announces, shows within that.

So an answer is never older than a read of Redis would give by more than the pub/sub
delay; for a write by hand, by more than `max_age`.
"""

from __future__ import annotations

import logging
import time

from shared.keys import ServiceKeys
from wa_version_client.contract import VersionState, readable_state
from wa_version_client.deployment import RedisClient, Subscription, read_state

log = logging.getLogger(__name__)

# Seconds a copy is answered from without a read; bounds what an unannounced write costs.
MAX_AGE = 1.0


class HeldState:
    """The state as last read while the subscription heard of every write since."""

    def __init__(
        self, redis: RedisClient, keys: ServiceKeys, *, max_age: float | None = None
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._max_age = MAX_AGE if max_age is None else max_age
        self._copy: VersionState | None = None
        self._read_at = 0.0  # time.monotonic() when the read that made the copy began
        self._changes = 0  # writes heard of: a read that spans one is not kept
        self._subscription: Subscription | None = None
        # (subscriptions, losses) of the subscription once the hash was read after it was
        # made: the copy is answered from while both are still the same.
        self._up: tuple[int, int] | None = None

    @property
    def channel(self) -> str:
        return self._keys.state_changed

    def changed(self) -> None:
        """The hash was written (or may have been): drop the copy; a read under way is
        not kept."""
        self._changes += 1
        self._copy = None

    def on_message(self, data: str) -> None:
        """A notification; its rev is only checked: any message says the hash changed."""
        if not (data.isascii() and data.isdigit()):
            log.warning("a %s message is not a rev: %.80r", self.channel, data)
        self.changed()

    async def resubscribed(self, subscription: Subscription) -> None:
        """Read the hash after each (re)subscription, on its connection: whatever is
        written from then on is heard of."""
        self._subscription = subscription
        losses, changes, began = subscription.losses, self._changes, time.monotonic()
        raw = await subscription.command("HGETALL", self._keys.version)
        # Its reply follows the subscription's confirmation: counted by now.
        self._up = (subscription.subscriptions, losses)
        self._keep(readable_state(raw), self._up, changes, began)

    async def current(self) -> VersionState:
        """The stored state: the copy while it is known to be current, else read now."""
        listening, now = self._listening(), time.monotonic()
        if self._copy is not None and listening is not None and now - self._read_at < self._max_age:
            return self._copy
        changes = self._changes
        state = await read_state(self._redis, self._keys)
        if listening is not None:
            self._keep(state, listening, changes, now)
        return state

    def _listening(self) -> tuple[int, int] | None:
        """The subscription's (subscriptions, losses) while it is up and was read after
        it came up; None otherwise."""
        sub = self._subscription
        if sub is None or self._up != (sub.subscriptions, sub.losses):
            return None
        return self._up

    def _keep(
        self, state: VersionState, listening: tuple[int, int], changes: int, began: float
    ) -> None:
        """Hold `state`, read from `began` on, unless a write was heard of meanwhile or
        the subscription it was read under is gone."""
        if changes == self._changes and self._listening() == listening:
            self._copy, self._read_at = state, began
