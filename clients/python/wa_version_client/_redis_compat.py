"""Where the client depends on more than redis-py's documented, stable surface.

Everything here is checked against the installed redis-py by
tests/clients/python/test_redis_compat.py, which fails loudly when an upgrade moves what
this module relies on. Nothing else in the client may reach into redis-py's internals.
"""

from __future__ import annotations

import inspect
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.driver_info import DriverInfo  # redis-py 7.2+ (the client's floor)

__all__ = ["quiet_handshake_options"]


def _accepts(option: str) -> bool:
    return option in inspect.signature(AbstractConnection.__init__).parameters


def quiet_handshake_options() -> dict[str, Any]:
    """Connection options that leave out the handshake's optional round trips.

    CLIENT SETINFO (every release the client supports sends it unless told otherwise)
    and, from redis-py 8.1 in asyncio, CLIENT MAINT_NOTIFICATIONS on every RESP3
    connection, which servers other than Redis Enterprise refuse. Older releases
    reject the option they do not know, so it is passed only where it exists.
    """
    options: dict[str, Any] = {"driver_info": DriverInfo(name=None, lib_version=None)}
    if _accepts("maint_notifications_config"):
        from redis.maint_notifications import MaintNotificationsConfig

        options["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
    return options
