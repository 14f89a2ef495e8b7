"""The admin secret check."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from api.envelope import ApiError

SECRET_HEADER = "x-admin-secret"


def require_admin(request: Request, secret: str) -> None:
    """Raise a 401 `ApiError` unless the request carries `secret` in `X-Admin-Secret`."""
    # Compare bytes in constant time so the answer's timing tells nothing about the secret.
    # Headers arrive as latin-1; encoding back gives the bytes the client sent.
    offered = request.headers.get(SECRET_HEADER, "").encode("latin-1")
    if not hmac.compare_digest(offered, secret.encode()):
        raise ApiError(401, "Invalid or missing authentication")
