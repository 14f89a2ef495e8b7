"""What the Python client's two READMEs tell a connection manager to paste: the install
lines (README.md's and clients/python/README.md's, the same block) and each README's
example, run as written.

The install lines run offline: pip reads the wheels `./dev` keeps in .venv/wheelhouse
(PIP_NO_INDEX, PIP_FIND_LINKS: the lines themselves are unchanged), and the repository's
URL is a git repository on disk holding the client, as a clone's would be.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from devtools.stub_upstream import StubUpstream
from tests.e2e.conftest import Launcher
from tests.e2e.dev_checkout import run, shell_env
from tests.e2e.processes import ROOT
from tests.readme_blocks import PYTHON_CLIENT, readme_blocks, section_blocks
from tests.support import wait_until
from wa_version_client.contract import Keys

pytestmark = pytest.mark.slow

CLIENT = ROOT / "clients" / "python"
WHEELHOUSE = Path(sys.executable).parents[1] / "wheelhouse"


def client_readme_blocks(lang: str) -> list[str]:
    return [b.text for b in readme_blocks((CLIENT / "README.md").read_text()) if b.lang == lang]


def install_lines() -> list[str]:
    """The pip lines of the README's install block; the client README shows the same."""
    (block,) = section_blocks(PYTHON_CLIENT, "sh")
    assert client_readme_blocks("sh") == [block.text]
    return [line for line in block.text.splitlines() if line.startswith("pip ")]


def git_repository(into: Path) -> Path:
    """A repository holding the client where a clone holds it, committed."""
    subprocess.run(["git", "init", "--quiet", str(into)], check=True)
    copy_client(into)
    git = ["git", "-C", str(into), "-c", "user.name=test", "-c", "user.email=test@localhost"]
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "--message", "the client"], check=True)
    return into


def copy_client(checkout: Path) -> None:
    """The client's source at clients/python of `checkout` (a pip build writes beside it)."""
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    shutil.copytree(CLIENT, checkout / "clients" / "python", ignore=ignore)


@pytest.mark.parametrize("which", [0, 1], ids=["from a checkout", "from the repository's URL"])
def test_the_install_lines_install_the_client(which: int, tmp_path: Path) -> None:
    """Each pip line, run as written in a fresh venv, installs a client that imports."""
    assert WHEELHOUSE.is_dir(), "run ./dev test: it prepares .venv/wheelhouse"
    lines = install_lines()
    assert len(lines) == 2, lines
    checkout = tmp_path / "checkout"
    copy_client(checkout)
    repository = git_repository(tmp_path / "repository")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = shell_env(
        PATH=f"{venv / 'bin'}:{shell_env()['PATH']}",
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(WHEELHOUSE),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        # With a host, as every https or ssh URL has: pip (23.2) refuses `name @ URL`
        # without one, and git reads file://localhost/PATH as the directory PATH.
        REPOSITORY_URL=f"file://localhost{repository}",
    )
    installed = subprocess.run(
        ["bash", "-c", lines[which]], cwd=checkout, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    probe = "import wa_version_client, redis; print(wa_version_client.__file__)"
    imported = run(tmp_path, f"{venv / 'bin' / 'python'} -c '{probe}'", env)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(str(venv)), imported.stdout


def example(readme: str) -> str:
    """The Python block of `readme`'s client section."""
    if readme == "README.md":
        (block,) = section_blocks(PYTHON_CLIENT, "python")
        return block.text
    (text,) = client_readme_blocks("python")
    return text


@pytest.mark.server_sensitive
@pytest.mark.parametrize("readme", ["README.md", "clients/python/README.md"])
async def test_the_python_client_example_runs_as_pasted(
    readme: str,
    launch: Launcher,
    upstream: StubUpstream,
    redis_server: RedisServer,
    redis: Redis,
    prefix: str,
    tmp_path: Path,
) -> None:
    """Each README's Python block, as a script: it connects with the version held,
    reports it outdated, and reconnects with the newer one the refresh it asked for
    brought (WhatsApp Web moved on)."""
    launch("worker", AUTO_REFRESH_INTERVAL="1h")  # fetches at start, as a deployed one does
    await wait_until(lambda: redis.hexists(Keys(prefix).version, "seq"), within=30)
    upstream.configure(revision=1026131877)  # WhatsApp Web moves on
    script = tmp_path / "example.py"
    script.write_text(example(readme))
    env = shell_env(REDIS_URL=redis_server.url, REDIS_PREFIX=prefix)
    outcome = run(tmp_path, f"{sys.executable} {script}", env)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.splitlines() == [
        "connect with [2, 3000, 1026131876]",
        "reconnect with [2, 3000, 1026131877]",
    ]
