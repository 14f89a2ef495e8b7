"""The handshake's options, and the pushes a subscribed connection reads."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from redis.asyncio.client import PubSub
from redis.asyncio.connection import AbstractConnection
from redis.driver_info import DriverInfo  # redis-py 7.2+ (the client's floor)


def quiet_handshake_options() -> dict[str, Any]:
    """Connection options that leave out the handshake's optional round trips.

    CLIENT SETINFO (every release the client supports sends it unless told otherwise)
    and, from redis-py 8.1 in asyncio, CLIENT MAINT_NOTIFICATIONS on every RESP3
    connection, which servers other than Redis Enterprise refuse. Older releases
    reject the option they do not know, so it is passed only where it exists.
    """
    options: dict[str, Any] = {"driver_info": DriverInfo(name=None, lib_version=None)}
    if "maint_notifications_config" in inspect.signature(AbstractConnection.__init__).parameters:
        from redis.maint_notifications import MaintNotificationsConfig

        options["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
    return options


# --- one connection that is subscribed and runs commands (wa_version_client._subscribed)


def take_every_push(connection: AbstractConnection, on_push: Callable[[list[Any]], None]) -> object:
    """Hand every RESP3 push frame `connection` reads to `on_push`; returns the marker
    `read_response(push_request=True)` then returns for a push, in place of a reply.

    Every frame, whatever its type (pub/sub, but also a tracking invalidation any client
    can redirect here, or a maintenance notice), must be consumed, or it would be taken
    for a command's reply and shift every reply after it. Both parsers (Python, hiredis)
    give each push to their `handle_push_response` and return what it returns. Called
    once connected: redis-py 7.2 puts its RESP3 parser in place while connecting. The
    public hooks (`set_pubsub_push_handler` and its siblings) cover one type each, on a
    parser with no public accessor, and a maintenance notice that does not parse comes
    back as None, a reply: so the whole dispatcher is replaced.
    """
    pushed = object()

    async def handle(push: list[Any], **_: Any) -> object:
        on_push(push)
        return pushed

    connection._parser.handle_push_response = handle  # type: ignore[attr-defined]
    return pushed


def hear_invalidations(pubsub: PubSub, on_push: Callable[[list[Any]], None]) -> None:
    """Hand each tracking invalidation `pubsub`'s connection reads to `on_push`.

    In RESP3 redis-py drops them without a trace unless its parser has a handler for
    them (in RESP2 they come as messages on `__redis__:invalidate`, which the caller
    sees). The parser has no public accessor, and a new connection may bring a new
    parser: call this after each subscription is confirmed. A no-op on a RESP2 parser.
    """
    parser = getattr(pubsub.connection, "_parser", None)
    set_handler = getattr(parser, "set_invalidation_push_handler", None)
    if set_handler is None:
        return

    async def handle(push: list[Any]) -> None:
        on_push(push)  # and nothing for the reader: get_message() then returns None

    set_handler(handle)


def socket_writer(connection: AbstractConnection) -> asyncio.StreamWriter | None:
    """The stream `connection` writes to while connected (no public accessor)."""
    return connection._writer


def lost_under_write(error: BaseException) -> bool:
    """Whether `error` is a write to a connection whose socket closed under it, as uvloop
    reports it: a RuntimeError ("unable to perform operation on <TCPTransport
    closed=True …>; the handler is closed"), not the OSError asyncio's own loop raises.
    redis-py turns only OSError into its ConnectionError, so such a write passes its
    retries (a cluster's, when a primary dies under traffic) and reaches the caller as
    it is: to the caller it is Redis going away, like any ConnectionError."""
    return (
        isinstance(error, RuntimeError)
        and "TCPTransport closed=True" in str(error)
        and "the handler is closed" in str(error)
    )
