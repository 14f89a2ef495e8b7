"""What `wa-version` costs a gateway's start, and what a drop-in call costs Evolution's GET /.

For each command (the Python client's console script, the npm package's bin): the wall
time of a run, start to exit, when the version is held, when Redis refuses connections,
and when a server accepts and never answers (bounded by `--timeout`, 5 s). Then the
npm package's `fetchLatestWaWebVersion({})`, as Evolution API calls it on every GET /:
the first call (connect and read) and the mean of the calls after it.

    .venv/bin/python -m bench.wa_version_command [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from devtools.embedded import RedisServer, describe_server, free_port
from devtools.processes import ROOT
from devtools.publishing import publish_version
from shared.keys import ServiceKeys
from wa_version_client.deployment import connect

PREFIX = "bench-wa-version"
NODE_CLIENT = ROOT / "clients" / "node"
COMMANDS = {
    "python": [str(Path(sys.executable).parent / "wa-version")],
    "node": [shutil.which("node") or "node", str(NODE_CLIENT / "bin" / "wa-version.js")],
}
# The drop-in called as Evolution's router calls it; prints the first call's time and
# the mean of the next CALLS.
CALLS_SCRIPT = """
import { fetchLatestWaWebVersion } from 'wa-version-client';
const calls = Number(process.argv.at(-1));
let t = performance.now();
const first = await fetchLatestWaWebVersion({});
const firstMs = performance.now() - t;
t = performance.now();
for (let i = 0; i < calls; i++) (await fetchLatestWaWebVersion({})).version.join('.');
const eachUs = ((performance.now() - t) / calls) * 1000;
const version = first.version.join('.');
const [firstText, eachText] = [firstMs.toFixed(1), eachUs.toFixed(2)];
console.log(`${version}: the first call ${firstText} ms, then ${eachText} µs each`);
"""


def timed(command: list[str], url: str, runs: int) -> tuple[float, str]:
    """The median wall time (ms) of `runs` runs against `url`, and the last one's line."""
    times, line = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            command,
            env={"PATH": os.environ["PATH"], "REDIS_URL": url, "REDIS_PREFIX": PREFIX},
            capture_output=True,
            text=True,
            timeout=60,
        )
        times.append((time.perf_counter() - started) * 1000)
        line = f"exit {done.returncode}: {(done.stdout or done.stderr).strip()}"
    return statistics.median(times), line


def drop_in_calls(url: str, calls: int) -> str:
    done = subprocess.run(
        ["node", "--input-type=module", "-e", CALLS_SCRIPT, "--", str(calls)],
        cwd=NODE_CLIENT,  # resolves 'wa-version-client' to itself (package self-reference)
        env={**os.environ, "REDIS_URL": url, "REDIS_PREFIX": PREFIX},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout.strip() or done.stderr.strip()


async def store_version(url: str) -> None:
    writer = connect(url)
    try:
        await publish_version(writer, ServiceKeys(PREFIX), 1_026_131_876)
    finally:
        await writer.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per case (the silent one: 1)")
    parser.add_argument("--calls", type=int, default=10_000, help="drop-in calls after the first")
    args = parser.parse_args()
    print(f"server: {describe_server()}")
    with RedisServer() as server, socket.socket() as silent:
        asyncio.run(store_version(server.url))
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # accepts (the kernel does), never answers
        cases = {
            "held": (server.url, args.runs),
            "refused": (f"redis://127.0.0.1:{free_port()}/0", args.runs),
            "silent": (f"redis://127.0.0.1:{silent.getsockname()[1]}/0", 1),
        }
        for case, (url, runs) in cases.items():
            for name, command in COMMANDS.items():
                median, line = timed(command, url, runs)
                print(f"wa-version {name:6} {case:7} median {median:6.0f} ms ({runs} runs)  {line}")
        calls = drop_in_calls(server.url, args.calls)
        print(f"drop-in fetchLatestWaWebVersion({{}}), {args.calls} calls after the first: {calls}")


if __name__ == "__main__":
    main()
