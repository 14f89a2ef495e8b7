"""schemathesis against the live web process, from the OpenAPI document it serves."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process

pytestmark = pytest.mark.slow

FUZZ_SECRET = "fuzz-secret"


def test_openapi_document_is_served(start_web: Callable[..., Process]) -> None:
    web = start_web()
    document = httpx.get(f"{web.base_url}/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/admin/whatsapp/version/refresh",
        "/admin/whatsapp/version",
        "/admin/whatsapp/version/pin",
        "/admin/whatsapp/version/history",
        "/admin/whatsapp/fleet",
        "/admin/whatsapp/version/events",
        "/metrics",
        "/healthz",
        "/readyz",
    }


def test_schemathesis_finds_no_server_error_or_schema_violation(
    launch: Launcher, start_web: Callable[..., Process], tmp_path: Path
) -> None:
    """Every check schemathesis has, positive and negative inputs, against real processes."""
    # The fuzzer sends many unauthenticated requests on purpose; it is not a guesser.
    # An ASCII secret: the command line passes headers as text.
    launch("worker", ADMIN_SECRET=FUZZ_SECRET)
    web = start_web(ADMIN_SECRET=FUZZ_SECRET, AUTH_FAILURE_LIMIT="1000000")
    secret_header = f"X-Admin-Secret: {FUZZ_SECRET}"
    command = [str(Path(sys.executable).parent / "schemathesis"), "run"]
    command += [f"{web.base_url}/openapi.json", "--header", secret_header, "--checks", "all"]
    # One worker thread: on CPython 3.11 ast.parse is not thread-safe ("AST constructor
    # recursion depth mismatch"), and hypothesis parses lambdas' sources while generating.
    command += ["--max-examples", "100", "--seed", "1", "--workers", "1"]
    command += ["--generation-database", "none", "--no-color"]
    # An event stream never ends: a fuzzer's call to it would only wait out its timeout.
    # tests/e2e/test_version_events.py tests it.
    command += ["--exclude-path", "/admin/whatsapp/version/events"]
    command += ["--report", "junit", "--report-dir", str(tmp_path)]
    # From tmp_path: schemathesis keeps a cache in its working directory.
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert "Warnings:" not in done.stdout, report  # e.g. every call answered 401
    assert "Tested: 9" in done.stdout, report
