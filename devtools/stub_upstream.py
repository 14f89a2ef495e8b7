"""A stand-in for web.whatsapp.com on loopback, for tests, benchmarks and demos.

It serves `/sw.js` and `/` in the shapes the real site uses, counts the fetches, and
can be told to misbehave. In a test, drive a `StubUpstream` directly; as a process
(`python -m devtools.stub_upstream --port 8081`), through its control endpoint:

    curl -X PUT localhost:8081/_stub -d '{"revision": 1026131877}'
    curl localhost:8081/_stub          # the configuration and the fetch count
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SW_JS = (
    'self.__swData=JSON.parse(/*BTDS*/"{\\"dynamic_data\\":{\\"SiteData\\":'
    '{\\"server_revision\\":{revision},\\"client_revision\\":{revision},'
    '\\"push_phase\\":\\"C3\\"}}}");\n'
)
HOME_PAGE = (
    "<!DOCTYPE html><html><head><script>"
    '["SiteData",[],{"server_revision":{revision},"client_revision":{revision},'
    '"push_phase":"C3"}]'
    "</script></head><body></body></html>\n"
)


@dataclass
class Behaviour:
    """How the stub answers the next fetches."""

    revision: int = 1026131876
    status: int = 200
    retry_after: str = ""
    # Seconds to wait before answering.
    delay: float = 0.0
    # Serve a page without any client_revision.
    without_revision: bool = False
    # Pad the body to this many bytes.
    pad_to: int = 0


class StubUpstream:
    """A threaded HTTP server on 127.0.0.1 answering like WhatsApp Web."""

    def __init__(self, port: int = 0) -> None:
        self.behaviour = Behaviour()
        self.fetches = 0
        self.fetch_times: list[float] = []  # time.monotonic() of each fetch
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._gate = threading.Event()
        self._gate.set()
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
        self._gate.set()
        self._server.shutdown()
        self._server.server_close()

    def hold(self) -> None:
        """Make fetches wait until `release()`: lets a test line events up deterministically."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def configure(self, **changes: Any) -> None:
        with self._lock:
            self.behaviour = Behaviour(**{**asdict(self.behaviour), **changes})

    def record_fetch(self, headers: dict[str, str]) -> Behaviour:
        """Count a fetch; the behaviour it gets, then wait while the stub is held."""
        with self._lock:
            self.fetches += 1
            self.fetch_times.append(time.monotonic())
            self.headers_seen.append(headers)
            behaviour = self.behaviour
        self._gate.wait(timeout=60)
        return behaviour

    def body(self, path: str, behaviour: Behaviour) -> bytes:
        if behaviour.without_revision:
            text = "<html><body>no revision here</body></html>"
        else:
            template = SW_JS if path.endswith(".js") else HOME_PAGE
            text = template.replace("{revision}", str(behaviour.revision))
        data = text.encode()
        return data + b" " * max(0, behaviour.pad_to - len(data))


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True
    stub: StubUpstream


class _Handler(BaseHTTPRequestHandler):
    server: _StubServer
    # Keep-alive, as the real site allows: a fetch then costs no new connection. Headers
    # and body go out in two writes: without TCP_NODELAY, Nagle holds the second for 40 ms.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        stub = self.server.stub
        if self.path == "/_stub":
            self._send(200, json.dumps({**asdict(stub.behaviour), "fetches": stub.fetches}))
            return
        behaviour = stub.record_fetch(dict(self.headers.items()))
        if behaviour.delay:
            time.sleep(behaviour.delay)  # simulated upstream latency
        headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
        if behaviour.status != 200:
            self._send(behaviour.status, "upstream failure", headers)
        else:
            self._send(200, stub.body(self.path, behaviour), headers)

    def do_PUT(self) -> None:
        if self.path != "/_stub":
            self._send(404, "not found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        self.server.stub.configure(**json.loads(self.rfile.read(length) or b"{}"))
        self._send(200, json.dumps(asdict(self.server.stub.behaviour)))

    def _send(self, status: int, body: str | bytes, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks read the counters instead


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
