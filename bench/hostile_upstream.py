"""Hostile upstream: the worker's peak memory and the refresh's time against bodies no
honest server sends (devtools/hostile_upstream.py), the stub's sw.js as the next source.

For each body a fresh Procfile worker (its VmHWM is a high-water mark, so one per case)
with `WA_VERSION_URL=<hostile body>,<stub sw.js>` and the default FETCH_MAX_BYTES; once it
reads jobs, one forced refresh through a web process. Printed per body: the worker's RSS
before the refresh, its peak (VmHWM) after, the refresh's wall time, and its answer.

    .venv/bin/python -m bench.hostile_upstream [--size BYTES] [--quick]

`--quick` uses 8 MiB bodies: what the test suite runs so the script cannot rot.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.harness import HEADERS, System, peak_rss_mb
from devtools.hostile_upstream import GIGABYTE, HostileUpstream, gzipped_zeros
from devtools.processes import memory_mb
from devtools.waiting import wait_until

REFRESH = "/admin/whatsapp/version/refresh"
QUICK_SIZE = 8 << 20
# (row label, hostile path; None: the stub's sw.js alone, for comparison)
CASES = [
    ("healthy sw.js (no hostile source)", None),
    ("double-gzip bomb", "/double-gzip"),
    ("single-gzip bomb", "/gzip"),
    ("plain body", "/plain"),
]


async def measure(system: System, web: str, hostile: HostileUpstream, path: str | None) -> str:
    """One case: a worker of its own, one forced refresh; its row."""
    sources = system.stub_url if path is None else f"{hostile.url(path)},{system.stub_url}"
    worker = system.start("worker", WA_VERSION_URL=sources)
    try:
        await wait_until(lambda: "now reads refresh jobs" in worker.output, within=30)
        idle = memory_mb(worker)
        started = time.perf_counter()
        async with httpx.AsyncClient(headers=HEADERS, timeout=60) as client:
            response = await client.post(f"{web}{REFRESH}")
        elapsed_ms = (time.perf_counter() - started) * 1000
        peak = peak_rss_mb(worker)
    finally:
        worker.stop()
    body = response.json()
    answer = body["data"]["source"] if response.status_code == 200 else body.get("error", "")
    return (
        f"RSS {idle:.0f} MB idle, peak {peak:.0f} MB | refresh {elapsed_ms:.0f} ms | "
        f"HTTP {response.status_code} {answer}"
    )


async def run(size: int) -> None:
    hostile = HostileUpstream(size).start()
    bomb_sizes = {
        "/double-gzip": len(gzipped_zeros(size, 2)),
        "/gzip": len(gzipped_zeros(size, 1)),
        "/plain": size,
    }
    try:
        with System() as system:
            _, web = system.start_web()
            for label, path in CASES:
                sent = "" if path is None else f" ({bomb_sizes[path]:,} bytes sent for {size:,})"
                print(f"{label}{sent}: {await measure(system, web, hostile, path)}", flush=True)
    finally:
        hostile.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=GIGABYTE, help="bytes each body stands for")
    parser.add_argument("--quick", action="store_true", help="8 MiB bodies: a smoke run")
    args = parser.parse_args()
    asyncio.run(run(QUICK_SIZE if args.quick else args.size))


if __name__ == "__main__":
    main()
