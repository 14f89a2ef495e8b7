"""X-Content-Type-Options: nosniff on every answer the app gives.

The admin page's HTML sets it with its other headers (api/page_render.py); this covers
the rest under the same origin — JSON envelopes (a 404 or 405 under /admin/ too) and the
page's static files — so no answer is ever read by a browser as another type than it says.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = (b"x-content-type-options", b"nosniff")


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if all(name.lower() != HEADER[0] for name, _ in headers):
                    headers.append(HEADER)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_header)
