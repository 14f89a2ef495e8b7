"""Requests/s of GET of the state and of force=false, answered from the web's held copy.

    python -m bench.held_state [--runs 5] [--seconds 5] [--compare-with main]

Starts redis-server, the stub, a worker and a Procfile web process, refreshes once (so
force=false falls inside REFRESH_MIN_INTERVAL and is answered without a job), then loads
GET /admin/whatsapp/version and POST …/refresh?force=false in turn with bench.load (32
keep-alive connections, another process). With --compare-with REF, a second web runs
the code of git REF (exported with `git archive`; the same venv, Redis and worker), and
the two are loaded alternately, run by run, so both see the same machine. Prints each
run and the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from bench.harness import HEADERS, System
from devtools.processes import ROOT
from shared.keys import ServiceKeys

VERSION = "/admin/whatsapp/version"
QUERIES = {"GET": VERSION, "force=false": f"{VERSION}/refresh?force=false"}


def load(base: str, kind: str, seconds: float, connections: int) -> float:
    """Requests/s bench.load gets from `kind` on the web at `base`."""
    method = "GET" if kind == "GET" else "POST"
    command = [sys.executable, "-m", "bench.load", f"{base}{QUERIES[kind]}", "--method", method]
    command += ["--seconds", str(seconds), "--connections", str(connections)]
    command += ["--header", f"X-Admin-Secret: {HEADERS['X-Admin-Secret']}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout)
    assert not figures["failed"], figures
    return float(figures["rps"])


def listening(system: System) -> int:
    """How many webs subscribe to the state's notifications (the other code's: none)."""
    client = redis.Redis.from_url(system.redis.url)
    try:
        channel = ServiceKeys().state_changed
        return int(dict(client.pubsub_numsub(channel))[channel.encode()])
    finally:
        client.close()


@contextmanager
def exported(ref: str) -> Iterator[Path]:
    """The files of git `ref`, in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as directory:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", directory], input=archive.stdout, check=True)
        yield Path(directory)


def measure(args: argparse.Namespace, other: Path | None) -> None:
    # Every force=false of the runs falls inside the interval after the one refresh.
    with System(REFRESH_MIN_INTERVAL="3600s") as system:
        system.start("worker")
        webs = {"this code": system.start_web()[1]}
        if other is not None:
            system.app = other
            webs[args.compare_with] = system.start_web()[1]
        httpx.post(f"{webs['this code']}{VERSION}/refresh", headers=HEADERS).raise_for_status()
        print(f"webs told of state changes: {listening(system)} of {len(webs)}", flush=True)
        figures: dict[tuple[str, str], list[float]] = {}
        for run in range(1, args.runs + 1):
            for kind in QUERIES:
                for name, base in webs.items():
                    rps = load(base, kind, args.seconds, args.connections)
                    figures.setdefault((name, kind), []).append(rps)
                    print(f"run {run}: {name}: {kind} {rps:.0f} requests/s", flush=True)
    for (name, kind), runs in figures.items():
        shown = ", ".join(f"{r:.0f}" for r in runs)
        print(f"{name}: {kind} median {statistics.median(runs):.0f} requests/s (runs: {shown})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--compare-with", help="a git ref whose web to load as well")
    args = parser.parse_args()
    if args.compare_with is None:
        measure(args, None)
        return
    with exported(args.compare_with) as other:
        measure(args, other)


if __name__ == "__main__":
    main()
