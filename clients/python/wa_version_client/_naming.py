"""A subscriber names its subscribed connection after what it holds (the fleet).

The name (wa_version_client.contract._manager_name) is set with CLIENT SETNAME on the
subscribed connection itself: at once after each subscription (a new connection has no
name), and after each change of the version held once a random RENAME_DELAY_MIN to
RENAME_DELAY_MAX seconds have passed, so that thousands of managers renaming never crowd
the delivery of the change itself. It is no write, so a subscriber reading from a
replica names its connection on the replica, and it opens no connection. A RESP3
subscribed connection may run it (Redis 6.2 and later, Valkey); a RESP2 one may not,
and the server refuses it: logged once, and the subscriber carries on unnamed. A
subscriber made with no client (the service's own, api/app.py) leaves its connection
unnamed: it is no manager, so the fleet does not count it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wa_version_client._deployment import Subscription
from wa_version_client._held import HeldVersion
from wa_version_client._subscribed import NotConnected
from wa_version_client._tasks import cancel_and_wait
from wa_version_client.contract._manager_name import (
    RENAME_DELAY_MAX,
    RENAME_DELAY_MIN,
    ManagerName,
    default_manager_id,
)
from wa_version_client.contract._published import PublishedVersion

log = logging.getLogger(__name__)


class ConnectionNaming:
    """Names `subscription`'s connection `wav1:<manager id>:<client>:<version held>`;
    with no `client`, never."""

    def __init__(
        self, subscription: Subscription, manager_id: str | None, client: str | None
    ) -> None:
        self._subscription = subscription
        self._named = client is not None
        self._blank = ManagerName(manager_id or default_manager_id(), client or "python", None)
        self._refused = False  # the server refused a name once: said once, not again
        self._timer: asyncio.TimerHandle | None = None  # a rename to come (rename_soon)
        self._renaming: asyncio.Task[None] | None = None  # a rename under way

    @property
    def manager_id(self) -> str:
        return self._blank.manager_id

    def follow(self, held: HeldVersion) -> None:
        """Rename after each change `held` applies: once the manager's own callbacks have
        run (HeldVersion.once_applied), a moment later (rename_soon)."""
        held.once_applied(lambda old, new: self.rename_soon(lambda: held.current))

    def rename_soon(self, held: Callable[[], PublishedVersion | None]) -> None:
        """After a change: rename once, a random RENAME_DELAY_MIN to RENAME_DELAY_MAX
        seconds from now, after what is `held()` then (later changes meanwhile share it).

        A timer, not a task, until then: a process holding 1,250 subscribers (bench.fanout)
        made 1,250 tasks as the change arrived; a timer handle costs next to nothing."""
        if self._named and self._timer is None and not self._renaming_now():
            delay = random.uniform(RENAME_DELAY_MIN, RENAME_DELAY_MAX)
            self._timer = asyncio.get_running_loop().call_later(delay, self._rename, held)

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._renaming is not None:
            await cancel_and_wait(self._renaming)

    def _renaming_now(self) -> bool:
        return self._renaming is not None and not self._renaming.done()

    def _rename(self, held: Callable[[], PublishedVersion | None]) -> None:
        self._timer = None
        self._renaming = asyncio.create_task(self._name_logging(held()), name="rename")

    async def _name_logging(self, held: PublishedVersion | None) -> None:
        try:
            await self.name(held)
        except Exception:  # a task of its own: nobody else would hear of it
            log.exception("renaming the subscribed connection failed")

    async def name(self, held: PublishedVersion | None) -> None:
        """Name the connection after `held`; a lost connection is named again once it is
        back (the subscription calls after each subscription)."""
        if not self._named:
            return
        version = None if held is None else held.version
        name = ManagerName(self._blank.manager_id, self._blank.client, version).encode()
        try:
            await self._subscription.rename(name)
        except (NotConnected, RedisConnectionError, RedisTimeoutError):
            pass  # lost, or lost meanwhile: named again after the next subscription
        except ResponseError as exc:
            if not self._refused:
                log.warning("naming the subscribed connection failed (not in the fleet): %s", exc)
            self._refused = True
