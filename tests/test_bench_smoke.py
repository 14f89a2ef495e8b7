"""The benchmark scripts still run (tiny sizes); their figures are read by people, not asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.peers.job import HEADERS
from worker.fetch import BROWSER_HEADERS

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_fanout_bench_runs() -> None:
    output = run("bench.fanout", "--subscribers", "20", "--processes", "2", "--changes", "2")
    assert "change -> on_change" in output
    assert "Redis restarted" in output


def test_the_benchmark_suite_runs(tmp_path: Path) -> None:
    """`python -m bench --quick`: every measurement, rq and arq included, at tiny sizes.

    Each row named below prints a figure; the footprint's connections row too, so the
    footprint step (bench/footprint.py) is run by the suite.
    """
    output = run("bench", "--quick", "--output", str(tmp_path / "BENCHMARKS.md"))
    rows = dict(_row(line) for line in output.splitlines() if " | goal" in line)
    for figure in (
        "refresh round trip",
        "same job, enqueue → result",
        "upstream answering in 300 ms",
        "report_outdated() calls",
        "force=false inside the min interval",
        "peak RSS",
        "subscribers' on_change",
        "connections per idle subscriber",
    ):
        measured = next(value for name, value in rows.items() if figure in name)
        numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", measured)]
        assert numbers, f"{figure}: no figure in {measured!r}"
        assert all(n >= 0 for n in numbers)
        assert any(n > 0 for n in numbers), f"{figure}: nothing measured in {measured!r}"


def _row(line: str) -> tuple[str, str]:
    """A printed row `figure: measured | compared | goal …` as (figure, measured)."""
    name, _, rest = line.partition(": ")
    return name, rest.split(" | ")[0]


def test_the_peers_send_the_workers_browser_headers() -> None:
    """The peers' job keeps a copy of the worker's headers: the stub's gate refuses less."""
    assert HEADERS == BROWSER_HEADERS
