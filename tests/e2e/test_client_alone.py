"""The client a connection manager installs: alone in a fresh venv, it follows the service.

`pip install clients/python` brings `wa_version_client` and redis-py, nothing of the
service's; a manager's process then follows a refresh the service makes. Both on the
oldest redis-py the client declares (its floor) and on the newest the service installs.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Launcher
from tests.e2e.processes import ROOT, Process
from tests.support import AUTH, REFRESH, wait_until

pytestmark = pytest.mark.slow

WHEELHOUSE = Path(sys.executable).parents[1] / "wheelhouse"
CLIENT_SOURCE = ROOT / "clients" / "python"


def declared_floor() -> str:
    """The oldest redis-py the client's pyproject.toml admits (`redis>=X`)."""
    project = tomllib.loads((CLIENT_SOURCE / "pyproject.toml").read_text())["project"]
    requirement: str
    (requirement,) = project["dependencies"]
    name, _, floor = requirement.partition(">=")
    assert name.strip() == "redis", requirement
    assert floor, requirement
    return floor.split(",")[0].strip()


# The floor, exactly, and the release the service runs on (the newest it admits).
REDIS_PY = {"floor": declared_floor(), "newest": importlib.metadata.version("redis")}

FOLLOW = textwrap.dedent(
    """
    import asyncio, sys
    from wa_version_client import VersionSubscriber

    async def main() -> None:
        async with VersionSubscriber.from_env() as versions:
            print("ready", flush=True)
            newest = await versions.wait_newer(versions.current, within=60)
            print(newest.string if newest else "nothing", flush=True)

    asyncio.run(main())
    """
)


def pip_for(venv: Path) -> list[str]:
    """The test's pip, working on `venv`'s packages."""
    return [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]


@pytest.fixture(scope="module", params=sorted(REDIS_PY))
def client_venv(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> tuple[Path, str]:
    """A fresh venv holding only the client and redis-py (its one dependency, at the
    floor or the newest), installed from the client's wheel, offline."""
    assert WHEELHOUSE.is_dir(), "run ./dev test: it prepares .venv/wheelhouse"
    source = tmp_path_factory.mktemp("source") / "client"  # the build writes beside it
    shutil.copytree(CLIENT_SOURCE, source, ignore=shutil.ignore_patterns("build"))
    wheels = tmp_path_factory.mktemp("wheels")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "--wheel-dir", str(wheels), str(source)],
                   check=True, capture_output=True)  # fmt: skip
    venv = tmp_path_factory.mktemp("client") / "venv"
    # No pip in the venv (ensurepip costs seconds): this pip installs into it (--python).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    install = [*pip_for(venv), "install", "--quiet", "--no-index"]
    subprocess.run(
        [*install, "--find-links", str(WHEELHOUSE), "--find-links", str(wheels),
         "wa-version-client", f"redis=={REDIS_PY[request.param]}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return venv, REDIS_PY[request.param]


def test_the_client_installs_nothing_of_the_service(client_venv: tuple[Path, str]) -> None:
    """The venv holds wa-version-client and redis at the version asked for; no starlette,
    httpx, api, worker."""
    venv, redis_version = client_venv
    python = str(venv / "bin" / "python")
    listed = subprocess.run(
        [*pip_for(venv), "list", "--format=freeze"], capture_output=True, text=True
    ).stdout.lower()
    names = {line.split("==")[0] for line in listed.splitlines()}
    assert {"wa-version-client", "redis"} <= names
    assert f"redis=={redis_version}" in listed.splitlines()
    assert not names & {"starlette", "uvicorn", "httpx", "tenacity", "prometheus-client"}
    probe = "import importlib.util as u; print([m for m in ('api', 'worker', 'shared') if u.find_spec(m)])"  # noqa: E501 (one line of Python for -c)
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd="/")
    assert found.stdout.strip() == "[]"


def test_what_the_client_relies_on_in_redis_py_is_there(client_venv: tuple[Path, str]) -> None:
    """On this redis-py (the floor has no pytest for tests/clients/python/test_redis_compat.py),
    everything wa_version_client._redis_compat names is there, and the release is one
    it was checked with."""
    venv, redis_version = client_venv
    probe = "import redis; from wa_version_client import _redis_compat as c; print(c.missing(), redis.__version__ in c.CHECKED_WITH)"  # noqa: E501 (one line of Python for -c)
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, cwd="/"
    )
    assert found.stdout.strip() == "[] True", (redis_version, found.stdout, found.stderr)


@pytest.mark.server_sensitive
async def test_a_manager_with_only_the_client_follows_a_refresh(
    client_venv: tuple[Path, str],
    launch: Launcher,
    start_web: Callable[..., Process],
    base_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """A process in the client-only venv, set up from the same environment, holds the
    version a refresh through the service's web and worker just applied; so does the
    venv's `wa-version` command (the client's console script) print it."""
    venv, _ = client_venv
    script = tmp_path / "follow.py"
    script.write_text(FOLLOW)
    manager = subprocess.Popen(  # noqa: ASYNC220 (a long-running process, read below)
        [str(venv / "bin" / "python"), str(script)],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], **base_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert manager.stdout is not None
        assert manager.stdout.readline().strip() == "ready"
        launch("worker")
        web = start_web()
        async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
            refreshed = (await client.post(REFRESH, headers=AUTH)).json()["data"]
        await wait_until(lambda: manager.poll() is not None, within=30)
        printed = manager.stdout.read().strip().splitlines()
    finally:
        manager.kill()
        manager.wait()
        if manager.stdout is not None:
            manager.stdout.close()
    assert printed[-1] == refreshed["wa_web_version"]["string"]
    command = await asyncio.to_thread(
        subprocess.run,
        [str(venv / "bin" / "wa-version")],
        env={"PATH": os.environ["PATH"], **base_env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (command.returncode, command.stdout) == (0, printed[-1] + "\n"), command.stderr
