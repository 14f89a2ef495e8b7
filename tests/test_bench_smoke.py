"""The benchmark scripts still run (tiny sizes); their figures are read by people, not asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import KEPT_HEADING, kept_section
from bench.peers.job import HEADERS
from worker.sources import BROWSER_HEADERS

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_fleet_bench_runs() -> None:
    """The named connections are all found, and every figure printed."""
    output = run("bench.fleet", "--managers", "30", "--runs", "2")
    assert re.search(
        r"run 2: 30 managers, built in [\d.]+ ms \(.+\),"
        r" event loop blocked [\d.]+ ms at most, Redis CPU [\d.]+ ms",
        output,
    )


def test_fleet_bench_runs_on_a_cluster() -> None:
    """Connections spread over the six nodes: every one is found."""
    output = run("bench.fleet", "--managers", "30", "--runs", "1", "--deployment", "cluster")
    assert re.search(r"run 1: 30 managers, built in [\d.]+ ms", output)


def test_fanout_bench_runs() -> None:
    """Both kinds of subscriber are measured, and the restart."""
    output = run("bench.fanout", "--subscribers", "20", "--processes", "2", "--changes", "2")
    assert re.search(r"raw: p50 [\d.]+ ms", output)
    assert re.search(r"ours: p50 [\d.]+ ms", output)
    assert re.search(r"after a restart all hold the next version in \d+ ms", output)
    assert "20 subscribers: ours/raw p50" in output


def test_hostile_upstream_bench_runs() -> None:
    """Each hostile body is measured: the worker's RSS, its peak, the refresh's answer."""
    output = run("bench.hostile_upstream", "--quick")
    for body in ("healthy sw.js", "double-gzip bomb", "single-gzip bomb", "plain body"):
        assert re.search(
            rf"{body}.*: RSS \d+ MB idle, peak \d+ MB \| refresh \d+ ms \| HTTP 200", output
        ), output


def test_node_client_bench_runs() -> None:
    """The Node and the Python client are both measured: delivery, memory, connections."""
    output = run("bench.node_client", "--changes", "3", "--subscribers", "3")
    for kind in ("node", "python"):
        assert re.search(rf"{kind}: a change reaches a subscriber p50 [\d.]+ ms", output)
        assert re.search(rf"{kind}: RSS [\d.]+ MB with 1 subscriber", output)


def test_held_state_bench_runs() -> None:
    """Both requests are loaded, each run and the medians printed; the web is told of writes."""
    output = run("bench.held_state", "--runs", "1", "--seconds", "0.3")
    assert "webs told of state changes: 1 of 1" in output
    for kind in ("GET", "force=false"):
        assert re.search(rf"run 1: this code: {kind} \d+ requests/s", output)
        assert re.search(rf"this code: {kind} median \d+ requests/s \(runs: \d+\)", output)


def test_held_connections_bench_runs() -> None:
    """Held attempts, the web's open files, another address's latency, what stays open."""
    output = run(
        "bench.held_connections", "--attempts", "120", "--probes", "2", "--body-timeout", "1"
    )
    assert re.search(r"open_files_while_held: \d+", output)
    assert re.search(r"other_address_answered: \d+/2", output)
    assert re.search(r"still_open_after_deadline: \d+", output)


def test_unauthenticated_flood_bench_runs() -> None:
    """Redis's connections and the time per request, per round."""
    output = run("bench.unauthenticated_flood", "--requests", "50", "--rounds", "1")
    assert re.search(r"'redis_clients_peak': \d+", output)
    assert re.search(r'"wall_ms_per_request": [\d.]+', output)


def test_the_benchmark_suite_runs(tmp_path: Path) -> None:
    """`python -m bench --quick`: every measurement, rq and arq included, at tiny sizes.

    Each row named below prints a figure; the footprint's connections row too, so the
    footprint step (bench/footprint.py) is run by the suite, and the rows of the scripts
    the suite runs through bench/sections.py (the event stream, the fleet on one server
    and on a cluster).
    """
    output = run("bench", "--quick", "--output", str(tmp_path / "BENCHMARKS.md"))
    rows = dict(_row(line) for line in output.splitlines() if " | goal" in line)
    for figure in (
        "refresh round trip",
        "same job, enqueue → result",
        "upstream answering in 300 ms",
        "report a 405 at once",
        "GET / force=false inside the min interval, from the web's held state",
        "change → SSE event, 3 streams open",
        "30 named managers built on one server",
        "30 named managers built on a cluster",
        "peak RSS",
        "subscribers hold it",
        "Redis restart (data lost)",
        "connections per idle subscriber",
    ):
        measured = next((value for name, value in rows.items() if figure in name), None)
        assert measured is not None, f"no row {figure!r} in {list(rows)}"
        numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", measured)]
        assert numbers, f"{figure}: no figure in {measured!r}"
        assert all(n >= 0 for n in numbers)
        assert any(n > 0 for n in numbers), f"{figure}: nothing measured in {measured!r}"
    model = re.search(r"One server \(primary or replica\) serves about ([\d,]+) managers", output)
    assert model, "the capacity model was not printed"
    assert int(model.group(1).replace(",", "")) > 0


def _row(line: str) -> tuple[str, str]:
    """A printed row `figure: measured | compared | goal …` as (figure, measured)."""
    name, _, rest = line.partition(": ")
    return name, rest.split(" | ")[0]


def test_the_peers_send_the_workers_browser_headers() -> None:
    """The peers' job keeps a copy of the worker's headers: the stub's gate refuses less."""
    assert HEADERS == BROWSER_HEADERS


def test_a_new_benchmarks_file_keeps_the_test_suite_section(tmp_path: Path) -> None:
    """`./dev bench` writes BENCHMARKS.md anew, but the suite's timings, measured by
    hand with `time ./dev test`, are carried over, to the end of the file."""
    path = tmp_path / "BENCHMARKS.md"
    assert kept_section(path) == ""
    path.write_text(f"# Benchmarks\n\n| figure |\n\n{KEPT_HEADING}\n\nbefore 245 s\n\nafter\n")
    assert kept_section(path) == f"\n{KEPT_HEADING}\n\nbefore 245 s\n\nafter\n"
    path.write_text("# Benchmarks\n\nno such section\n")
    assert kept_section(path) == ""


def test_job_flood_bench_runs() -> None:
    """The flood is drained and its fetches counted: one, for jobs all queued before it."""
    output = run("bench.job_flood", "--jobs", "1500")
    assert re.fullmatch(
        r"jobs=1500 fetches=1 seconds=[\d.]+ answered=1500 dead_letters=0\n", output
    ), output


def test_wa_version_command_bench_runs() -> None:
    """Both commands in each case, and the drop-in's calls."""
    output = run("bench.wa_version_command", "--runs", "1", "--calls", "10")
    for case in ("held", "refused", "silent"):
        assert re.search(rf"wa-version python {case} .* ms", output)
        assert re.search(rf"wa-version node   {case} .* ms", output)
    assert re.search(r"the first call [\d.]+ ms, then [\d.]+ µs each", output)


def test_event_delay_bench_runs() -> None:
    """Both delays are measured: from Redis's announcement and from the refresh request."""
    output = run("bench.event_delay", "--streams", "3", "--changes", "2")
    assert re.search(r"Redis announcement -> SSE event p50 [\d.]+ ms, p99 [\d.]+ ms", output)
    assert re.search(r"refresh request -> SSE event p50 [\d.]+ ms", output)
