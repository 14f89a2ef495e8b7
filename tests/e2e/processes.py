"""The real processes, for the end-to-end tests (devtools/processes.py), and reading the
watcher's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from devtools.processes import ROOT, Process, listening_port, procfile, wait_for_http

__all__ = ["ROOT", "Process", "lines", "listening_port", "procfile", "strings", "wait_for_http"]


def lines(process: Process) -> list[dict[str, object]]:
    """The version lines the watcher printed so far (its JSON logs go to the same file)."""
    printed = (json.loads(line) for line in process.output.splitlines() if line.startswith("{"))
    return [line for line in printed if "event" not in line]


def strings(process: Process) -> list[object]:
    return [line["string"] for line in lines(process)]


def refresh_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m worker refresh ARGS` with `env` added to this environment; its outcome."""
    return subprocess.run(
        [sys.executable, "-m", "worker", "refresh", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
