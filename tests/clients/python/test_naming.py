"""ConnectionNaming: a lost connection never fails a rename, nor leaves an unheard task."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from devtools.waiting import wait_until
from wa_version_client._deployment import Subscription
from wa_version_client._naming import ConnectionNaming
from wa_version_client._subscribed import NotConnected


class LosingSubscription:
    """A subscription whose connection is lost as a rename is sent."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.asked: list[str] = []

    async def rename(self, name: str) -> None:
        self.asked.append(name)
        raise self.error


@pytest.mark.parametrize(
    "error",
    [NotConnected(), RedisConnectionError("the connection was lost"), RedisTimeoutError("t")],
    ids=type,
)
async def test_a_rename_on_a_lost_connection_is_left_for_the_next_subscription(
    error: Exception, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wa_version_client._naming.RENAME_DELAY_MIN", 0.0)
    monkeypatch.setattr("wa_version_client._naming.RENAME_DELAY_MAX", 0.0)
    subscription = LosingSubscription(error)
    naming = ConnectionNaming(cast(Subscription, subscription), "gw-1", "python")
    unheard: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: unheard.append(context))
    with caplog.at_level(logging.WARNING):
        await naming.name(None)  # after a subscription: raises nothing
        naming.rename_soon(lambda: None)  # after a change: a timer, then a task of its own
        await wait_until(lambda: len(subscription.asked) == 2)
        await naming.aclose()  # the rename's task done: what it raised would be heard now
    assert subscription.asked == ["wav1:gw-1:python:-", "wav1:gw-1:python:-"]
    assert unheard == []
    assert caplog.records == []
