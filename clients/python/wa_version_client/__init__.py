"""wa-version-client: follow the WhatsApp Web version wa-version-service publishes.

    from wa_version_client import VersionSubscriber

    async with VersionSubscriber.from_env() as versions:   # REDIS_URL, REDIS_PREFIX, …
        connect(version=versions.current.array)

Its only dependency is redis-py. The public surface is what this module, `contract`
(what the service and its clients agree on, no I/O), `deployment` (connecting to the
Redis a URL names), `runtime` (backoff, logs, settings from the environment) and `watch`
(`python -m wa_version_client.watch`, the watcher for managers in other languages)
export; modules whose names start with `_` are private and may change in any release.
"""

from wa_version_client._held import OnChange
from wa_version_client._subscribed import NotConnected
from wa_version_client._subscriber import VersionSubscriber
from wa_version_client._subscriber_thread import ThreadedVersionSubscriber
from wa_version_client.contract import (
    ConfigError,
    InvalidVersion,
    MessageError,
    PublishedVersion,
    WAVersion,
)

__all__ = [
    "ConfigError",
    "InvalidVersion",
    "MessageError",
    "NotConnected",
    "OnChange",
    "PublishedVersion",
    "ThreadedVersionSubscriber",
    "VersionSubscriber",
    "WAVersion",
]
