"""The cluster pub/sub benchmark (bench/cluster_pubsub.py) still runs, at tiny sizes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_cluster_pubsub_bench_runs() -> None:
    """`python -m bench.cluster_pubsub --quick` on a Valkey 8.1 cluster exits 0 and prints
    the p50 of SPUBLISH and of PUBLISH; its figures are read by people, not asserted."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.cluster_pubsub", "--quick"],
        cwd=ROOT,
        env={**os.environ, "REDIS_SERVER": "valkey-8.1"},
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr
    assert "p50 ms" in done.stdout
    rows = {line[:16].strip(): line[16:].split() for line in done.stdout.splitlines()}
    for mode in ("SPUBLISH, shard", "PUBLISH, shard", "PUBLISH, spread"):
        assert float(rows[mode][0]) > 0, f"{mode}: no p50 in {done.stdout}"
