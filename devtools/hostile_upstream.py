"""An upstream that attacks its reader, on loopback: for the end-to-end tests and
bench/hostile_upstream.py. The stub (devtools/stub_upstream.py) answers as WhatsApp Web
does; this one answers as no honest server would, each body at a path of its own:

- `/double-gzip`: `size` bytes of zeros gzipped twice, sent as `Content-Encoding: gzip,
  gzip` (1 GB becomes 1,827 bytes);
- `/gzip`: the same zeros gzipped once, `Content-Encoding: gzip` (1 GB becomes ~1 MB);
- `/plain`: `size` bytes without `client_revision`, with their Content-Length, written
  64 KiB at a time (never held whole) until the reader hangs up.

None carries the field. The bombs are built once per size and kept (1 GB takes about 3 s
of one core), by `start()`.
"""

from __future__ import annotations

import functools
import gzip
import sys
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GIGABYTE = 1 << 30
_PIECE = 1 << 20  # zeros compressed per call while building a bomb
_WRITE = 64 * 1024  # bytes per write of the plain body


def gzipped_zeros(size: int, layers: int) -> bytes:
    """`size` zero bytes gzipped `layers` times, never holding them whole."""
    return _gzipped_zeros(size, layers)


@functools.lru_cache(maxsize=8)
def _gzipped_zeros(size: int, layers: int) -> bytes:
    if layers > 1:
        return gzip.compress(_gzipped_zeros(size, layers - 1), compresslevel=9, mtime=0)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(_PIECE)
    parts = [compressor.compress(zeros) for _ in range(size // _PIECE)]
    parts += [compressor.compress(bytes(size % _PIECE)), compressor.flush()]
    return b"".join(parts)


class HostileUpstream:
    """A threaded HTTP server on 127.0.0.1 serving the bodies above, counting requests."""

    def __init__(self, size: int = GIGABYTE) -> None:
        self.size = size
        self.fetches: Counter[str] = Counter()  # requests per path
        self._lock = threading.Lock()
        self._server = _HostileServer(("127.0.0.1", 0), _Handler)
        self._server.upstream = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def start(self) -> HostileUpstream:
        """Serving, its bombs built: a reader's first request is answered at once."""
        self.body("/double-gzip")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record_fetch(self, path: str) -> None:
        with self._lock:
            self.fetches[path] += 1

    def body(self, path: str) -> tuple[dict[str, str], bytes] | None:
        """The headers and body of a bomb at `path`; None for `/plain` or an unknown path."""
        if path == "/double-gzip":
            return {"Content-Encoding": "gzip, gzip"}, gzipped_zeros(self.size, 2)
        if path == "/gzip":
            return {"Content-Encoding": "gzip"}, gzipped_zeros(self.size, 1)
        return None


class _HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    upstream: HostileUpstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The reader hanging up mid-body is what a bounded reader does: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HostileServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        upstream = self.server.upstream
        upstream.record_fetch(self.path)
        bomb = upstream.body(self.path)
        if bomb is None and self.path != "/plain":
            self._head(404, {}, 0)
            return
        headers, body = bomb if bomb is not None else ({}, b"")
        length = len(body) if bomb is not None else upstream.size
        self._head(200, {"Content-Type": "text/html", **headers}, length)
        if bomb is not None:
            self.wfile.write(body)
            return
        filler = b"x" * _WRITE
        for start in range(0, upstream.size, _WRITE):
            self.wfile.write(filler[: upstream.size - start])

    def _head(self, status: int, headers: dict[str, str], length: int) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the benchmark read the counters instead
