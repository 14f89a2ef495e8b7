"""A pure ASGI middleware refusing oversized request headers with an envelope.

uvicorn's HTTP parser accepts headers of a megabyte; nothing here needs more than a few
kilobytes, and a bigger request is refused before any handler (or Redis) sees it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.envelope import ApiError, failure

MAX_HEADER_BYTES = 16 * 1024


class HeaderLimit:
    """Answer 431 when the request's headers add up to more than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) for name, value in scope["headers"])
            if size > self.max_bytes:
                error = ApiError(
                    431,
                    f"request headers total {size} bytes; at most {self.max_bytes} are accepted",
                )
                await failure(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
