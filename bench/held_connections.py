"""Connections held from one address, and a request from another meanwhile.

    python -m bench.held_connections [--attempts 2000] [--open-files 1024] [--probes 20]
                                     [--body-timeout 10]

Starts redis-server and a Procfile web process (its open-file limit lowered to
--open-files, as on a host with the common 1,024 default), then from 127.0.0.2 opens
--attempts connections that each announce a megabyte of body, get their answer and send
one byte of it (devtools/held_connections.py). While they are held it measures the web's
open files and the latency of --probes requests from 127.0.0.3, each on a new
connection; then it waits --body-timeout (the web's BODY_TIMEOUT, its default unless
given) and a margin, and counts the attempts still open.
Prints one line per figure and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections import Counter

from bench.harness import System, percentile, raise_open_files_limit
from devtools.held_connections import Attempt, attempt, held_attempts, open_files

BODY_TIMEOUT = 10.0  # the web's default (shared/settings.py)
MARGIN = 3.0
PROBE_TIMEOUT = 5.0
PROBE = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


async def probe(port: int, source: str) -> float | None:
    """Ms for a /healthz from `source` on a new connection; None when it got no 200."""
    started = time.perf_counter()
    answer = await attempt(port, source, PROBE, after=b"", within=PROBE_TIMEOUT)
    answer.close()
    return (time.perf_counter() - started) * 1000 if answer.status == 200 else None


async def measure(
    port: int, pid: int, attempts: int, probes: int, body_timeout: float
) -> dict[str, object]:
    held = await held_attempts(port, "127.0.0.2", attempts, within=PROBE_TIMEOUT)
    files_held = open_files(pid)
    latencies = [await probe(port, "127.0.0.3") for _ in range(probes)]
    answered = [ms for ms in latencies if ms is not None]
    closed = await asyncio.gather(*(a.closed_within(body_timeout + MARGIN) for a in held))
    figures = {
        "attempts": attempts,
        "answers": {str(k): v for k, v in Counter(a.status for a in held).items()},
        "open_files_while_held": files_held,
        "other_address_answered": f"{len(answered)}/{probes}",
        "other_address_p50_ms": round(percentile(answered, 0.5), 2) if answered else None,
        "other_address_max_ms": round(max(answered), 2) if answered else None,
        "still_open_after_deadline": closed.count(False),
        "open_files_after_deadline": open_files(pid),
    }
    close_all(held)
    return figures


def close_all(held: list[Attempt]) -> None:
    for one in held:
        one.close()


def start_web_with_open_files(
    system: System, open_files_limit: int, body_timeout: float
) -> tuple[int, int]:
    """A web process started under `open_files_limit` (0: this process's); its port, pid."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if open_files_limit:
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files_limit, hard))  # inherited
    try:
        web, base = system.start_web(BODY_TIMEOUT=f"{body_timeout:g}s")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return int(base.rsplit(":", 1)[1]), web.popen.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--open-files", type=int, default=1024)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--body-timeout", type=float, default=BODY_TIMEOUT)
    args = parser.parse_args()
    raise_open_files_limit()  # this process holds every attempt
    with System() as system:
        port, pid = start_web_with_open_files(system, args.open_files, args.body_timeout)
        figures = asyncio.run(measure(port, pid, args.attempts, args.probes, args.body_timeout))
    print(f"{args.attempts} held attempts from 127.0.0.2, web open-file limit {args.open_files}")
    for name, value in figures.items():
        print(f"  {name}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
