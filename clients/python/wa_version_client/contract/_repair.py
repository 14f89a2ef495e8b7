"""Reading a state hash that may hold garbage, and knowing when its ordering can be trusted.

A hand-typed HSET, an old version of this service or a half-restored backup can leave
fields no parser accepts, or an epoch no clock could have written. Readers take what
decodes; an ordering (epoch, seq) that cannot be trusted is reset, so the next write
starts a new epoch every subscriber follows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wa_version_client.contract._clock import epoch_ms
from wa_version_client.contract._state import VersionState

log = logging.getLogger(__name__)


# How far ahead of this process's clock another writer's clock may be.
EPOCH_SKEW_MS = 5 * 60 * 1000


def plausible_epoch(epoch: int, now_ms: int | None = None) -> bool:
    """Whether `epoch` (ms) can be when a hash was first written: positive, not ahead of
    now by more than a clock skew. A forged epoch far ahead would make every subscriber
    ignore every real change."""
    now_ms = epoch_ms() if now_ms is None else now_ms
    return 0 < epoch <= now_ms + EPOCH_SKEW_MS


# The fields a subscriber orders by: if one is malformed, the next write starts afresh.
_ORDERING_FIELDS = frozenset({"string", "array", "seq", "epoch"})
_reported: set[str] = set()


def readable_state(raw: Mapping[Any, Any]) -> VersionState:
    """The state in `raw` (what HGETALL gave) as far as it decodes.

    A malformed field is logged (once per distinct problem) and left at its default. A
    malformed version, seq or epoch, or an epoch that is not a plausible past moment,
    makes the epoch 0: the next write starts a new epoch, which every subscriber follows,
    and readers meanwhile see no announcement to follow.
    """
    state, problems = VersionState.read_hash(raw)
    for problem in problems.values():
        if problem not in _reported:
            _reported.add(problem)
            log.warning("the stored version state has a malformed field: %s", problem)
    implausible = bool(state.epoch) and not plausible_epoch(state.epoch)
    if implausible and "epoch" not in problems:
        log.warning("the stored epoch %d is not a plausible past moment", state.epoch)
    if problems.keys() & _ORDERING_FIELDS or implausible:
        state = replace(state, seq=0, epoch=0)
    return state
