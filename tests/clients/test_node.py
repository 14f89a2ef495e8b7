"""The Node client's own tests (clients/node/test, `node --test`), each file against the
running service (see conftest.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.processes import ROOT

pytestmark = pytest.mark.slow

NODE_CLIENT = ROOT / "clients" / "node"
TEST_FILES = sorted((NODE_CLIENT / "test").glob("*.test.js"))
SENTINEL_TEST = NODE_CLIENT / "test" / "sentinel" / "failover.test.js"
TLS_TEST = NODE_CLIENT / "test" / "tls" / "heroku.test.js"
# Each test at most 60 s; a handle left open cannot keep the file's process alive.
NODE_TEST = ["--test", "--test-force-exit", "--test-timeout=60000", "--test-reporter=spec"]


def node() -> str:
    """The node binary; the suite needs Node.js 20 or later (README, Development)."""
    found = shutil.which("node")
    assert found, "node is not on PATH: the Node client's tests need Node.js 20 or later"
    return found


def run_node_tests(test_file: Path, env: dict[str, str]) -> None:
    outcome = subprocess.run(
        [node(), *NODE_TEST, str(test_file)],
        cwd=NODE_CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert outcome.returncode == 0, f"{outcome.stdout}\n{outcome.stderr}"


@pytest.mark.server_sensitive
@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.name)
def test_node_client(test_file: Path, client_env: dict[str, str]) -> None:
    """Every test in `test_file` passes against the running service (node's report shown)."""
    run_node_tests(test_file, client_env)


@pytest.mark.server_sensitive
def test_node_client_on_sentinel(sentinel_client_env: dict[str, str]) -> None:
    """The Node subscriber connects through Sentinel and follows a failover."""
    run_node_tests(SENTINEL_TEST, sentinel_client_env)


@pytest.mark.server_sensitive
def test_node_client_over_tls(tls_client_env: dict[str, str]) -> None:
    """The Node subscriber on Redis over TLS with a self-signed certificate (Heroku)."""
    run_node_tests(TLS_TEST, tls_client_env)


def readme_js_snippets() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return [block.split("```", 1)[0] for block in readme.split("```js\n")[1:]]


@pytest.mark.parametrize("index", range(len(readme_js_snippets())))
def test_the_readme_js_snippets_parse(index: int, tmp_path: Path) -> None:
    """Each JavaScript block of the README is a valid ES module (node --check)."""
    snippet = tmp_path / "snippet.mjs"
    snippet.write_text(readme_js_snippets()[index])
    outcome = subprocess.run(
        [node(), "--check", str(snippet)], capture_output=True, text=True, timeout=60
    )
    assert outcome.returncode == 0, outcome.stderr


def test_the_package_readme_stands_alone() -> None:
    """Inside node_modules the package README is all there is: no link to a file outside it."""
    readme = (NODE_CLIENT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", readme)
    outside = [target for target in targets if not target.startswith(("https://", "#"))]
    assert outside == [], f"relative links that break inside node_modules: {outside}"
    for form in ("require('wa-version-client')", "from 'wa-version-client'"):
        assert form in readme, f"the README shows {form}"


def test_the_redis_down_bench_runs() -> None:
    """bench/node_redis_down.mjs still runs (its figures are read by people, not here)."""
    outcome = subprocess.run(
        [node(), str(ROOT / "bench" / "node_redis_down.mjs"), str(NODE_CLIENT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome.returncode == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["refused", "hanging"]
    assert all("3 calls in a row" in line and "isLatest false" in line for line in lines)
