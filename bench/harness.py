"""Starting what a benchmark measures: redis-server, the stub upstream, web, worker, baseline.

Everything runs on loopback, each server in a process of its own, so the client that
measures competes with them only for the CPU, as it would in production.
"""

from __future__ import annotations

import contextlib
import resource
import tempfile
from pathlib import Path

import httpx

from devtools.embedded import RedisServer, free_port
from devtools.processes import ROOT, Process, memory_mb, wait_for_http

SECRET = "bench-secret"


def cpu_ms(pid: int) -> float:
    """CPU time of every thread of the process `pid`, in ms: /proc/<pid>/task/*/schedstat
    counts nanoseconds, where /proc/<pid>/stat's utime and stime count 10 ms ticks."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e6


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at `fraction` (0.99 for p99) of the sorted samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def raise_open_files_limit() -> None:
    """Let this process (and the servers and children it starts) open as many files as
    the machine allows: thousands of connections each need one."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


HEADERS = {"X-Admin-Secret": SECRET}


class System:
    """redis-server, the stub upstream and any processes started, all stopped on exit."""

    def __init__(self, **env: str) -> None:
        self.logs = Path(tempfile.mkdtemp(prefix="bench-"))
        self.redis = RedisServer()
        self.stub_port = free_port()
        self.stub_url = f"http://127.0.0.1:{self.stub_port}/sw.js"
        self.env = env
        self.processes: list[Process] = []
        self.app = ROOT  # the checkout processes start from (another's code, to compare)

    def __enter__(self) -> System:
        self.redis.start()
        stub = self.start(
            "stub", command=f"python -m devtools.stub_upstream --port {self.stub_port}"
        )
        wait_for_http(f"http://127.0.0.1:{self.stub_port}/_stub", stub)
        return self

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.redis.stop()

    def configure_stub(self, **behaviour: object) -> None:
        httpx.put(f"http://127.0.0.1:{self.stub_port}/_stub", json=behaviour).raise_for_status()

    @property
    def fetches(self) -> int:
        """Upstream fetches the stub has answered so far."""
        count: int = httpx.get(f"http://127.0.0.1:{self.stub_port}/_stub").json()["fetches"]
        return count

    def start(self, name: str, command: str | None = None, **env: str) -> Process:
        environment = {
            "REDIS_URL": self.redis.url,
            "ADMIN_SECRET": SECRET,
            "WA_VERSION_URL": self.stub_url,
            "AUTO_REFRESH_INTERVAL": "0",  # only the measured refreshes
            **self.env,
            **env,
        }
        process = Process(name, environment, self.logs, command, app=self.app)
        self.processes.append(process)
        return process

    def start_web(self, **env: str) -> tuple[Process, str]:
        """A Procfile web process on a free port, once it answers; and its base URL."""
        port = free_port()
        web = self.start("web", PORT=str(port), **env)
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", web)
        return web, base

    def start_baseline(self) -> str:
        """bench.baseline (the in-process refresh) on a free port; its base URL."""
        port = free_port()
        process = self.start("baseline", command=f"python -m bench.baseline --port {port}")
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/", process)
        return base


def peak_rss_mb(process: Process) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    return memory_mb(process, "VmHWM")
