"""A subscription that also reads: one Redis connection per subscriber.

In RESP3 (the protocol redis-py 8 speaks by default, and every server from Redis 6 on)
a subscribed connection still runs ordinary commands: the server's messages arrive as
push frames between the replies. So a subscriber can subscribe and read the hash on the
same socket, and hold one connection where redis-py's PubSub plus a pooled client for
reads hold two. A fleet of 5,000 managers is then 5,000 connections, not 10,000.

redis-py's PubSub cannot share its connection this way (it takes every reply for a
message), so `SubscribedConnection` drives a redis-py connection itself: one reader task
hands each push to the subscription and each reply to the oldest command waiting for
one. Redis answers a connection's commands in the order they were sent, so replies and
waiting commands pair up in order.

A read sent right after SUBSCRIBE on the same socket runs after the subscription is in
place, so it needs no round trip to wait for the confirmation: whatever it does not see
is published later, to a connection already subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError

from wa_version_client import _redis_compat as compat
from wa_version_client._backoff import Backoff, Trouble
from wa_version_client._deployment import OnMessage, OnSubscribed

log = logging.getLogger(__name__)


class NotConnected(RedisConnectionError):
    """A command was asked of a subscription that holds no connection right now: it was
    not sent, so it can be sent elsewhere."""


class _Session:
    """One live connection: commands sent in order, replies and pushes read by `read()`."""

    def __init__(self, connection: AbstractConnection, on_push: Callable[[list[Any]], None]):
        self._connection = connection
        self._on_push = on_push
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._sending = asyncio.Lock()
        self.heard = time.monotonic()  # when the server last said anything
        self.silence: RedisConnectionError | None = None  # why `close()` was called
        self.ended = False  # set by fail_waiting: nothing may be sent any more
        # Every push frame, of any type, goes to `on_push`; the reader gets this marker
        # in its place, never a frame it could take for a command's reply.
        self._pushed = compat.take_every_push(connection, on_push)

    async def send(self, *args: str) -> None:
        """Send a command whose answer is pushes only (SUBSCRIBE)."""
        async with self._sending:
            self._check_open()
            await self._connection.send_command(*args, check_health=False)

    async def command(self, *args: str) -> Any:
        """Send a command and return its reply (raise the error Redis answered)."""
        reply = asyncio.get_running_loop().create_future()
        async with self._sending:  # the order of `_waiting` is the order on the wire
            self._check_open()
            self._waiting.append(reply)
            await self._connection.send_command(*args, check_health=False)
        return await reply

    def _check_open(self) -> None:
        """Refuse to send once the session ended or its socket closed: redis-py would
        quietly connect again and send on a socket whose replies nobody reads."""
        if self.ended or not self._connection.is_connected:
            raise NotConnected("the subscription's connection was lost")

    async def read(self) -> None:
        """Read forever: pushes to `on_push`, replies to the commands waiting; raise when
        the connection fails."""
        while True:
            try:
                reply = await self._connection.read_response(timeout=math.inf, push_request=True)
            except ResponseError as error:  # an error reply: the command's, not the socket's
                reply = error
            self.heard = time.monotonic()
            if reply is self._pushed:
                continue
            if not self._waiting:
                raise InvalidResponse("Redis sent a reply to no command")
            waiting = self._waiting.popleft()
            if waiting.done():  # its caller gave up (cancelled)
                continue
            if isinstance(reply, ResponseError):
                waiting.set_exception(reply)
            else:
                waiting.set_result(reply)

    def abort(self) -> None:
        """Drop the connection under the reader, which then fails. An abort, not a close:
        a close first flushes what is buffered, which a silent server never takes."""
        writer = compat.socket_writer(self._connection)
        if writer is not None:
            writer.transport.abort()

    def fail_waiting(self) -> None:
        self.ended = True
        while self._waiting:
            waiting = self._waiting.popleft()
            if not waiting.done():
                # Not NotConnected: the command may have run before the connection died.
                waiting.set_exception(RedisConnectionError("the connection was lost"))


class SubscribedConnection:
    """Subscribes to `channels` on one connection of `redis`'s pool, forever; `command()`
    runs a command on that same connection. The Subscription (wa_version_client._deployment)
    of a deployment whose clients talk to one server; it owns `redis`.

    Run it as a task; cancel the task to stop. Each message goes to `on_message` (called
    in the reader: it must not wait for I/O). After SUBSCRIBE is sent, `on_subscribed`
    runs in a task of its own (it may call `command()`). A lost or silent connection,
    or a reply Redis should not give, is logged and the subscription made again on a new
    connection after a jittered backoff.
    """

    def __init__(
        self,
        redis: Redis,
        channels: Sequence[str],
        *,
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        ping_interval: float = 5.0,
        min_backoff: float = 0.2,
        max_backoff: float = 1.0,
    ) -> None:
        # A connection of its own, made as the pool makes them (for Sentinel, one that
        # asks the sentinels for the server), never shared nor pooled, and made once:
        # redis-py deep-copies its options for each new one, a fifth of the cost of a
        # failed attempt, which a fleet pays many times over while Redis restarts. Made
        # here, so options this redis-py refuses fail the constructor, not a task.
        self._connection: AbstractConnection = redis.connection_pool.make_connection()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        self._redis = redis
        self._channels = list(channels)
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._ping_interval = ping_interval
        self._session: _Session | None = None
        self._backoff = Backoff(initial=min_backoff, maximum=max_backoff)
        self._trouble = Trouble(log, f"the subscription to {', '.join(self._channels)}")
        self.first_attempt = asyncio.Event()  # set once the first attempt read or failed
        self.subscriptions = 0  # how many times the subscription was confirmed
        self.losses = 0  # how many times the connection was lost
        self.ignored_pushes = 0  # pushes that were neither a message nor a confirmation

    async def command(self, *args: str) -> Any:
        """Run a command on the subscribed connection; NotConnected while there is none."""
        if self._session is None:
            raise NotConnected("the subscription holds no connection now")
        return await self._session.command(*args)

    async def rename(self, name: str) -> None:
        """CLIENT SETNAME on the subscribed connection (RESP3 allows it while subscribed)."""
        await self.command("CLIENT", "SETNAME", name)

    async def aclose(self) -> None:
        """Close the client the connection came from (for Sentinel, with its connections
        to the sentinels); once `run()` has ended, which closes the connection itself."""
        await self._redis.aclose()

    async def run(self) -> None:
        connection, handshake_timeout = self._connection, self._connection.socket_timeout
        while True:
            try:
                await self._subscribed(connection, handshake_timeout)
            except Exception as exc:  # whatever Redis answers, subscribe again
                self.losses += 1
                self.first_attempt.set()
                delay = self._backoff.next_delay()
                self._trouble.failed(exc, delay)
                await asyncio.sleep(delay)

    async def _subscribed(self, connection: AbstractConnection, handshake: float | None) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            connection.socket_timeout = handshake  # a server that never answers HELLO fails
            await connection.connect()  # type: ignore[no-untyped-call]  # unannotated in redis-py
            writer = compat.socket_writer(connection)  # closed for sure below
            # From here _watch notices a silent server; and with a socket timeout set,
            # redis-py runs every send in a task of its own (asyncio.wait_for), which a
            # fleet reconnecting at once pays for thousands of times over.
            connection.socket_timeout = None
            await self._session_on(connection)
        finally:
            await connection.disconnect()
            if writer is not None:
                # redis-py closes without waiting when a read fails or is cancelled: wait
                # here, or a subscriber closed just before its event loop would leave the
                # socket open (the loop ends before the transport's close runs).
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _session_on(self, connection: AbstractConnection) -> None:
        """Subscribe, then read here until the connection fails; the keep-alive and the
        read after subscribing run beside it. Neither enters redis-py's connect, so a
        plain cancel ends them (see tasks.cancel_and_wait for why that matters)."""
        session = _Session(connection, self._pushed)
        self._session = session
        helpers = [
            asyncio.create_task(self._watch(session), name="subscription-watch"),
            asyncio.create_task(self._after_subscribing(), name="subscription-read-state"),
        ]
        try:
            await session.send("SUBSCRIBE", *self._channels)  # before the read: see above
            await session.read()
        except RedisConnectionError:
            if session.silence is not None:  # closed by _watch: say why
                raise session.silence from None
            raise
        finally:
            self._session = None
            session.fail_waiting()
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)

    async def _after_subscribing(self) -> None:
        try:
            await self._on_subscribed()
        except NotConnected:
            pass  # the connection is being replaced; the next one reads again
        except ResponseError as exc:  # Redis said why: no traceback needed
            log.warning("reading after subscribing failed: %s: %s", type(exc).__name__, exc)
        except Exception:
            log.exception("reading after subscribing failed")
        finally:
            self.first_attempt.set()

    def _pushed(self, push: list[Any]) -> None:
        """A push frame: a message, a confirmation of the subscription, or anything else
        a server may push (a tracking invalidation another client redirected here with
        CLIENT TRACKING … REDIRECT, a kind a newer server adds): counted and ignored,
        at debug level, since nobody here can act on it."""
        try:
            kind, channel = _kind_and_channel(push)
            if kind == "message" and channel in self._channels:
                self._on_message(channel, push[2])
            elif kind == "subscribe" and channel in self._channels:
                # Confirmations come in the order of the channels: the last means all.
                if channel == self._channels[-1]:
                    self.subscriptions += 1
                    self._backoff.reset()
                    self._trouble.recovered()
            else:
                self.ignored_pushes += 1
                log.debug("ignoring a push from Redis: %.200r", push)
        except Exception:  # a failing handler: never the reader's end
            log.exception("handling a push from Redis failed: %.200r", push)

    async def _watch(self, session: _Session) -> None:
        """PING when idle; a connection that stays silent for three intervals is dead:
        closed, which ends the read."""
        while True:
            await asyncio.sleep(self._ping_interval)  # a keep-alive timer, not a race
            silent = time.monotonic() - session.heard
            if silent > 3 * self._ping_interval:
                session.silence = RedisConnectionError(
                    f"pub/sub connection silent for {silent:.0f}s"
                )
                session.abort()
                return
            if silent >= self._ping_interval:
                # A dead peer never answers: the silence check above is what notices it.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._ping_interval):
                        await session.command("PING")


def _kind_and_channel(push: list[Any]) -> tuple[object, object]:
    """A push's kind and, for a message or a confirmation (three items), its channel;
    None for what is shaped otherwise (an invalidation is two items: the kind, the keys)."""
    if len(push) != 3:
        return (push[0] if push else None), None
    return push[0], push[1]
