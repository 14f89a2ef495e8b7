"""The admin secret check, and the brake on guessing it.

A client (by address) that fails authentication more than `limit` times within
`window` seconds gets 429 for the rest of the window, whatever it sends: the block is
checked before the secret, so a guesser learns nothing more. Failures are counted in
Redis, shared by every web process; each process also remembers the clients it saw
blocked, so a correct request costs no Redis call.
"""

from __future__ import annotations

import hmac
import logging
import math
import time

from redis.exceptions import RedisError
from starlette.requests import Request

from api.envelope import ApiError
from shared.keys import ServiceKeys
from wa_version_client.deployment import RedisClient, describe

log = logging.getLogger(__name__)

SECRET_HEADER = "x-admin-secret"
# Optional whitespace around a header value (RFC 9110 §5.5): spaces and tabs.
OWS = " \t"
# Clients this process remembers as blocked, at most; beyond, it asks Redis again.
MAX_REMEMBERED = 10_000

# Count a failure; start the window with the first one. Returns {count, ms left}.
_COUNT_FAILURE = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""


class FailedAuthLimiter:
    """Counts failed authentications per client; says how long a client is blocked."""

    def __init__(self, redis: RedisClient, keys: ServiceKeys, *, limit: int, window: float) -> None:
        self._keys = keys
        self._limit = limit
        self._window_ms = int(window * 1000)
        self._count = redis.register_script(_COUNT_FAILURE)
        self._blocked_until: dict[str, float] = {}

    def blocked_for(self, client: str) -> float:
        """Seconds `client` stays blocked, as this process knows it; 0 if not blocked.

        `client` is a bucket from api/client_address.py: bounded in size, not chosen by
        the client.
        """
        until = self._blocked_until.get(client)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._blocked_until[client]
            return 0.0
        return left

    async def record_failure(self, client: str) -> float:
        """Count a failure; seconds `client` is now blocked (0 while under the limit)."""
        try:
            count, left_ms = await self._count(
                [self._keys.auth_failures(client)], [self._window_ms]
            )
        except RedisError as exc:
            log.warning("cannot count a failed authentication: %s", describe(exc))
            return 0.0
        if int(count) <= self._limit:
            return 0.0
        left = max(0, int(left_ms)) / 1000
        self._remember_blocked(client, time.monotonic() + left)
        return left

    def _remember_blocked(self, client: str, until: float) -> None:
        """Note `client` as blocked; the memory of it is bounded (Redis keeps the truth)."""
        if len(self._blocked_until) >= MAX_REMEMBERED:
            now = time.monotonic()
            self._blocked_until = {c: u for c, u in self._blocked_until.items() if u > now}
            while len(self._blocked_until) >= MAX_REMEMBERED:  # the oldest noted go first
                del self._blocked_until[next(iter(self._blocked_until))]
        self._blocked_until[client] = until


class AdminAuth:
    """Accepts the current secret or, during a rotation, the previous one; for metrics,
    also the metrics token as a bearer token."""

    def __init__(
        self, secrets: tuple[str, ...], limiter: FailedAuthLimiter, metrics_token: str = ""
    ) -> None:
        # RFC 9110: whitespace around a field value is not part of it, on either side.
        self._secrets = tuple(s.strip(OWS).encode() for s in secrets if s.strip(OWS))
        self._limiter = limiter
        token = metrics_token.strip(OWS)
        self._metrics_bearer = f"Bearer {token}".encode() if token else b""

    async def require(self, request: Request, *, metrics: bool = False) -> None:
        """Raise a 429 or 401 `ApiError` unless the request may use the admin API."""
        client = _client(request)
        self._check_not_blocked(client)
        if metrics and self._metrics_bearer:
            offered = request.headers.get("authorization", "").strip(OWS).encode("latin-1")
            if hmac.compare_digest(offered, self._metrics_bearer):
                return
        # Headers arrive decoded as latin-1; encoding back gives the bytes the client sent.
        if not self._matches(request.headers.get(SECRET_HEADER, "").encode("latin-1")):
            await self._failed(client)

    async def require_login(self, request: Request, offered: str) -> None:
        """The same check for the admin page's login form (`offered`: its `secret` field):
        a wrong one counts in the same brake, by the same client address."""
        client = _client(request)
        self._check_not_blocked(client)
        if not self._matches(offered.encode()):
            await self._failed(client)

    def _check_not_blocked(self, client: str) -> None:
        if blocked := self._limiter.blocked_for(client):
            raise _too_many(blocked)

    async def _failed(self, client: str) -> None:
        """Count a failure: 429 once `client` is blocked, else 401."""
        if blocked := await self._limiter.record_failure(client):
            log.warning("blocking %s after repeated failed authentication", client)
            raise _too_many(blocked)
        raise ApiError(401, "Invalid or missing authentication")

    def _matches(self, offered: bytes) -> bool:
        offered = offered.strip(OWS.encode())
        # Compare with every accepted secret, in constant time, without stopping early:
        # the answer's timing then says nothing about which secret, or how much, matched.
        matched = False
        for secret in self._secrets:
            matched |= hmac.compare_digest(offered, secret)
        return matched


def _client(request: Request) -> str:
    """The client's bucket (api/client_address.py), which the brake counts by."""
    return request.client.host if request.client else "unknown"


def _too_many(seconds: float) -> ApiError:
    return ApiError(
        429,
        "too many failed authentication attempts; try again later",
        headers={"Retry-After": str(max(1, math.ceil(seconds)))},
    )
