"""`wa-version`, the command of the Python client (a console script) and of the npm
package (its `bin`): the version the service holds on stdout and exit 0; otherwise one
line on stderr, nothing on stdout, and a non-zero status, within its timeout."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from devtools.embedded import free_port
from devtools.publishing import publish_version
from devtools.sentinels import SentinelDeployment
from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import ROOT, refresh_command
from tests.support import wait_until
from tests.tls import TlsRedis, tls_redis
from wa_version_client.deployment import connect
from wa_version_client.version_command import DEFAULT_TIMEOUT

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]
__all__ = ["tls_redis"]  # the fixture, imported for a test of this module

NODE_CLIENT = ROOT / "clients" / "node"
# The console script the venv's install of the project made (pip install -e '.[dev]'),
# and the package's bin as `node` runs it.
COMMANDS = {
    "python": [str(Path(sys.executable).parent / "wa-version")],
    "node": [shutil.which("node") or "node", str(NODE_CLIENT / "bin" / "wa-version.js")],
}
# Beyond its own timeout, what starting the interpreter may take on a loaded machine:
# past this, the command hung.
START_MARGIN = 10.0


def wa_version(
    command: list[str], env: dict[str, str], *args: str, bound: float = DEFAULT_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """The command run with `env` (and PATH only) as its environment; its outcome.
    Raises TimeoutExpired if it is still running `bound` + START_MARGIN seconds later."""
    return subprocess.run(
        [*command, *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=bound + START_MARGIN,
    )


def one_line(outcome: subprocess.CompletedProcess[str]) -> str:
    """The failure's one line on stderr (nothing on stdout)."""
    assert outcome.stdout == ""
    (line,) = outcome.stderr.splitlines()
    assert line.startswith("wa-version: ")
    return line


@pytest.fixture(params=sorted(COMMANDS))
def command(request: pytest.FixtureRequest) -> list[str]:
    return COMMANDS[request.param]


HELD = 1026131999


async def holds(redis: Redis, keys: ServiceKeys, version: str) -> bool:
    return await redis.hget(keys.version, "string") == version


@pytest.fixture
async def serving(
    launch: Launcher,
    base_env: dict[str, str],
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
) -> dict[str, str]:
    """A worker, started, fetched 2.3000.HELD from the stub and stored it: the REDIS_URL
    and REDIS_PREFIX to run the command with."""
    upstream.configure(revision=HELD)
    launch("worker", AUTO_REFRESH_INTERVAL="1h")  # fetches at start, as a deployed one does
    await wait_until(lambda: holds(redis, keys, f"2.3000.{HELD}"), within=30)
    return {"REDIS_URL": base_env["REDIS_URL"], "REDIS_PREFIX": base_env["REDIS_PREFIX"]}


async def test_prints_the_version_the_service_holds(
    command: list[str], serving: dict[str, str]
) -> None:
    """A worker refreshed at its start (from the stub); the command prints that version."""
    outcome = await asyncio.to_thread(wa_version, command, serving)
    assert (outcome.returncode, outcome.stdout, outcome.stderr) == (0, f"2.3000.{HELD}\n", "")


async def test_a_failing_service_is_a_warning_and_the_version_still(
    command: list[str], serving: dict[str, str], base_env: dict[str, str], upstream: StubUpstream
) -> None:
    """The service's refreshes fail (upstream answers 503): the version held is printed,
    exit 0 (a gateway starts on the best there is), and one warning line says why, in
    the clients' words for isLatest: false."""
    upstream.configure(status=503)
    failed = await asyncio.to_thread(refresh_command, base_env)
    assert failed.returncode == 1, failed.stderr
    outcome = await asyncio.to_thread(wa_version, command, serving)
    assert (outcome.returncode, outcome.stdout) == (0, f"2.3000.{HELD}\n")
    (line,) = outcome.stderr.splitlines()
    warning = f"wa-version: warning: 2.3000.{HELD} may not be the latest: the service's last"
    assert line.startswith(warning)
    assert "HTTP 503" in line


def test_nothing_held_is_one_line_and_status_1(
    command: list[str], base_env: dict[str, str], prefix: str
) -> None:
    outcome = wa_version(command, {"REDIS_URL": base_env["REDIS_URL"], "REDIS_PREFIX": prefix})
    assert outcome.returncode == 1
    assert f"no version is held in {prefix}:version" in one_line(outcome)


def test_redis_refusing_is_one_line_and_status_4(command: list[str]) -> None:
    port = free_port()
    outcome = wa_version(command, {"REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    assert outcome.returncode == 4
    assert f"127.0.0.1:{port}" in one_line(outcome)  # what could not be reached


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: the URL of it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes each handshake; nothing reads or replies
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def test_a_silent_redis_ends_it_at_the_default_timeout(
    command: list[str], silent_server: str
) -> None:
    """No --timeout: it gives up after DEFAULT_TIMEOUT (5 s), not never."""
    outcome = wa_version(command, {"REDIS_URL": silent_server})
    assert outcome.returncode == 4
    assert one_line(outcome) == f"wa-version: Redis did not answer within {DEFAULT_TIMEOUT:g} s"


def test_timeout_bounds_the_wait(command: list[str], silent_server: str) -> None:
    outcome = wa_version(command, {"REDIS_URL": silent_server}, "--timeout", "0.5", bound=0.5)
    assert outcome.returncode == 4
    assert one_line(outcome) == "wa-version: Redis did not answer within 0.5 s"


def test_a_bad_setting_is_one_line_and_status_2(command: list[str]) -> None:
    outcome = wa_version(command, {"REDIS_URL": "http://127.0.0.1:6379"})
    assert outcome.returncode == 2
    one_line(outcome)


async def test_python_reads_through_sentinel(
    sentinel_deployment: SentinelDeployment, prefix: str
) -> None:
    """The Python command connects through the client's deployment seam: a Sentinel URL
    reads the primary the sentinels name."""
    writer = connect(sentinel_deployment.url())
    try:
        await publish_version(writer, ServiceKeys(prefix), 900)
    finally:
        await writer.aclose()
    env = {"REDIS_URL": sentinel_deployment.url(), "REDIS_PREFIX": prefix}
    outcome = wa_version(COMMANDS["python"], env)
    assert (outcome.returncode, outcome.stdout) == (0, "2.3000.900\n"), outcome.stderr


async def test_reads_over_tls_as_heroku_serves_it(
    command: list[str], tls_redis: TlsRedis, prefix: str
) -> None:
    """A `rediss://` URL with a password and a self-signed certificate, accepted with
    REDIS_SSL_CERT_REQS=none as the service's processes accept it."""
    writer = connect(tls_redis.plain_url)
    try:
        await publish_version(writer, ServiceKeys(prefix), 902)
    finally:
        await writer.aclose()
    env = {
        "REDIS_URL": tls_redis.url(),
        "REDIS_SSL_CERT_REQS": "none",
        "REDIS_PREFIX": prefix,
    }
    outcome = await asyncio.to_thread(wa_version, command, env)
    assert (outcome.returncode, outcome.stdout) == (0, "2.3000.902\n"), outcome.stderr


def test_the_npm_package_carries_the_bin() -> None:
    """`npm pack` puts bin/wa-version.js in the package, and package.json names it."""
    packed = subprocess.run(
        ["npm", "pack", "--dry-run", "--json", "--loglevel=error"],
        cwd=NODE_CLIENT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (package,) = json.loads(packed.stdout)
    assert "bin/wa-version.js" in {entry["path"] for entry in package["files"]}
    manifest = json.loads((NODE_CLIENT / "package.json").read_text())
    assert manifest["bin"] == {"wa-version": "bin/wa-version.js"}


async def test_npm_exec_runs_the_installed_bin(
    tmp_path: Path, redis: Redis, base_env: dict[str, str], keys: ServiceKeys
) -> None:
    """In a project that installed the package, `npm exec wa-version` (the bin npm linked
    into node_modules/.bin) prints the version held."""
    await publish_version(redis, keys, 901)
    await asyncio.to_thread(npm_exec_in, tmp_path, base_env)


def npm_exec_in(project: Path, base_env: dict[str, str]) -> None:
    npm = ["npm", "--loglevel=error", "--no-audit", "--no-fund"]
    subprocess.run([*npm, "init", "-y"], cwd=project, capture_output=True, check=True)
    # A directory installs as a link, its dependencies where it is: nothing is downloaded.
    install = [*npm, "install", "--offline", str(NODE_CLIENT)]
    subprocess.run(install, cwd=project, capture_output=True, check=True, timeout=120)
    env = {"REDIS_URL": base_env["REDIS_URL"], "REDIS_PREFIX": base_env["REDIS_PREFIX"]}
    outcome = subprocess.run(
        [*npm, "exec", "--offline", "--", "wa-version"],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=DEFAULT_TIMEOUT + START_MARGIN,
    )
    assert (outcome.returncode, outcome.stdout) == (0, "2.3000.901\n"), outcome.stderr
