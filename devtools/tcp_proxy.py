"""A TCP proxy on loopback that a test can cut, freeze and restore: network failures on demand.

Cutting closes every proxied connection (the client sees its socket closed) and refuses
new ones until `restore()`. Freezing keeps the connections open but drops every byte in
both directions: a peer that vanished without a FIN or RST, as after a network partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from devtools.embedded import free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`; with `tls`, it terminates TLS."""

    def __init__(
        self, target_port: int, *, port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.tls = tls
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut = False
        self._frozen = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, ssl=self.tls
        )
        return self

    async def cut(self) -> None:
        """Close every connection and refuse new ones."""
        self._cut = True
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def freeze(self) -> None:
        """Keep connections open but let no byte through."""
        self._frozen = True

    def restore(self) -> None:
        self._cut = False
        self._frozen = False

    async def stop(self) -> None:
        await self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.close()
            return
        self._writers.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self._frozen:
                    continue  # swallowed, as by a broken network
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
