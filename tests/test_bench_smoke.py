"""The benchmark scripts still run (tiny sizes); their figures are read by people, not asserted."""

from __future__ import annotations

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
    """`python -m bench --quick`: every measurement, rq and arq included, at tiny sizes."""
    output = run("bench", "--quick", "--output", str(tmp_path / "BENCHMARKS.md"))
    for figure in (
        "refresh round trip",
        "rq 3 SimpleWorker",
        "arq 0.28 default",
        "upstream fetches",
        "report_outdated() calls",
        "requests/s",
        "peak RSS",
        "subscribers' on_change",
    ):
        assert figure in output


def test_the_peers_send_the_workers_browser_headers() -> None:
    """The peers' job keeps a copy of the worker's headers: the stub's gate refuses less."""
    assert HEADERS == BROWSER_HEADERS
