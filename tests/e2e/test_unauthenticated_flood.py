"""1,000 unauthenticated requests at once against the real web process: its Redis
connections stay within WEB_REDIS_CONNECTIONS, and every request is answered (a request
waiting for a pooled connection gets its 401, not a 500)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from redis.asyncio import Redis

from devtools.flood import REFRESH, flood
from tests.e2e.processes import Process

pytestmark = pytest.mark.slow

REQUESTS = 1000
POOL = 4


async def redis_connections(redis: Redis) -> tuple[int, int]:
    """Connections open now, and connections the server accepted since it started."""
    clients, stats = await redis.info("clients"), await redis.info("stats")
    return int(clients["connected_clients"]), int(stats["total_connections_received"])


@pytest.mark.server_sensitive
async def test_a_thousand_unauthenticated_requests_use_a_bounded_redis_pool(
    start_web: Callable[..., Process], redis: Redis
) -> None:
    """Behind one trusted proxy, 1,000 wrong guesses at once, each forwarded for an
    address of its own (so each is counted in Redis): every one answered 401, and the
    web opens at most WEB_REDIS_CONNECTIONS connections to Redis for them."""
    web = start_web(TRUSTED_PROXY_HOPS="1", WEB_REDIS_CONNECTIONS=str(POOL))
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        # The pool's first connection, and the result subscription, opened before.
        assert (await client.post(REFRESH, headers={"X-Admin-Secret": "no"})).status_code == 401
    open_before, accepted_before = await redis_connections(redis)
    answers = await flood(int(web.base_url.rsplit(":", 1)[1]), REQUESTS)
    open_after, accepted_after = await redis_connections(redis)
    assert Counter(status for status, _ in answers) == {401: REQUESTS}
    # redis-py's pool keeps what it opened: what is open after is the peak.
    assert open_after - open_before <= POOL - 1
    assert accepted_after - accepted_before <= POOL - 1
