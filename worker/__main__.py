"""`python -m worker`: answer refresh jobs until SIGTERM."""

from __future__ import annotations

import sys

import uvloop

from shared.errors import ConfigError
from shared.logs import setup_logging
from shared.settings import Settings
from worker.main import serve


def main() -> int:
    setup_logging()
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    # uvloop, as uvicorn uses for web: a cheaper event loop on every wake-up.
    uvloop.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
