"""A stand-in for web.whatsapp.com on loopback, for tests, benchmarks and demos.

By default it answers as the real site does, to what public crawls (2024-2026) and the
clients that read it show (the facts are listed in devtools/upstream_pages.py, whose
synthetic bodies it serves):

- The anti-bot gate. A request without a desktop Chrome User-Agent, `Sec-Fetch-Site:
  none` and the other Sec-Fetch-* headers gets HTTP 400: for sw.js a short answer, for
  the home page the ~6 KB "Sorry, something went wrong" page. A mobile User-Agent gets a
  302 to `/mobile`, a page without `client_revision`.
- `/sw.js` (any `.js` path): ~3.2 KB, the revision once, escaped inside a JS string.
- Any other path: the home page, ~580 KB, `"client_revision":N,` three times, the first
  41 KB in.

`Behaviour` says what can change: the revision, or a rollout (a sequence of revisions
served to consecutive fetches, as when back-to-back requests reach different builds),
the page's size and where the field sits, gzip, chunked transfer, a 302 to the file (on
this host, or named by another host name), a redirect loop, a body claiming gzip that is
not, a status (429 with Retry-After, 5xx…), a delay, a page without the field, the mobile
answer for every browser, and the gate itself. `hold()` makes fetches wait until
`release()`. The `/_stub` control paths are never gated.

In a test, drive a `StubUpstream` directly; as a process
(`python -m devtools.stub_upstream --port 8081`), through its control endpoint:

    curl -X PUT localhost:8081/_stub -d '{"revision": 1026131877}'
    curl -X PUT localhost:8081/_stub -d '{"rollout": [1045164762, 1045155773]}'
    curl -X PUT localhost:8081/_stub -d '{"gate": false}'   # answer curl too
    curl localhost:8081/_stub          # the configuration and the fetch count
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devtools import upstream_pages as pages

MOBILE_PATH = "/mobile"
# Where `redirect` sends a page: the file itself, under this prefix.
MOVED_PREFIX = "/moved"
CHUNK = 16384  # bytes per chunk with chunked transfer encoding


@dataclass
class Behaviour:
    """How the stub answers the next fetches."""

    revision: int = 1026131876
    # Revisions for consecutive fetches of a page with the field, then the last one
    # again; `revision` when empty. Reset by each configure() that sets it.
    rollout: list[int] = field(default_factory=list)
    status: int = 200
    retry_after: str = ""
    # Seconds to wait before answering.
    delay: float = 0.0
    # Serve the pages without any client_revision.
    without_revision: bool = False
    # Pad the body to this many bytes.
    pad_to: int = 0
    # The anti-bot gate: 400 without browser headers, a 302 for a mobile browser.
    gate: bool = True
    # Answer every request as the gate answers a mobile browser.
    mobile: bool = False
    page_size: int = pages.HOME_PAGE_SIZE
    first_at: int = pages.FIRST_AT
    occurrences: int = pages.OCCURRENCES
    gzip: bool = False
    # Transfer-Encoding: chunked, no Content-Length.
    chunked: bool = False
    # A 302 from each page to `/moved<path>`, which serves it.
    redirect: bool = False
    # A 302 from each page to itself, for ever.
    redirect_loop: bool = False
    # A 302 from each page to `/moved<path>` on this stub, named by this host instead
    # ("localhost" for 127.0.0.1): another site, as far as the URL says.
    redirect_host: str = ""
    # Content-Encoding: gzip on a body that is not.
    bogus_gzip: bool = False


@dataclass
class Answer:
    """What the stub sends back for one request."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class StubUpstream:
    """A threaded HTTP server on 127.0.0.1 answering like WhatsApp Web."""

    def __init__(self, port: int = 0) -> None:
        self.behaviour = Behaviour()
        self.fetches = 0
        self.fetch_times: list[float] = []  # time.monotonic() of each fetch
        self.headers_seen: list[dict[str, str]] = []
        self.paths_seen: list[str] = []  # each fetch's path, its query included
        self._rollout_served = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._released.set()
        self._server = _StubServer(("127.0.0.1", port), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def url(self, path: str = "/sw.js") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> StubUpstream:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        # A short poll interval makes stop() quick; the cost is an idle wake-up per 50 ms.
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def hold(self) -> None:
        """Make fetches wait until `release()`: lets a test line events up deterministically."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def reset(self) -> None:
        """Back to a healthy upstream with nothing counted, as when it started."""
        with self._lock:
            self.behaviour = Behaviour()
            self.fetches = 0
            self.fetch_times.clear()
            self.headers_seen.clear()
            self.paths_seen.clear()
            self._rollout_served = 0
        self._released.set()

    def configure(self, **changes: Any) -> None:
        """Change the behaviour; TypeError for an unknown name, ValueError for a home page
        that cannot be laid out (`first_at` past `page_size`, …)."""
        with self._lock:
            behaviour = Behaviour(**{**asdict(self.behaviour), **changes})
            pages.home_page(
                behaviour.revision,
                size=behaviour.page_size,
                first_at=behaviour.first_at,
                occurrences=behaviour.occurrences,
            )
            self.behaviour = behaviour
            if "rollout" in changes:
                self._rollout_served = 0

    def record_fetch(self, path: str, headers: dict[str, str]) -> Behaviour:
        """Count a fetch; the behaviour it gets, then wait while the stub is held."""
        with self._lock:
            self.fetches += 1
            self.fetch_times.append(time.monotonic())
            self.headers_seen.append(headers)
            self.paths_seen.append(path)
            behaviour = self.behaviour
        self._released.wait(timeout=60)
        return behaviour

    def answer(self, path: str, headers: Mapping[str, str], behaviour: Behaviour) -> Answer:
        """The answer to a GET of `path` (no query) with `headers` (lower-case names)."""
        for rule in (_outage, _gate, _redirects):
            early = rule(path, headers, behaviour)
            if early is not None:
                return early
        return _encoded(self._page(path.removeprefix(MOVED_PREFIX), behaviour), behaviour)

    def _page(self, path: str, behaviour: Behaviour) -> Answer:
        if path == MOBILE_PATH:
            return Answer(200, pages.mobile_page(), {"Content-Type": "text/html"})
        revision = None if behaviour.without_revision else self._next_revision(behaviour)
        if path.endswith(".js"):
            body = pages.sw_js(revision)
            kind = "application/javascript"
        else:
            body = pages.home_page(
                revision,
                size=behaviour.page_size,
                first_at=behaviour.first_at,
                occurrences=behaviour.occurrences,
            )
            kind = "text/html"
        body += b" " * max(0, behaviour.pad_to - len(body))
        return Answer(200, body, {"Content-Type": kind})

    def _next_revision(self, behaviour: Behaviour) -> int:
        if not behaviour.rollout:
            return behaviour.revision
        with self._lock:
            index = min(self._rollout_served, len(behaviour.rollout) - 1)
            self._rollout_served += 1
        return behaviour.rollout[index]


def _outage(path: str, headers: Mapping[str, str], behaviour: Behaviour) -> Answer | None:
    """A configured failure status (429, 5xx, 404…), before anything else is looked at."""
    if behaviour.status == 200:
        return None
    extra = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
    return Answer(behaviour.status, b"upstream failure", extra)


def _gate(path: str, headers: Mapping[str, str], behaviour: Behaviour) -> Answer | None:
    """The anti-bot gate: a 302 to the mobile page, or a 400, unless a desktop browser asks."""
    if not behaviour.gate and not behaviour.mobile:
        return None
    if path != MOBILE_PATH and (behaviour.mobile or is_mobile(headers.get("user-agent", ""))):
        return Answer(302, b"", {"Location": MOBILE_PATH})
    if not behaviour.gate or path == MOBILE_PATH or passes_gate(headers):
        return None
    if path.endswith(".js"):
        return Answer(400, b"Bad Request", {"Content-Type": "text/plain"})
    return Answer(400, pages.sorry_page(), {"Content-Type": "text/html"})


def _redirects(path: str, headers: Mapping[str, str], behaviour: Behaviour) -> Answer | None:
    """The configured redirects, for sw.js and the home page (not the gate's mobile page)."""
    if path == MOBILE_PATH:
        return None
    if behaviour.redirect_host and not path.startswith(MOVED_PREFIX):
        port = headers.get("host", "").rpartition(":")[2]
        location = f"http://{behaviour.redirect_host}:{port}{MOVED_PREFIX}{path}"
        return Answer(302, b"", {"Location": location})
    if behaviour.redirect_loop:
        return Answer(302, b"", {"Location": path})
    if behaviour.redirect and not path.startswith(MOVED_PREFIX):
        return Answer(302, b"", {"Location": MOVED_PREFIX + path})
    return None


def _encoded(answer: Answer, behaviour: Behaviour) -> Answer:
    if behaviour.gzip:
        answer.body = pages.gzipped(answer.body)
    if behaviour.gzip or behaviour.bogus_gzip:
        answer.headers["Content-Encoding"] = "gzip"
    return answer


def is_mobile(user_agent: str) -> bool:
    return any(word in user_agent for word in ("Mobile", "Android", "iPhone", "iPad"))


def passes_gate(headers: Mapping[str, str]) -> bool:
    """A desktop Chrome navigating: what the upstream lets through (names lower-case)."""
    agent = headers.get("user-agent", "")
    desktop_chrome = agent.startswith("Mozilla/5.0") and "Chrome/" in agent
    return (
        desktop_chrome
        and not is_mobile(agent)
        and headers.get("sec-fetch-site") == "none"
        and "sec-fetch-mode" in headers
        and "sec-fetch-dest" in headers
    )


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True
    stub: StubUpstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A fetcher that has its match closes the connection mid-body: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _StubServer
    # Keep-alive, as the real site allows: a fetch then costs no new connection. Headers
    # and body go out in two writes: without TCP_NODELAY, Nagle holds the second for 40 ms.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        stub = self.server.stub
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_stub":
            self._send(Answer(200, json.dumps(self._status()).encode()))
            return
        behaviour = stub.record_fetch(self.path, dict(self.headers.items()))
        if behaviour.delay:
            time.sleep(behaviour.delay)  # simulated upstream latency
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._send(stub.answer(path, headers, behaviour), chunked=behaviour.chunked)

    def do_PUT(self) -> None:
        if self.path != "/_stub":
            self._send(Answer(404, b"not found"))
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            self.server.stub.configure(**json.loads(self.rfile.read(length) or b"{}"))
        except (TypeError, ValueError) as exc:
            self._send(Answer(400, f"{exc}\n".encode()))
            return
        self._send(Answer(200, json.dumps(asdict(self.server.stub.behaviour)).encode()))

    def _status(self) -> dict[str, Any]:
        return {**asdict(self.server.stub.behaviour), "fetches": self.server.stub.fetches}

    def _send(self, answer: Answer, chunked: bool = False) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        for piece in _chunked(answer.body) if chunked else [answer.body]:
            self.wfile.write(piece)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks read the counters instead


def _chunked(body: bytes) -> Iterator[bytes]:
    """`body` in the chunked transfer coding, one write per chunk."""
    for start in range(0, len(body), CHUNK):
        piece = body[start : start + CHUNK]
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="A WhatsApp Web stand-in on loopback.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--revision", type=int, default=Behaviour.revision)
    args = parser.parse_args()
    stub = StubUpstream(args.port)
    stub.configure(revision=args.revision)
    print(f"stub upstream on {stub.url()} serving 2.3000.{args.revision}", flush=True)
    stub.serve_forever()


if __name__ == "__main__":
    main()
