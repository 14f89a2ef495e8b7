"""`wa-version`: print the WhatsApp Web version the service holds, for shell scripts.

    WAHA_NOWEB_WA_VERSION=$(wa-version)      # 2.3000.1026131876

For a gateway that takes its version once, at start (WAHA's NOWEB engine reads
`WAHA_NOWEB_WA_VERSION`): one read of the hash `<prefix>:version`, no subscription. It
prints the version a subscriber starting now would hold, nothing else, on stdout.

When the version held is not the latest by the clients' rule (the service's last refresh
failed, none succeeded within the maximum age of 2 h, …: contract/_latest.py), it is
still printed, exit 0, and one warning line on stderr says why: a gateway starts on the
best version there is, and its log shows the service needs looking at.

Exit status: 0 printed; 1 nothing is held (no refresh has succeeded yet, REDIS_PREFIX
differs from the service's, or the hash is unreadable); 2 a setting is wrong; 4 Redis
could not be reached, refused, or did not answer in time. Each failure is one line on
stderr and nothing on stdout, so `$(wa-version)` is either a version or empty.

It reads the environment every entry point of the client reads (REDIS_URL or
REDIS_TLS_URL with REDIS_SSL_CERT_REQS / REDIS_SSL_CA_CERTS, REDIS_PREFIX,
REDIS_READ_FROM, REDIS_REPLICA_URL) and connects through the same deployment seam, so a
Sentinel, Cluster or TLS URL works as it does for the watcher. It never waits longer
than `--timeout` (5 s) in all: a Redis that is down, or a host that never answers,
costs a gateway's start at most that (each connection attempt gives up after 2 s, the
client's connect timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping

from redis.exceptions import RedisError

from wa_version_client import _defaults as defaults
from wa_version_client._connection import describe
from wa_version_client._deployment import Deployment
from wa_version_client._env import EnvReader
from wa_version_client._from_url import (
    deployment_for,
    read_from,
    reading_deployment,
    redis_url_from_env,
    replica_url_from_env,
)
from wa_version_client._operations import read_state
from wa_version_client.contract._clock import utc_now
from wa_version_client.contract._errors import ConfigError
from wa_version_client.contract._keys import Keys
from wa_version_client.contract._latest import judge_latest
from wa_version_client.contract._published import PublishedVersion

__all__ = ["DEFAULT_TIMEOUT", "main"]

DEFAULT_TIMEOUT = 5.0  # seconds, for everything: connecting (2 s an attempt) and the read

# Exit statuses, as `python -m worker refresh` numbers the same failures.
NOTHING_HELD, BAD_SETTING, REDIS_UNREACHABLE = 1, 2, 4


class CommandFailed(Exception):
    """One line for stderr, and the exit status that goes with it."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(line)
        self.status = status


def where_to_read(env: Mapping[str, str]) -> tuple[Deployment, Keys]:
    """The deployment and the names a subscriber set up from `env` would read."""
    read = EnvReader(env)
    primary = deployment_for(redis_url_from_env(env))
    prefix = read.text("REDIS_PREFIX", defaults.PREFIX)
    primary.check_prefix(prefix)
    replica = read_from(read.text("REDIS_READ_FROM", "primary"))
    return reading_deployment(primary, replica, replica_url_from_env(env)), Keys(prefix)


async def held_version(deployment: Deployment, keys: Keys, within: float) -> str:
    """The version string held in `keys.version`; CommandFailed when there is none."""
    client = deployment.connect(max_connections=1)
    try:
        async with asyncio.timeout(within):
            state = await read_state(client, keys)
    except TimeoutError:
        late = f"Redis did not answer within {within:g} s"
        raise CommandFailed(REDIS_UNREACHABLE, late) from None
    except RedisError as exc:
        raise CommandFailed(REDIS_UNREACHABLE, f"Redis: {describe(exc)}") from None
    finally:
        await client.aclose()
    held = PublishedVersion.from_state(state)
    if held is None:
        raise CommandFailed(
            NOTHING_HELD,
            f"no version is held in {keys.version}: no refresh has succeeded yet,"
            " or REDIS_PREFIX is not the service's",
        )
    verdict = judge_latest(held, synced=True, stored=state, now=utc_now())
    if not verdict.is_latest:
        print(f"wa-version: warning: {held.string} may not be the latest: {verdict.error}",
              file=sys.stderr)  # fmt: skip
    return held.string


def run(env: Mapping[str, str], within: float) -> str:
    try:
        deployment, keys = where_to_read(env)
    except ConfigError as exc:
        raise CommandFailed(BAD_SETTING, str(exc)) from None
    return asyncio.run(held_version(deployment, keys, within))


def seconds(text: str) -> float:
    """`--timeout`'s value: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text[:20]!r}: use seconds > 0")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="wa-version", description="Print the WhatsApp Web version the service holds."
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up after this long in all (default {DEFAULT_TIMEOUT:g})",
    )
    args = parser.parse_args(argv)
    # A malformed field of the hash is one warning line on stderr; stdout stays the version.
    logging.basicConfig(level=logging.WARNING, format="wa-version: %(message)s")
    try:
        print(run(os.environ, args.timeout))
    except CommandFailed as exc:
        print(f"wa-version: {exc}", file=sys.stderr)
        return exc.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
