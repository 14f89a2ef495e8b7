"""The benchmark scripts still run (tiny sizes); their figures are read by people, not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_roundtrip_bench_runs() -> None:
    output = run("bench.roundtrip", "--requests", "5", "--burst", "10", "--bursts", "1")
    assert "sequential force=true refreshes: n=5" in output
    assert "burst of 10 concurrent force=true: 10 answered 200" in output
