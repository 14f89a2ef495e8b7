"""`python -m wa_version_client.watch`: a reference connection manager.

Prints one JSON line per version on stdout (the current one at start, then each change
of version: the same version again in a new epoch, after Redis lost its data, is not
one) and, with `--exec CMD` (or `WATCH_EXEC=CMD`), runs CMD through the shell on each
of them with the version in its environment, so a manager in any language can react:

    WA_VERSION=2.3000.1026131877  WA_VERSION_ARRAY=[2,3000,1026131877]
    WA_VERSION_SEQ=7  WA_VERSION_EPOCH=1766313000000  WA_VERSION_PREVIOUS=2.3000.1026131876

It keeps running through Redis outages and restarts; SIGTERM or Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys

from wa_version_client._held import OnChange, announcement
from wa_version_client._logs import setup_logging
from wa_version_client._subscriber import VersionSubscriber
from wa_version_client.contract._errors import ConfigError
from wa_version_client.contract._published import PublishedVersion

log = logging.getLogger("wa_version_client.watch")


def print_line(old: PublishedVersion | None, new: PublishedVersion) -> None:
    print(announcement(old, new), flush=True)


def version_environment(old: PublishedVersion | None, new: PublishedVersion) -> dict[str, str]:
    return {
        "WA_VERSION": new.string,
        "WA_VERSION_ARRAY": json.dumps(new.array, separators=(",", ":")),
        "WA_VERSION_SEQ": str(new.seq),
        "WA_VERSION_EPOCH": str(new.epoch),
        "WA_VERSION_PREVIOUS": "" if old is None else old.string,
    }


def command_runner(command: str) -> OnChange:
    """A callback that runs `command` with the version in its environment."""

    async def run_command(old: PublishedVersion | None, new: PublishedVersion) -> None:
        process = await asyncio.create_subprocess_shell(
            command, env={**os.environ, **version_environment(old, new)}
        )
        status = await process.wait()
        if status != 0:
            log.warning("--exec command exited with %d for %s", status, new.string)

    return run_command


async def watch(subscriber: VersionSubscriber, command: str | None, stop: asyncio.Event) -> None:
    """Print each version change (and run `command` on it) until `stop` is set."""
    subscriber.on_change(print_line)
    if command:
        subscriber.on_change(command_runner(command))
    async with subscriber:
        await stop.wait()


async def serve(subscriber: VersionSubscriber, command: str | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await watch(subscriber, command, stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wa_version_client.watch",
        description="Print (and act on) each change of version.",
    )
    parser.add_argument("--exec", dest="command", metavar="CMD", help="run CMD on each version")
    parser.add_argument(
        "--manager-id", help="this manager's id in the fleet (WA_MANAGER_ID; host-pid if unset)"
    )
    args = parser.parse_args(argv)
    setup_logging(stream=sys.stderr)  # stdout carries only the version lines
    try:
        options = {"manager_id": args.manager_id} if args.manager_id else {}
        subscriber = VersionSubscriber.from_env(client="watcher", **options)
    except ConfigError as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(subscriber, args.command or os.environ.get("WATCH_EXEC") or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
