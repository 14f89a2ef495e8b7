"""Reading what came from outside this process, strictly: one parser per kind of value.

Anything read from Redis may be garbage: an old version of this service, a hand-typed
HSET, a half-restored backup, a forged PUBLISH. Every reader here returns a value of the
type it promises or raises `MessageError` saying what was wrong; nothing else escapes
(no TypeError, OverflowError or RecursionError from a hostile input).

Integers stored in the hash are plain decimal digits, the only form Python's `int()` and
Lua's `tonumber()` read alike (`int("1_000")` is 1000, `tonumber("1_000")` is nil).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from wa_version_client.contract._errors import MessageError
from wa_version_client.contract._version import WAVersion

# Up to an int64: what Redis, Lua and every client language read without loss.
INT_MAX = 2**63 - 1
DIGITS = re.compile(r"0|[1-9][0-9]{0,18}")


def dumps(data: object) -> str:
    """`data` as compact JSON, as every message and hash field is written."""
    return json.dumps(data, separators=(",", ":"))


def load_object(text: str | bytes, what: str) -> dict[str, Any]:
    """The JSON object in `text`; NaN and Infinity, deep nesting and non-objects refused."""
    try:
        data = _DECODER.decode(text) if isinstance(text, str) else json.loads(text, **_STRICT)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MessageError(f"{what} is not JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise MessageError(f"{what} is not a JSON object")
    return data


def integer(data: Mapping[str, Any], name: str, what: str, *, minimum: int = 0) -> int:
    """`data[name]`, a JSON integer (not a bool, not 1.0) from `minimum` to INT_MAX."""
    value = _present(data, name, what)
    if type(value) is not int or not minimum <= value <= INT_MAX:
        raise MessageError(f"{what}: {name} is {shown(value)}, not an integer ≥ {minimum}")
    return value


def text(data: Mapping[str, Any], name: str, what: str) -> str:
    """`data[name]`, a JSON string."""
    value = _present(data, name, what)
    if not isinstance(value, str):
        raise MessageError(f"{what}: {name} is {shown(value)}, not a string")
    return value


def boolean(data: Mapping[str, Any], name: str, what: str) -> bool:
    """`data[name]`, a JSON true or false."""
    value = _present(data, name, what)
    if not isinstance(value, bool):
        raise MessageError(f"{what}: {name} is {shown(value)}, not true or false")
    return value


def stored_integer(value: str, name: str) -> int:
    """A hash field holding a whole number: decimal digits, no sign, `_`, space or zeros."""
    if not DIGITS.fullmatch(value) or int(value) > INT_MAX:
        raise MessageError(f"{name} is {shown(value)}, not a whole number")
    return int(value)


def stored_flag(value: str, name: str) -> bool:
    """A hash or stream field holding a flag: `0` or `1`, nothing else."""
    if value not in {"0", "1"}:
        raise MessageError(f"{name} is {shown(value)}, not 0 or 1")
    return value == "1"


def is_array_of(value: object, version: WAVersion) -> bool:
    """Whether `value` is `version`'s array: a list of three JSON integers (not 2.0, not
    true, which Python's == alone would take for 2 and 1)."""
    return (
        isinstance(value, list)
        and all(type(part) is int for part in value)
        and value == version.array
    )


def version_json(version: WAVersion) -> dict[str, Any]:
    """`{"array": [2, 3000, N], "string": "2.3000.N"}`, as the seed API shows a version."""
    return {"array": version.array, "string": str(version)}


def _present(data: Mapping[str, Any], name: str, what: str) -> Any:
    if name not in data:
        raise MessageError(f"{what}: {name} is missing")
    return data[name]


def shown(value: object) -> str:
    """A short, safe rendering of a bad value for a log line."""
    return repr(value)[:40]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


# NaN and Infinity refused; one decoder for every message (json.loads with an option
# builds a new one per call, a fifth of a message's decoding).
_STRICT: dict[str, Any] = {"parse_constant": _refuse_constant}
_DECODER = json.JSONDecoder(**_STRICT)
