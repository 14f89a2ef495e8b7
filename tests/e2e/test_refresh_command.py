"""`python -m worker refresh`: one refresh from a shell or Heroku Scheduler."""

from __future__ import annotations

import json

import pytest

from devtools.embedded import free_port
from tests.e2e.conftest import Launcher
from tests.e2e.processes import refresh_command as refresh

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


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


def test_without_redis_it_says_so_in_one_line_and_exits_4(base_env: dict[str, str]) -> None:
    """Nothing listens at REDIS_URL: one line on stderr naming Redis's error, no
    traceback, exit status 4 (not 1, which means the refresh itself failed)."""
    closed = f"redis://127.0.0.1:{free_port()}/0"
    done = refresh({**base_env, "REDIS_URL": closed})
    assert done.returncode == 4, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert json.loads(lines[0])["error"].startswith("Redis: ConnectionError: Error 111")
    assert done.stdout == ""
