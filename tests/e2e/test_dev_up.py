"""`./dev up` as a newcomer meets it: a port already taken, and the CLI beside it."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.embedded import RedisServer, free_port
from devtools.processes import ROOT
from tests.e2e.dev_checkout import copy_checkout, run, shell_env, terminals

pytestmark = pytest.mark.slow


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return copy_checkout(tmp_path / "clone")


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something listens on, on every interface."""
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_redis_port_is_one_line_and_nothing_starts(
    checkout: Path, redis_server: RedisServer
) -> None:
    """EMBEDDED_REDIS_PORT naming a port a server holds: one line naming it, exit 1, and
    no process started (web and worker would have met the other server)."""
    port = redis_server.port
    env = shell_env(EMBEDDED_REDIS_PORT=str(port), PORT=str(free_port()))
    outcome = run(checkout, "./dev up", env)
    assert (outcome.returncode, outcome.stdout) == (1, "")
    assert outcome.stderr.splitlines() == [
        f"dev: 127.0.0.1:{port} is taken (EMBEDDED_REDIS_PORT={port}): name another port,"
        " or unset EMBEDDED_REDIS_PORT to get a free one"
    ]
    assert not (checkout / ".dev" / "up.env").exists()


def test_a_taken_web_port_is_one_line_and_nothing_starts(checkout: Path, taken_port: int) -> None:
    """PORT naming a port something listens on: one line naming it, exit 1."""
    outcome = run(checkout, "./dev up", shell_env(PORT=str(taken_port)))
    assert (outcome.returncode, outcome.stdout) == (1, "")
    assert outcome.stderr.splitlines() == [
        f"dev: port {taken_port} is taken (PORT={taken_port}): another ./dev up? Set PORT to"
        " another port to run beside it"
    ]


def test_the_embedded_server_refuses_a_taken_port_before_its_banner(taken_port: int) -> None:
    """`python -m devtools.embedded` (Procfile.dev's redis line) on a taken port: one line,
    exit 1, and never the "embedded … on 127.0.0.1:N" line that says it is up."""
    command = f"{sys.executable} -m devtools.embedded --port {taken_port}"
    outcome = run(ROOT, command, shell_env())
    assert outcome.returncode == 1
    assert outcome.stdout == ""
    assert outcome.stderr.splitlines() == [
        f"embedded server: 127.0.0.1:{taken_port} is taken (another server listens)"
    ]


def test_dev_refresh_without_dev_up_says_so(checkout: Path) -> None:
    outcome = run(checkout, "./dev refresh", shell_env())
    assert outcome.returncode == 2
    assert outcome.stderr.splitlines()[-1] == (
        "dev: no .dev/up.env: start ./dev up first (it writes where its Redis is)"
    )


@pytest.mark.server_sensitive
def test_dev_refresh_and_redis_cli_reach_the_redis_dev_up_started(checkout: Path) -> None:
    """`./dev up` on a random Redis port; `./dev refresh`, `./dev redis-cli` and
    `./dev run` find it (.dev/up.env), with no port given; once it has stopped,
    `./dev refresh` says so."""
    env = shell_env(PORT=str(free_port()), WA_VERSION_URL="file:///nonexistent/sw.js")
    with terminals(checkout, env) as terminal:
        up = terminal("./dev up")
        up.wait_for(lambda out: "now reads refresh jobs" in out)
        refreshed = run(checkout, "./dev refresh", env)
        assert refreshed.returncode == 1  # the refresh ran, and failed: no such file
        assert "/nonexistent/sw.js" in json.loads(refreshed.stdout)["error"]
        pinged = run(checkout, "./dev redis-cli ping", env)
        assert (pinged.returncode, pinged.stdout) == (0, "PONG\n")
        printed = run(
            checkout, "./dev run python -c 'import os; print(os.environ[\"REDIS_URL\"])'", env
        )
        recorded = (checkout / ".dev" / "up.env").read_text().splitlines()
        assert f"REDIS_URL={printed.stdout.strip()}" in recorded
        up.stop()
    stale = run(checkout, "./dev refresh", env)
    assert stale.returncode == 4
    assert stale.stderr.splitlines()[-1] == (
        "dev: is ./dev up running? .dev/up.env names the Redis the last one started"
    )
