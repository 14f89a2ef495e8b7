"""`python -m bench`: the whole benchmark suite, printed and written to BENCHMARKS.md.

Starts what it needs (redis-server, the stub upstream, the Procfile's web and worker, the
in-process baseline, rq and arq workers) on loopback, measures each figure as a median
over repeated runs, and compares within the same run. `--quick` uses tiny sizes: it is
what the test suite runs so the script cannot rot; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import capacity, fanout, footprint, held_state, sections
from bench.harness import HEADERS, System, peak_rss_mb, percentile
from bench.peers import job as peer_job
from bench.peers.arq_venv import ensure_arq_venv
from devtools.embedded import describe_server
from devtools.processes import ROOT
from devtools.waiting import wait_until
from shared.keys import ServiceKeys
from shared.refresh_client import refresh_client
from shared.settings import Settings
from wa_version_client.deployment import connect

REFRESH = "/admin/whatsapp/version/refresh"


@dataclass
class Sizes:
    sequential: int = 500
    repeats: int = 3
    arq_default: int = 10
    burst: int = 1000
    storm: int = 1000  # subscribers reporting a 405 at once, one report each
    load_seconds: float = 5.0
    subscribers: tuple[int, ...] = (1000, 5000, 10_000)
    fanout_processes: int = fanout.PROCESSES
    changes: int = 10
    fanout_rounds: int = 2  # raw, ours, ours, raw
    workers: tuple[int, ...] = (1, 2, 4, 8)
    webs: tuple[int, ...] = (1, 2, 4)
    footprint: int = 1000  # idle subscribers in one process
    fleet_managers: int = 10_000  # named connections the fleet is built from
    fleet_runs: int = 5
    streams: int = 100  # event streams open while the version changes
    stream_changes: int = 20


QUICK = Sizes(
    sequential=10,
    repeats=1,
    arq_default=2,
    burst=20,
    storm=20,
    load_seconds=0.5,
    subscribers=(20,),
    fanout_processes=2,
    changes=2,
    fanout_rounds=1,
    workers=(1, 2),
    webs=(1,),
    footprint=20,
    fleet_managers=30,
    fleet_runs=1,
    streams=3,
    stream_changes=2,
)


def p50_p99(runs: list[list[float]]) -> tuple[float, float]:
    """Median over runs of each run's p50 and p99."""
    return (
        statistics.median(statistics.median(r) for r in runs),
        statistics.median(percentile(r, 0.99) for r in runs),
    )


async def timed(call: Callable[[], Coroutine[Any, Any, object]], count: int) -> list[float]:
    """`count` sequential calls, after a few unmeasured ones; each call's ms."""
    for _ in range(3):
        await call()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def http_round_trips(url: str, count: int) -> list[float]:
    async with httpx.AsyncClient(headers=HEADERS, timeout=60) as client:

        async def call() -> None:
            (await client.post(url)).raise_for_status()

        return await timed(call, count)


async def our_enqueue_to_result(redis_url: str, count: int) -> list[float]:
    """RefreshClient.enqueue_and_wait, as the API does it, without the HTTP hop."""
    settings = Settings(redis_url=redis_url, admin_secret="x")
    redis = connect(redis_url)
    try:
        async with refresh_client(redis, ServiceKeys(), settings) as client:

            async def call() -> None:
                assert not (await client.enqueue_and_wait(force=True)).error

            return await timed(call, count)
    finally:
        await redis.aclose()


def rq_enqueue_to_result(system: System, count: int) -> list[float]:
    import redis
    from rq import Queue

    system.start("rq", command=f"python -m bench.peers.rq_worker {system.redis.url}")
    queue = Queue("bench", connection=redis.Redis.from_url(system.redis.url))
    args = (system.stub_url, system.redis.url, "peer-rq")
    timings = []
    for index in range(count + 3):
        started = time.perf_counter()
        job = queue.enqueue(peer_job.refresh, *args)
        result = job.latest_result(timeout=60)
        assert result is not None
        assert result.type == result.Type.SUCCESSFUL, result
        if index >= 3:
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def bare_work(system: System, count: int) -> list[float]:
    """The job's work called directly: the floor for every queue."""
    args = (system.stub_url, system.redis.url, "peer-bare")
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        peer_job.refresh(*args)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def arq_enqueue_to_result(system: System, poll_delay: float, count: int) -> list[float]:
    python = ensure_arq_venv()
    module = "bench.peers.arq_bench"
    url = system.redis.url
    system.start("arq", command=f"{python} -m {module} worker {url} {poll_delay}")
    done = subprocess.run(
        [
            str(python),
            "-m",
            module,
            "client",
            url,
            str(poll_delay),
            system.stub_url,
            str(count + 1),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    timings: list[float] = json.loads(done.stdout)[1:]  # the first warms up
    return timings


def stop(system: System, name: str) -> None:
    for process in [p for p in system.processes if p.name == name]:
        process.stop()
        system.processes.remove(process)


async def outdated_storm(
    system: System, base: str, subscribers: int, processes: int
) -> tuple[int, int, float]:
    """`subscribers`, spread over child processes as in the fan-out, hold the stored
    version, then each report a 405 at once: (reports accepted, upstream fetches, ms
    from the reports until every subscriber held the version then fetched)."""
    revision = 1026140000 + 2 * system.fetches  # above anything stored so far
    system.configure_stub(revision=revision)
    async with httpx.AsyncClient(headers=HEADERS, timeout=60) as client:
        (await client.post(base + REFRESH, params={"force": "true"})).raise_for_status()
    system.configure_stub(revision=revision + 1)  # what the storm's refresh will find
    children = fanout.Children()
    with tempfile.TemporaryFile() as log:
        await children.start(
            "ours", system.redis.url, subscribers, processes, log, ServiceKeys().prefix
        )
        try:
            # Every subscriber holds the stored version first (the store has one by now).
            await wait_until(
                lambda: any(len(t) == subscribers for t in children.applied.values()), 60
            )
            heard_before, fetches_before = set(children.applied), system.fetches
            started = time.time()
            await children.report_outdated()

            def new_versions() -> list[list[float]]:
                return [t for key, t in children.applied.items() if key not in heard_before]

            await wait_until(lambda: any(len(t) == subscribers for t in new_versions()), 60)
            converged = max(max(t) for t in new_versions() if len(t) == subscribers)
            await wait_until(lambda: children.reported == processes, 60)
        finally:
            await children.stop()
    return children.accepted, system.fetches - fetches_before, (converged - started) * 1000


async def _delete(url: str, key: str) -> None:
    redis = connect(url)
    try:
        await redis.delete(key)
    finally:
        await redis.aclose()


async def burst(base: str, size: int) -> None:
    limits = httpx.Limits(max_connections=size)
    async with httpx.AsyncClient(headers=HEADERS, limits=limits, timeout=120) as client:
        responses = await asyncio.gather(*(client.post(base + REFRESH) for _ in range(size)))
    assert all(r.status_code == 200 for r in responses)


def load(urls: list[str], seconds: float) -> float:
    """requests/s that one load process per URL gets from force=false refreshes."""
    command = [sys.executable, "-m", "bench.load", "--seconds", str(seconds)]
    command += ["--connections", "32", "--header", f"X-Admin-Secret: {HEADERS['X-Admin-Secret']}"]
    runs = [
        subprocess.Popen(
            [*command, f"{url}{REFRESH}?force=false"], cwd=ROOT, stdout=subprocess.PIPE
        )
        for url in urls
    ]
    results = [json.loads(run.communicate()[0]) for run in runs]
    assert not any(r["failed"] for r in results), results
    return float(sum(r["rps"] for r in results))


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{os.cpu_count()} cores ({model}), {memory_kb / 1024 / 1024:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.sections: list[str] = []  # text after the table (the capacity model)

    def add(self, figure: str, measured: str, compared: str, goal: str) -> None:
        self.rows.append((figure, measured, compared, goal))
        print(f"{figure}: {measured} | {compared} | goal {goal}", flush=True)

    def markdown(self) -> str:
        lines = ["| figure | measured | compared with (same run) | goal |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in self.rows]
        return "\n".join(lines)


def run(sizes: Sizes, report: Report) -> None:  # noqa: C901 (one straight script of measurements)
    with System() as system:
        worker = system.start("worker")
        # The burst below sends its 1,000 calls from one address: no per-address limit.
        web, base = system.start_web(MAX_CONNECTIONS_PER_ADDRESS="0")
        baseline = system.start_baseline()
        queue_runs, base_runs = [], []
        for _ in range(sizes.repeats):
            queue_runs.append(asyncio.run(http_round_trips(base + REFRESH, sizes.sequential)))
            base_runs.append(asyncio.run(http_round_trips(baseline + "/refresh", sizes.sequential)))
        (q50, q99), (b50, b99) = p50_p99(queue_runs), p50_p99(base_runs)
        report.add(
            "refresh round trip, HTTP POST force=true → 200, p50 / p99",
            f"{q50:.2f} / {q99:.2f} ms",
            f"in-process behind one HTTP hop {b50:.2f} / {b99:.2f} ms: "
            f"**{q50 / b50:.2f}x / {q99 / b99:.2f}x**",
            "≤ 1.25x / ≤ 2x",
        )
        stop(system, "baseline")

        ours, rq_runs, bare = [], [], []
        for _ in range(sizes.repeats):
            ours.append(asyncio.run(our_enqueue_to_result(system.redis.url, sizes.sequential)))
            bare.append(bare_work(system, sizes.sequential))
        stop(system, "worker")
        for _ in range(sizes.repeats):
            rq_runs.append(rq_enqueue_to_result(system, sizes.sequential))
            stop(system, "rq")
        arq_default = [arq_enqueue_to_result(system, 0.5, sizes.arq_default)]
        stop(system, "arq")
        arq_tuned = [arq_enqueue_to_result(system, 0.01, sizes.sequential)]
        stop(system, "arq")
        o50, o99 = p50_p99(ours)
        r50, _ = p50_p99(rq_runs)
        a50, _ = p50_p99(arq_default)
        t50, _ = p50_p99(arq_tuned)
        w50, _ = p50_p99(bare)
        report.add(
            "same job, enqueue → result, no HTTP, p50 (p99)",
            f"{o50:.2f} ms ({o99:.2f})",
            f"rq 3 SimpleWorker {r50:.2f} ms: **{o50 / r50:.2f}x**; arq 0.28 default "
            f"{a50:.0f} ms: **{o50 / a50:.3f}x**; arq polling every 10 ms {t50:.2f} ms: "
            f"**{o50 / t50:.2f}x**; the bare work {w50:.2f} ms",
            "≤ 0.8x rq, ≤ 0.01x arq default, ≤ 0.25x arq tuned",
        )

        curve = []
        for count in sizes.workers:
            started = [system.start("worker") for _ in range(count)]
            curve.append(
                statistics.median(asyncio.run(http_round_trips(base + REFRESH, sizes.sequential)))
            )
            for process in started:
                process.stop()
                system.processes.remove(process)
        report.add(
            "round trip p50 with 1 → 8 workers",
            " / ".join(f"{n}: {ms:.2f} ms" for n, ms in zip(sizes.workers, curve, strict=True)),
            "one worker reads at a time (the lease); the others stand by",
            "flat",
        )
        worker = system.start("worker")
        stop(system, "web")

    with System() as system:
        worker = system.start("worker")
        # The burst's 1,000 connections all come from 127.0.0.1: the per-address bound
        # (100, issue 22) would refuse 900 of them, as for a client without a proxy.
        web, base = system.start_web(MAX_CONNECTIONS_PER_ADDRESS="0")
        for delay in (0.0, 0.1):
            system.configure_stub(delay=delay)
            asyncio.run(_delete(system.redis.url, ServiceKeys().outdated_report))  # a new interval
            accepted, fetches, converged = asyncio.run(
                outdated_storm(system, base, sizes.storm, sizes.fanout_processes)
            )
            report.add(
                f"{sizes.storm} subscribers report a 405 at once, upstream answering in "
                f"{delay * 1000:.0f} ms",
                f"{fetches} upstream fetch(es), {accepted} report(s) accepted; every "
                f"subscriber on the new version {converged:.0f} ms after the first report",
                f"spread over {sizes.fanout_processes} processes, as in the fan-out",
                "1 fetch; ≤ 250 ms (0 ms upstream)",
            )
        for delay in (0.0, 0.1, 0.3):
            system.configure_stub(delay=delay)
            counts = []
            for _ in range(sizes.repeats):
                before = system.fetches
                asyncio.run(burst(base, sizes.burst))
                counts.append(system.fetches - before)
            report.add(
                f"{sizes.burst} concurrent force=true, upstream answering in {delay * 1000:.0f} ms",
                f"{statistics.median(counts):.0f} upstream fetches (runs: {counts})",
                "all answered 200",
                "1, at most 2",
            )
        system.configure_stub(delay=0.0)
        rps = {
            kind: statistics.median(
                held_state.load(base, kind, sizes.load_seconds, 32) for _ in range(sizes.repeats)
            )
            for kind in held_state.QUERIES
        }
        report.add(
            "GET / force=false inside the min interval, from the web's held state, "
            "one uvicorn worker",
            f"{rps['GET']:.0f} / {rps['force=false']:.0f} requests/s",
            "32 keep-alive connections from bench.load in another process",
            "≥ 3,000",
        )
        web_rss, worker_rss = peak_rss_mb(web), peak_rss_mb(worker)
        scaling = []
        for count in sizes.webs:
            bases = [base] + [system.start_web()[1] for _ in range(count - 1)]
            scaling.append(load(bases, sizes.load_seconds))
        report.add(
            "force=false requests/s with 1 → 4 web processes",
            " / ".join(f"{n}: {r:.0f}" for n, r in zip(sizes.webs, scaling, strict=True)),
            f"{os.cpu_count()} cores shared with the load generators and Redis",
            "",
        )
        report.add(
            "peak RSS after the load, web / worker",
            f"{web_rss:.0f} MB / {worker_rss:.0f} MB",
            "VmHWM of the processes",
            "≤ 80 MB / ≤ 60 MB",
        )

    for row in sections.event_delay_rows(sizes.streams, sizes.stream_changes, sizes.repeats):
        report.add(*row)
    for row in sections.fleet_rows(sizes.fleet_managers, sizes.fleet_runs):
        report.add(*row)

    fleet: list[fanout.Figures] = []
    for count in sizes.subscribers:
        figures = asyncio.run(
            fanout.measure(count, sizes.fanout_processes, sizes.changes, sizes.fanout_rounds)
        )
        fleet.append(figures)
        mine, raw_pubsub, after = figures.ours, figures.raw, figures.restart
        report.add(
            f"change → {count:,} subscribers hold it, p50 / p99",
            f"{mine.p50:.1f} / {mine.p99:.1f} ms (on_change {mine.called_p50:.1f} / "
            f"{mine.called_p99:.1f} ms)",
            f"raw redis-py pub/sub, {count:,} connections: {raw_pubsub.p50:.1f} / "
            f"{raw_pubsub.p99:.1f} ms: **{mine.p50 / raw_pubsub.p50:.2f}x / "
            f"{mine.p99 / raw_pubsub.p99:.2f}x**",
            "≤ 1.2x",
        )
        report.add(
            f"Redis restart (data lost), {count:,} subscribers",
            f"all hold the next version {after.converged_ms:.0f} ms after Redis is back",
            f"Redis CPU {after.redis_cpu_ms:.0f} ms meanwhile; peak "
            f"{after.peak_connections:,.0f} new connections/s",
            "≤ 2 s (5,000)",
        )

    idle = asyncio.run(footprint.measure(sizes.footprint))
    held = f"{sizes.footprint:,} idle subscribers in one process"
    report.add(
        "connections per idle subscriber",
        f"{idle['connections']:.2f}",
        f"{held}: one connection each, subscribed and read on (2.00 before this release)",
        "",
    )
    report.add(
        "manager RSS per subscriber",
        f"{idle['rss_kb']:.0f} KB",
        f"(RSS with {sizes.footprint:,} - RSS with 1) / {sizes.footprint - 1:,}",
        "",
    )
    report.add(
        "Redis memory per subscriber connection",
        f"{idle['redis_kb']:.1f} KB",
        f"INFO memory used_memory added / connections, idle ({held}); just connected "
        f"{idle['fresh_kb']:.1f} KB (a 16 KB reply buffer, shrunk when idle); "
        f"CLIENT LIST tot-mem {idle['client_kb']:.1f} KB",
        "",
    )
    report.sections.append(capacity.model(fleet, idle))


NOTES = """
## How to read it

- *Round trip* is sequential `force=true` refreshes through the real web and worker
  processes, each making a fetch of its own, against the same fetch,
  HSET and PUBLISH done inside the request handler of a uvicorn process with the same
  logging (`bench/baseline.py`). The difference is the queue's price: the XADD, the
  worker's wake-up, the answer through pub/sub: two more processes on the critical path
  of a machine whose two cores also run the client, Redis and the stub.
- *Enqueue → result* runs the same fetch + HSET + PUBLISH as a job in each system, on
  the same Redis and stub; rq 3 with `SimpleWorker`, arq 0.28 with its defaults (it polls
  the queue and the result every 0.5 s) and tuned to poll every 10 ms.
- *Concurrent refreshes*: 1,000 forced calls sent at once over 1,000 connections. A
  forced call is answered by a fetch that ended after it arrived: calls arriving while a
  fetch is under way join it, and a burst in hand is gathered until it pauses for 20 ms.
  On 2 cores the 1,000 calls reach the worker over 300 to 700 ms, with pauses, so the count
  depends on how long the upstream takes: about (arrival spread) / (fetch time) + 1.
  WhatsApp Web answers in a few hundred milliseconds; 0 ms is the worst case.
- *GET / force=false* requests are answered by the web process alone, from its held
  copy of the state (shared/held_state.py), read again only after a write is announced;
  the goal is for force=false. `bench/held_state.py --compare-with REF` compares it with
  another git ref's web.
- *Change → SSE event* (`bench/event_delay.py`): a web process with that many
  `/admin/whatsapp/version/events` streams open; each forced refresh stores a new
  version, timed from the moment a plain Redis subscriber hears its announcement (and,
  beside it, from the refresh request) to each stream's event.
- *Fleet* (`bench/fleet.py`): that many connections named as managers name their own,
  spread over the servers; GET /admin/whatsapp/fleet's build on a cache miss (CLIENT LIST
  of every server, parsed and grouped off the event loop), the longest the web's event
  loop was blocked meanwhile, and Redis's CPU for it (INFO CPU, summed over the servers).
- The goals of the event-stream and fleet rows are this project's own, not the issue's.
- *Fan-out* spreads the given number of subscribers over 8 child processes, each child
  standing for many one-subscriber managers (more children, with smaller heaps and fewer
  subscribers in lockstep on one event loop, come closer to a real fleet; the children
  freeze their heap once ready, which both kinds get). Two kinds take turns in fresh
  processes (raw, ours, ours, raw): `VersionSubscriber`s, one connection each, and
  redis-py `PubSub`s with its defaults, each on its own connection, reading with
  `get_message` and decoding the JSON (the least a Python subscriber does). A change is
  timed from PUBLISH to the moment the subscriber holds it (`current` returns it:
  `current_since`) and, in brackets, to its `on_change` callback, which runs in a task
  of its own after the process's other subscribers were served. Our subscribers decode
  each message once per process; a real manager, alone in its process, decodes it once
  too. Delivery is bound by the children's CPU on 2 cores, so it grows with the count.
- *Redis restart*: the server is stopped and started (its data lost); once it accepts
  connections a new version is stored, and the time runs until every subscriber holds
  it. Redis's CPU over that time is read from /proc; new connections per second are
  `total_connections_received` sampled every 100 ms, the busiest 1 s window. The
  subscribers' own CPU (4 to 8 Python processes on 2 cores, reconnecting 1,250 each) is
  what bounds it here: in a fleet each manager reconnects on its own machine.
- *405 storm*: 1,000 subscribers in the bench process, connected, each call
  `report_outdated()` once at the same moment (the cluster-wide rate-limit key cleared
  before each storm, as at the start of a new interval); timed until every one holds
  the version the worker then fetched.
- *Footprint* (`bench/footprint.py`) holds 1 and then 1,000 idle subscribers in one
  child process; RSS per subscriber leaves out what a process pays once (the
  interpreter, imports), and Redis's figures are read while they are connected.

## Run by hand

Long runs and fault scenarios, not in this table (their figures are in
docs/operations.md and README.md):
`python -m bench.held_connections` (connections held without a request),
`python -m bench.hostile_upstream` (decompression bombs from the upstream),
`python -m bench.job_flood --jobs 1000000` (a flooded job stream),
`python -m bench.unauthenticated_flood` (requests without the secret), and
`python -m bench.wa_version_command` (the `wa-version` command's cost).
"""


# A section of BENCHMARKS.md this script does not measure (the test suite's wall time,
# measured with `time ./dev test`), carried over when the file is written anew.
KEPT_HEADING = "## The test suite"


def kept_section(path: Path) -> str:
    """The KEPT_HEADING section of the current `path`, to its end; empty when absent."""
    text = path.read_text() if path.exists() else ""
    start = text.find(f"\n{KEPT_HEADING}\n")
    return "" if start < 0 else "\n" + text[start:].strip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    report = Report()
    run(QUICK if args.quick else Sizes(), report)
    for section in report.sections:
        print(section)
    if args.quick:
        return
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    kept = kept_section(args.output)
    args.output.write_text(
        f"# Benchmarks\n\nMeasured {today} by `./dev bench` on {machine()}; "
        f"{describe_server().split(', /')[0]}), everything on loopback. Each figure is a "
        "median over repeated runs; each comparison is measured in the same run.\n\n"
        + report.markdown()
        + "\n"
        + "".join(report.sections)
        + NOTES
        + kept
    )
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
