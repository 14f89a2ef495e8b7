"""wa-version-client: follow the WhatsApp Web version wa-version-service publishes.

    from wa_version_client import VersionSubscriber

    async with VersionSubscriber.from_env() as versions:   # REDIS_URL, REDIS_PREFIX, …
        connect(version=versions.current.array)

Its only dependency is redis-py. `wa_version_client.contract` is what the service and its
clients agree on (Redis names, the version, the messages, the stored state) and does no
I/O; `python -m wa_version_client.watch` is the watcher for managers in other languages.
"""

from wa_version_client.contract.published import PublishedVersion
from wa_version_client.contract.version import WAVersion
from wa_version_client.held import OnChange
from wa_version_client.subscriber import VersionSubscriber
from wa_version_client.subscriber_thread import ThreadedVersionSubscriber

__all__ = [
    "OnChange",
    "PublishedVersion",
    "ThreadedVersionSubscriber",
    "VersionSubscriber",
    "WAVersion",
]
