"""A subscriber's connection name: who holds which version, read by the service.

Each subscriber names its own subscribed connection (CLIENT SETNAME) and renames it on
each change of the version it holds; the service lists the clients of the servers it
knows (CLIENT LIST) and groups them into the fleet (shared/fleet.py). So the fleet
costs no extra connection and no write: a subscriber reading from a replica names its
connection there.

    wav1:<manager id>:<client>:<version held, or - before any>
    wav1:gw-eu-7:python:2.3000.1012345678

Any client may set any name, so a name is untrusted: `ManagerName.parse` accepts only
this exact shape (the prefix, an id of 1 to 64 characters from [A-Za-z0-9._-], a known
client, a version as WAVersion parses it) and returns None for anything else. A Redis
connection name may hold no space or newline; this one never does.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass

from wa_version_client.contract._errors import ConfigError, InvalidVersion
from wa_version_client.contract._version import VERSION_TEXT, WAVersion

PREFIX = "wav1"
# The programs that name their connection this way.
CLIENTS = ("python", "node", "go", "watcher")
ID_MAX_LENGTH = 64
ID_TEXT = re.compile(rf"[A-Za-z0-9._-]{{1,{ID_MAX_LENGTH}}}")
NO_VERSION = "-"  # named before the first version is held
# The whole name; at most 4 + 1 + 64 + 1 + 7 + 1 + 32 characters.
NAME_TEXT = re.compile(
    rf"{PREFIX}:({ID_TEXT.pattern}):({'|'.join(CLIENTS)}):(-|{VERSION_TEXT.pattern})"
)
NAME_MAX_LENGTH = 112
# Seconds after a change is applied before the connection is renamed, drawn at random in
# this range by each manager: the change reaches thousands of managers at once, and their
# renames (a command each) would crowd its delivery (./dev bench's fan-out, 5,000
# managers: p50 83 ms without renames, 165 ms with them sent at once). The fleet is
# cached a second anyway. A rename after a (re)subscription is sent at once.
RENAME_DELAY_MIN = 0.5
RENAME_DELAY_MAX = 2.0


@dataclass(frozen=True, slots=True)
class ManagerName:
    """What one subscribed connection says of itself."""

    manager_id: str
    client: str
    version: WAVersion | None

    def __post_init__(self) -> None:
        check_manager_id(self.manager_id)
        if self.client not in CLIENTS:
            raise ConfigError(
                f"client must be one of {', '.join(CLIENTS)}, got {self.client!r:.40}"
            )

    def encode(self) -> str:
        held = NO_VERSION if self.version is None else str(self.version)
        return f"{PREFIX}:{self.manager_id}:{self.client}:{held}"

    @classmethod
    def parse(cls, name: object) -> ManagerName | None:
        """The name's parts, or None for any name not of exactly this shape."""
        if not isinstance(name, str) or len(name) > NAME_MAX_LENGTH:
            return None
        parts = NAME_TEXT.fullmatch(name)
        if parts is None:
            return None
        manager_id, client, held = parts.group(1, 2, 3)
        try:
            version = None if held == NO_VERSION else WAVersion.parse(held)
        except InvalidVersion:  # a part beyond a uint32
            return None
        return cls(manager_id, client, version)


def check_manager_id(manager_id: str) -> str:
    """`manager_id` if it fits a connection name; ConfigError saying why otherwise."""
    if not isinstance(manager_id, str) or ID_TEXT.fullmatch(manager_id) is None:
        raise ConfigError(
            f"a manager id is 1 to {ID_MAX_LENGTH} characters from A-Z a-z 0-9 . _ -, "
            f"got {manager_id!r:.80}"
        )
    return manager_id


def default_manager_id() -> str:
    """`<host>-<pid>`: the host name cut to the allowed characters, so the id stays
    valid on any host; stable for the life of the process."""
    pid = str(os.getpid())
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"
    return f"{host[: ID_MAX_LENGTH - len(pid) - 1]}-{pid}"
