"""A copy of the checkout to run `./dev` in, as a newcomer runs it in a fresh clone.

`./dev up` writes `.env` and `.dev/up.env` into its checkout: in a copy of its own, a
test neither reads the developer's nor writes over them, and tests run side by side. The
copy holds the files git tracks (and new ones not ignored), with their times, so `./dev`
finds the project installed; `.venv` and `.venv-arq` are links to this checkout's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.processes import ROOT

# What a test's shell must not inherit from the suite's: a newcomer's shell has none.
NOT_INHERITED = (
    "REDIS_URL", "REDIS_TLS_URL", "REDIS_PREFIX", "EMBEDDED_REDIS_PORT", "PORT",
    "ADMIN_SECRET", "WA_VERSION_URL", "AUTO_REFRESH_INTERVAL", "VIRTUAL_ENV",
)  # fmt: skip


def copy_checkout(into: Path) -> Path:
    """The checkout's files under `into`, with links to its venvs."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)  # times kept: ./dev sees nothing to install
    for venv in (".venv", ".venv-arq"):
        if (ROOT / venv).exists():  # else ./dev makes one in the copy, as in a fresh clone
            (into / venv).symlink_to(ROOT / venv)
    return into


def shell_env(**env: str) -> dict[str, str]:
    """This environment less what a fresh shell lacks, plus `env`."""
    kept = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    return {**kept, **env}


class Terminal:
    """A command line typed into a terminal of the checkout, running until it ends or is
    stopped; what it printed, stdout and stderr, goes to a file."""

    def __init__(self, checkout: Path, line: str, env: dict[str, str], log: Path) -> None:
        self.line = line
        self.log_path = log
        with log.open("wb") as output:
            self.popen = subprocess.Popen(
                ["bash", "-c", line],
                cwd=checkout,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped whole, as Ctrl-C would
            )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition: Callable[[str], bool], within: float = 60) -> str:
        """The output once `condition(output)` holds; fail if the command ends first."""
        deadline = time.monotonic() + within
        while not condition(output := self.output):
            if self.popen.poll() is not None and not condition(self.output):
                raise AssertionError(f"{self.line!r} ended first:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.line!r}: not seen within {within}s:\n{output}")
            time.sleep(0.05)  # polling the output for the line, bounded by the deadline
        return output

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


@contextmanager
def terminals(checkout: Path, env: dict[str, str]) -> Iterator[Callable[[str], Terminal]]:
    """Open terminals in `checkout` with `env`; every one still running is stopped after."""
    opened: list[Terminal] = []

    def open_terminal(line: str) -> Terminal:
        log = checkout.parent / f"terminal-{len(opened) + 1}.log"
        terminal = Terminal(checkout, line, env, log)
        opened.append(terminal)
        return terminal

    try:
        yield open_terminal
    finally:
        for terminal in reversed(opened):
            terminal.stop()


def run(checkout: Path, line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A command line that ends by itself, run in `checkout`; its outcome."""
    return subprocess.run(
        ["bash", "-c", line], cwd=checkout, env=env, capture_output=True, text=True, timeout=120
    )
