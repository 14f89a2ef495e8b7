"""Reading request bodies: bounded in size, strictly validated, 4xx envelopes otherwise."""

from __future__ import annotations

import asyncio
import json
import urllib.parse

from starlette.requests import Request

from api.envelope import ApiError
from shared.errors import InvalidVersion
from wa_version_client.contract import WEB_MAJOR, WAVersion

MAX_BODY_BYTES = 4096


async def read_body(request: Request, within: float) -> bytes:
    """The body: 413 past MAX_BODY_BYTES, 408 when it takes longer than `within` seconds
    to arrive (a client sending a byte at a time)."""
    body = bytearray()
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    except TimeoutError:
        raise ApiError(408, f"the body did not arrive within {within:g}s") from None
    return bytes(body)


async def read_json_object(request: Request, within: float) -> dict[str, object]:
    """The body as a JSON object: read as `read_body` does, 400 for anything else."""
    body = await read_body(request, within)
    try:
        data = json.loads(body)
    except ValueError:
        raise ApiError(400, "the body is not JSON") from None
    except RecursionError:
        raise ApiError(400, "the body is nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def parse_pinned_version(data: dict[str, object]) -> WAVersion:
    """`{"version": "2.3000.N"}` or `{"version": [2, 3000, N]}`: three uint32 parts, major 2."""
    if set(data) != {"version"}:
        raise ApiError(400, 'the body must be {"version": "2.3000.N"} or {"version": [2, 3000, N]}')
    raw = data["version"]
    try:
        if isinstance(raw, str):
            version = WAVersion.parse(raw)
        elif isinstance(raw, list):
            # JSON (and JSON Schema) call 3000.0 an integer too: take whole numbers as such.
            whole = [int(p) if isinstance(p, float) and p.is_integer() else p for p in raw]
            version = WAVersion.from_array(whole)
        else:
            raise InvalidVersion("version must be a string or an array")
    except InvalidVersion as exc:
        raise ApiError(400, str(exc)) from None
    if version.major != WEB_MAJOR:
        raise ApiError(400, f"a WhatsApp Web version starts with {WEB_MAJOR}, not {version.major}")
    return version


FORM_TYPE = "application/x-www-form-urlencoded"


async def read_form(request: Request, within: float) -> dict[str, str]:
    """An HTML form's fields (application/x-www-form-urlencoded, UTF-8), read as
    `read_body` does; a field sent twice keeps its first value; 400 for bytes that are
    not UTF-8. Parsed here rather than by `request.form()`, which reads the body without
    a bound or a deadline and needs python-multipart even for this format. Any other
    Content-Type is a 415: the page's forms send only this one, and a `text/plain` form
    (which a foreign page may post without a preflight) is refused however it came."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        raise ApiError(415, f"a form is sent as {FORM_TYPE}, got {media_type[:60]!r}")
    body = await read_body(request, within)
    try:
        fields = urllib.parse.parse_qsl(
            body.decode(), keep_blank_values=True, strict_parsing=False, errors="strict"
        )
    except UnicodeDecodeError:
        raise ApiError(400, "the form is not UTF-8") from None
    form: dict[str, str] = {}
    for name, value in fields:
        form.setdefault(name, value)
    return form
