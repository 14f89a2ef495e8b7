"""The worker's command line.

python -m worker                     answer refresh jobs until SIGTERM (the Procfile's)
python -m worker run                 the same
python -m worker refresh [--no-force]   one refresh through the running workers
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvloop

from shared.errors import ConfigError
from shared.logs import setup_logging
from shared.settings import Settings
from worker.main import serve
from worker.refresh_command import refresh_once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="answer refresh jobs until SIGTERM (the default)")
    refresh = commands.add_parser("refresh", help="ask the running workers for one refresh")
    refresh.add_argument(
        "--no-force", action="store_true", help="skip it if the last attempt is recent"
    )
    args = parser.parse_args(argv)
    if args.command == "refresh":
        # stdout carries the answer; stderr the one line a failure gets, nothing chattier.
        setup_logging(logging.ERROR, stream=sys.stderr)
    else:
        setup_logging()
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    # uvloop, as uvicorn uses for web: a cheaper event loop on every wake-up.
    if args.command == "refresh":
        return uvloop.run(refresh_once(settings, force=not args.no_force))
    uvloop.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
