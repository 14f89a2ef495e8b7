"""`python -m worker refresh`: one refresh from a shell or Heroku Scheduler."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import Launcher
from tests.e2e.processes import ROOT

pytestmark = pytest.mark.slow


def refresh(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", "refresh", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_refresh_then_no_force_inside_the_interval(
    launch: Launcher, base_env: dict[str, str]
) -> None:
    """The --no-force call answers without a job and cancels its result subscription while
    redis-py may still be connecting it; it used to hang there (see _raise_if_cancelled)."""
    launch("worker")
    forced = refresh(base_env)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["refreshed"] is True
    gentle = refresh(base_env, "--no-force")
    assert gentle.returncode == 0, gentle.stderr
    assert json.loads(gentle.stdout)["refreshed"] is False


def test_without_a_worker_it_says_so_and_exits_3(base_env: dict[str, str]) -> None:
    done = refresh({**base_env, "REFRESH_WAIT": "1s", "REFRESH_DEADLINE": "500ms"})
    assert done.returncode == 3
    assert "no worker answered the refresh within 1s" in done.stderr
