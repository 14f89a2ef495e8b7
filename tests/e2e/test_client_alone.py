"""The client a connection manager installs: alone in a fresh venv, it follows the service.

`pip install shared/client` brings `wa_version_client` and redis-py, nothing of the
service's; a manager's process then follows a refresh the service makes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Launcher
from tests.e2e.processes import ROOT, Process
from tests.support import AUTH, REFRESH, wait_until

pytestmark = pytest.mark.slow

WHEELHOUSE = Path(sys.executable).parents[1] / "wheelhouse"

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


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the client (and redis-py, its one dependency), installed
    from the client's wheel, offline."""
    assert WHEELHOUSE.is_dir(), "run ./dev test: it prepares .venv/wheelhouse"
    source = tmp_path_factory.mktemp("source") / "client"  # the build writes beside it
    shutil.copytree(ROOT / "shared" / "client", source, ignore=shutil.ignore_patterns("build"))
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
         "wa-version-client"],
        check=True, capture_output=True,
    )  # fmt: skip
    return venv


def test_the_client_installs_nothing_of_the_service(client_venv: Path) -> None:
    """The venv holds wa-version-client and redis; no starlette, httpx, api, worker."""
    python = str(client_venv / "bin" / "python")
    listed = subprocess.run(
        [*pip_for(client_venv), "list", "--format=freeze"], capture_output=True, text=True
    ).stdout.lower()
    names = {line.split("==")[0] for line in listed.splitlines()}
    assert {"wa-version-client", "redis"} <= names
    assert not names & {"starlette", "uvicorn", "httpx", "tenacity", "prometheus-client"}
    probe = "import importlib.util as u; print([m for m in ('api', 'worker', 'shared') if u.find_spec(m)])"  # noqa: E501 (one line of Python for -c)
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd="/")
    assert found.stdout.strip() == "[]"


async def test_a_manager_with_only_the_client_follows_a_refresh(
    client_venv: Path,
    launch: Launcher,
    start_web: Callable[..., Process],
    base_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """A process in the client-only venv, set up from the same environment, holds the
    version a refresh through the service's web and worker just applied."""
    script = tmp_path / "follow.py"
    script.write_text(FOLLOW)
    manager = subprocess.Popen(  # noqa: ASYNC220 (a long-running process, read below)
        [str(client_venv / "bin" / "python"), str(script)],
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
