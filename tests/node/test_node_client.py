"""The Node client's own tests (clients/node/test, run by `node --test`), each file against
the real service: a Redis server of its own (the one REDIS_SERVER names), the stub of
WhatsApp Web, and the web and worker processes of the Procfile.

The server is started again on its port whenever it exits, so a Node test can lose
Redis's data with SHUTDOWN NOSAVE, as a restart without persistence does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.stub_upstream import StubUpstream
from shared.embedded import RedisServer
from tests.conftest import SECRET
from tests.e2e.conftest import Launcher
from tests.e2e.processes import ROOT, Process
from tests.node.corpus import verdicts

pytestmark = pytest.mark.slow

NODE_CLIENT = ROOT / "clients" / "node"
TEST_FILES = sorted((NODE_CLIENT / "test").glob("*.test.js"))
NODE_TIMEOUT = 300  # seconds for one file's tests; each waits on conditions with deadlines
# Each test at most 60 s; a handle left open cannot keep the file's process alive.
NODE_TEST = ["--test", "--test-force-exit", "--test-timeout=60000", "--test-reporter=spec"]


@pytest.fixture
def restartable_redis() -> Iterator[RedisServer]:
    """A server of the test's own, started again on its port each time it exits."""
    server = RedisServer()
    server.start()
    lock = threading.Lock()
    stopping = threading.Event()

    def supervise() -> None:
        while True:
            server.wait()
            with lock:
                if stopping.is_set():
                    return
                server.stop()  # reaps it and removes its directory: the data is gone
                server.start()

    supervisor = threading.Thread(target=supervise, daemon=True)
    supervisor.start()
    yield server
    with lock:
        stopping.set()
        server.stop()
    supervisor.join(timeout=10)


def node() -> str:
    """The node binary; the suite needs Node.js 20 or later (README, Development)."""
    found = shutil.which("node")
    assert found, "node is not on PATH: the Node client's tests need Node.js 20 or later"
    return found


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.name)
def test_node_client(
    test_file: Path,
    restartable_redis: RedisServer,
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    prefix: str,
    tmp_path: Path,
) -> None:
    """Every test in `test_file` passes against the running service (node's report shown)."""
    service = {"REDIS_URL": restartable_redis.url}
    launch("worker", **service)
    web = start_web(**service)
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps(verdicts()))
    env = {
        **os.environ,
        "WA_TEST_REDIS_URL": restartable_redis.url,
        "WA_TEST_PREFIX": prefix,
        "WA_TEST_API_URL": web.base_url,
        "WA_TEST_ADMIN_SECRET": SECRET,
        "WA_TEST_STUB_URL": upstream.url(""),
        "WA_TEST_CORPUS": str(corpus),
    }
    for name in ("REDIS_URL", "REDIS_TLS_URL", "REDIS_PREFIX"):
        env.pop(name, None)  # the drop-in's own environment is each test's to set
    outcome = subprocess.run(
        [node(), *NODE_TEST, str(test_file)],
        cwd=NODE_CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
    )
    assert outcome.returncode == 0, f"{outcome.stdout}\n{outcome.stderr}"
