"""How many connections the web holds, and for how long it waits on a client.

A held connection costs the process an open file. Without a bound, one address opening
connections faster than the deadlines close them takes every file the process may open,
and then every other client's connection fails. So the web counts the connections it
holds, in all and per peer address, and answers one over either limit with a 503 and
closes it at once (api/protocol.py does, as a connection opens).

The per-address count is by TCP peer, bucketed as api/client_address.py buckets it
(an IPv6 /64 counts as one address): a file descriptor belongs to a socket, and the
socket's peer is the one address nobody forges. Behind trusted proxies
(TRUSTED_PROXY_HOPS > 0) every peer is a proxy carrying many clients, so only the total
applies there; the proxies bound their own clients.

Nothing here knows uvicorn: the protocol finds the guard in the lifespan state, under
GUARD_KEY, and asks it.
"""

from __future__ import annotations

import logging
import math
import resource
import time
from collections import Counter
from dataclasses import dataclass

from api.client_address import bucket
from shared.settings import Settings

log = logging.getLogger(__name__)

GUARD_KEY = "connection_guard"
# Open files the process keeps for itself beyond its clients' connections: Redis, the
# listening socket, logs, imports.
RESERVED_FILES = 100
# Refusals are logged at most this often (seconds), with how many there were: a flood of
# connections must not become a flood of log lines.
LOG_REFUSALS_EVERY = 10.0
_DEFAULTS = Settings()


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The deadlines and the bounds, from the settings (see shared/settings.py); their
    defaults are the settings' (without a lifespan, api/protocol.py uses them)."""

    header_timeout: float = _DEFAULTS.header_timeout
    body_timeout: float = _DEFAULTS.body_timeout
    max_connections: int = _DEFAULTS.max_connections
    # 0: no per-address limit.
    max_per_address: int = _DEFAULTS.max_connections_per_address

    @classmethod
    def for_settings(cls, settings: Settings) -> ConnectionLimits:
        """The settings' limits, the total lowered to fit the process's open-file limit."""
        per_address = 0 if settings.trusted_proxy_hops else settings.max_connections_per_address
        return cls(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            max_connections=fitting_open_files(settings.max_connections),
            max_per_address=per_address,
        )


def fitting_open_files(wanted: int) -> int:
    """`wanted`, or fewer if the open-file limit (soft) would not leave room for it."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or wanted + RESERVED_FILES <= soft:
        return wanted
    fitting = max(1, soft - RESERVED_FILES)
    log.warning(
        "MAX_CONNECTIONS=%d does not fit the open-file limit of %d: %d connections at most",
        wanted,
        soft,
        fitting,
    )
    return fitting


class ConnectionGuard:
    """The connections held now, in all and per address; admits or refuses a new one."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._total = 0
        self._per_address: Counter[str] = Counter()
        self._refused_unlogged = 0
        self._logged_at = -math.inf

    @property
    def held(self) -> int:
        return self._total

    def admit(self, peer: str | None) -> str | None:
        """Count a new connection from `peer` and return its address key; None (and
        nothing counted) when it is over a limit."""
        address = bucket(peer or "")
        limits = self.limits
        if self._total >= limits.max_connections:
            return None
        if limits.max_per_address and self._per_address[address] >= limits.max_per_address:
            return None
        self._total += 1
        self._per_address[address] += 1
        return address

    def release(self, address: str) -> None:
        """A connection `admit` counted has closed."""
        self._total -= 1
        self._per_address[address] -= 1
        if self._per_address[address] <= 0:
            del self._per_address[address]  # the map holds open connections' addresses only

    def refusal(self, peer: str | None) -> str:
        """Why a connection from `peer` was refused, for its 503; logged now and then."""
        if self._total >= self.limits.max_connections:
            reason = f"the server holds {self.limits.max_connections} connections, its limit"
        else:
            reason = (
                f"{bucket(peer or '')} holds {self.limits.max_per_address} connections, "
                "the limit per address"
            )
        self._refused_unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_REFUSALS_EVERY:
            log.warning("refused %d connection(s), the last: %s", self._refused_unlogged, reason)
            self._refused_unlogged, self._logged_at = 0, now
        return reason
