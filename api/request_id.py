"""X-Request-ID: taken from the request when it is sane, else made up; always answered.

The id goes into every log line of the request and into the refresh job, so the
worker's lines about it carry it too.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import request_id
from wa_version_client.contract import ID_PATTERN

# What a refresh job may carry as its request id (the contract's bound): anything else
# offered is replaced, so a job the API writes is never malformed.
_SANE = re.compile(ID_PATTERN.encode())


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(b"x-request-id", b"")
        current = offered.decode() if _SANE.fullmatch(offered) else uuid.uuid4().hex
        token = request_id.set(current)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", current.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
