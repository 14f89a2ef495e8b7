"""uvloop's word for a write on a socket closed under it is recognised as Redis going away."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from wa_version_client.deployment import lost_under_write

# Run in a process of its own, on uvloop as uvicorn runs the web (uvloop will not make a
# loop inside pytest's process here: EBUSY): what a write raises on a loopback connection
# whose transport was closed under it, as redis-py's writer meets it when a Redis server
# dies mid-request.
WRITE_AFTER_CLOSE = """
import asyncio, json, uvloop

async def main():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.transport.abort()
        await asyncio.sleep(0)  # one turn: the loop closes the handle
        try:
            writer.writelines([b"PING\\r\\n"])
        except BaseException as error:
            return [type(error).__name__, str(error)]
    return None

print(json.dumps(uvloop.run(main())))
"""


def test_uvloops_closed_transport_error_is_a_lost_connection() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WRITE_AFTER_CLOSE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    kind, message = json.loads(done.stdout)
    assert kind == "RuntimeError", message
    assert lost_under_write(RuntimeError(message))


@pytest.mark.parametrize(
    "error",
    [RuntimeError("Event loop is closed"), OSError("the handler is closed"), ValueError()],
)
def test_other_errors_are_not(error: BaseException) -> None:
    assert not lost_under_write(error)
