"""Starting the Procfile's processes for real, as Heroku or honcho would: for the end-to-end
tests and the benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """The process types and their commands."""
    lines = (line.partition(":") for line in path.read_text().splitlines() if line.strip())
    return {name.strip(): command.strip() for name, _, command in lines}


class Process:
    """One Procfile process (or `command`, run the same way), its output captured to a file."""

    def __init__(
        self,
        name: str,
        env: Mapping[str, str],
        log_dir: Path,
        command: str | None = None,
        *,
        app: Path = ROOT,
        bin_dir: Path = Path(sys.executable).parent,
    ) -> None:
        """`app`: the directory it runs in (a build of its own, say), whose Procfile names
        the command; `bin_dir`: the venv whose `uvicorn` and `python` it runs."""
        self.name = name
        self.base_url = ""  # set for web processes once their port is known
        self.log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
        command = command or procfile(app / "Procfile")[name]
        path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=app,
                env={**os.environ, "PATH": path, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.popen.send_signal(signum)

    def wait(self, within: float = 30) -> int:
        return self.popen.wait(timeout=within)

    def stop(self) -> None:
        stop_all([self])


def stop_all(processes: Sequence[Process]) -> None:
    """SIGTERM to every process still running, all at once, then wait for each (30 s,
    then SIGKILL): their graceful shutdowns overlap instead of adding up."""
    running = [process for process in processes if process.popen.poll() is None]
    for process in running:
        process.signal(signal.SIGTERM)
    for process in running:
        try:
            process.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()


_LISTENING = re.compile(r"Uvicorn running on https?://[^:/]+:(\d+)")


def listening_port(process: Process, within: float = 30) -> int:
    """The port a web process bound, from uvicorn's startup line; fail if it dies first."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (found := _LISTENING.search(process.output)) is not None:
            return int(found.group(1))
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited early:\n{process.output}")
        time.sleep(0.02)  # polling the log for the line, bounded by the deadline
    raise AssertionError(f"{process.name} said no port within {within}s:\n{process.output}")


def wait_for_http(url: str, process: Process, within: float = 30) -> None:
    """Return once `url` answers anything over HTTP; fail if the process dies first."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited early:\n{process.output}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # polling for the port to open, bounded by the deadline
    raise AssertionError(f"{url} did not answer within {within}s:\n{process.output}")


def memory_mb(process: Process, field: str = "VmRSS") -> float:
    """A memory figure of the process from /proc, in MB: VmRSS now, VmHWM its peak."""
    for line in Path(f"/proc/{process.popen.pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {process.name}")
