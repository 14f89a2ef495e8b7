"""RefreshClient: asking for a refresh and awaiting its answer, bounded by REFRESH_WAIT."""

from __future__ import annotations

import time

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from devtools.embedded import RedisServer
from devtools.tcp_proxy import TcpProxy
from shared.keys import ServiceKeys
from shared.refresh_client import refresh_client
from tests.conftest import SettingsFactory
from tests.support import wait_until
from wa_version_client.deployment import connect

pytestmark = pytest.mark.server_sensitive


async def test_a_redis_that_hangs_costs_the_caller_the_wait_and_no_more(
    redis_server: RedisServer, keys: ServiceKeys, make_settings: SettingsFactory
) -> None:
    """Redis frozen (connections open, no byte through, as a stalled primary before a
    failover): the call gives up once REFRESH_WAIT is spent, with a Redis TimeoutError (a
    503), instead of waiting out the 5 s socket timeout and then REFRESH_WAIT again."""
    proxy = await TcpProxy(redis_server.port).start()
    settings = make_settings(redis_url=proxy.url, refresh_wait=0.5, refresh_deadline=0.2)
    redis = connect(proxy.url)
    try:
        async with refresh_client(redis, keys, settings) as client:
            await wait_until(lambda: client.waiter.subscription.subscriptions >= 1)
            proxy.freeze()
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError, match="did not take the refresh job"):
                await client.enqueue_and_wait(force=True)
            assert time.monotonic() - started < 2.0  # far below the 5 s socket timeout
    finally:
        await proxy.stop()
        await redis.aclose()
