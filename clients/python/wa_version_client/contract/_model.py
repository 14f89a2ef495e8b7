"""The contract model: each field of a message or record, declared once, on its attribute.

An attribute of PublishedVersion, VersionState, RefreshJob or one of the API's shapes is
annotated with a `Wire`: its type on the wire (with its bounds), a doc line, and its name
in each form it appears in (JSON; a Redis hash or stream entry, every value a string).

    seq: Annotated[int, Wire(Integer(minimum=1), "Grows by one with each change.")]

The codec (_codec.py) reads and writes every form from these declarations, and
`./dev contract` (devtools/contract) generates from them the JSON Schemas, the OpenAPI
components, and the Node and Go clients' decoding tables and types. Whether a field may
be null is its Python type's business (`X | None`); its default is the dataclass's.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wa_version_client.contract import _wire as wire
from wa_version_client.contract._clock import format_time, parse_time
from wa_version_client.contract._errors import MessageError
from wa_version_client.contract._version import WAVersion


@dataclass(frozen=True, slots=True)
class Wire:
    """How an attribute crosses a process boundary.

    `json` and `hash` name it in the JSON form and in a hash or stream entry: "" (the
    default) means the attribute's own name, None that the form does not carry it, and
    FLAT (a version only) that its `array` and `string` sit in the record itself.
    `optional`: a JSON reader takes it absent as its default (a field older writers
    did not send); otherwise absent is malformed.
    """

    type: WireType
    doc: str
    json: str | None = ""
    hash: str | None = ""
    optional: bool = False


class WireType:
    """One kind of value: how it is written and read as JSON and as a string field.

    `read` gets a present JSON value (null only when the field may not be null) and
    raises MessageError naming `what` and `name`, or a ValueError the codec prefixes.
    """

    def read(self, value: Any, name: str, what: str) -> Any:
        raise NotImplementedError

    def write(self, value: Any) -> Any:
        return value

    def read_text(self, text: str, name: str) -> Any:
        raise NotImplementedError

    def write_text(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True, slots=True)
class Integer(WireType):
    """A JSON integer (not a bool, not 1.0) in bounds; as a string, plain decimal digits."""

    minimum: int = 0
    maximum: int = wire.INT_MAX

    def read(self, value: Any, name: str, what: str) -> int:
        if type(value) is not int or not self.minimum <= value <= self.maximum:
            bounds = f"from {self.minimum} to {self.maximum}"
            raise MessageError(f"{what}: {name} is {wire.shown(value)}, not an integer {bounds}")
        return value

    def read_text(self, text: str, name: str) -> int:
        value = wire.stored_integer(text, name)
        if not self.minimum <= value <= self.maximum:
            raise MessageError(f"{name} is {value}, out of {self.minimum}..{self.maximum}")
        return value


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class Text(WireType):
    """A JSON string; `format` says what it holds for the schemas (e.g. date-time);
    `pattern`, when given, is a regular expression the whole text must match (an id's
    length and characters), checked by every reader."""

    format: str = ""
    pattern: str = ""

    def read(self, value: Any, name: str, what: str) -> str:
        if not isinstance(value, str):
            raise MessageError(f"{what}: {name} is {wire.shown(value)}, not a string")
        return self._matched(value, f"{what}: {name}")

    def read_text(self, text: str, name: str) -> str:
        return self._matched(text, name)

    def _matched(self, text: str, name: str) -> str:
        if self.pattern and _compiled(self.pattern).fullmatch(text) is None:
            shown = f"{wire.shown(text)} ({len(text)} characters)"
            raise MessageError(f"{name} is {shown}, not matching {self.pattern}")
        return text


@dataclass(frozen=True, slots=True)
class Flag(WireType):
    """JSON true or false; as a string, `1` or `0` and nothing else."""

    def read(self, value: Any, name: str, what: str) -> bool:
        if not isinstance(value, bool):
            raise MessageError(f"{what}: {name} is {wire.shown(value)}, not true or false")
        return value

    def read_text(self, text: str, name: str) -> bool:
        return wire.stored_flag(text, name)

    def write_text(self, value: Any) -> str:
        return "1" if value else "0"


@dataclass(frozen=True, slots=True)
class Choice(WireType):
    """One of a few words; anything else (another word, null, a number) is refused."""

    values: tuple[str, ...]

    def read(self, value: Any, name: str, what: str) -> str:
        if not isinstance(value, str) or value not in self.values:
            raise MessageError(f"{what}: {name} {str(value)[:20]!r} is not one of {self.values}")
        return value

    def read_text(self, text: str, name: str) -> str:
        return self.read(text, name, "a stored field")


@dataclass(frozen=True, slots=True)
class Const(WireType):
    """Always this one value (the `status` of the API's failure envelope)."""

    value: bool | int | str

    def read(self, value: Any, name: str, what: str) -> Any:
        if type(value) is not type(self.value) or value != self.value:
            raise MessageError(f"{what}: {name} is {wire.shown(value)}, not {self.value!r}")
        return value

    def read_text(self, text: str, name: str) -> Any:
        return self.read(text, name, "a stored field")


@dataclass(frozen=True, slots=True)
class Time(WireType):
    """A moment: RFC 3339 in UTC with a Z, to the second (`2025-12-21T10:30:00Z`)."""

    def read(self, value: Any, name: str, what: str) -> Any:
        if not isinstance(value, str):
            raise MessageError(f"{what}: {name} is not a time")
        return parse_time(value)

    def write(self, value: Any) -> Any:
        return None if value is None else format_time(value)

    def read_text(self, text: str, name: str) -> Any:
        return parse_time(text)

    def write_text(self, value: Any) -> str:
        return "" if value is None else format_time(value)


@dataclass(frozen=True, slots=True)
class Version(WireType):
    """A WhatsApp Web version, as `{"array": [2, 3000, N], "string": "2.3000.N"}`.

    The two must agree; `check_array` False reads such an object from its string alone.
    As a string field it is the string. Named FLAT, its `array` and `string` sit in the
    enclosing record itself (and always agree): in JSON the array, in a hash the array
    as compact JSON text.
    """

    check_array: bool = True

    def read(self, value: Any, name: str, what: str) -> WAVersion:
        if not isinstance(value, dict):
            raise MessageError(f"{what}: {name} is not a version object")
        version = WAVersion.parse(_string_in(value, what))
        if self.check_array and not wire.is_array_of(value.get("array"), version):
            raise MessageError(f"{what}: {name}'s array disagrees with its string")
        return version

    def write(self, value: Any) -> Any:
        return None if value is None else wire.version_json(value)

    def read_text(self, text: str, name: str) -> WAVersion:
        return WAVersion.parse(text)

    def write_text(self, value: Any) -> str:
        return "" if value is None else str(value)

    # The flat form: "string" and "array" in the enclosing object.

    def read_flat(self, data: Mapping[str, Any], what: str) -> WAVersion:
        version = WAVersion.parse(_string_in(data, what))
        if not wire.is_array_of(data.get("array"), version):
            raise MessageError(f"{what}: array disagrees with string {version}")
        return version

    def read_flat_text(self, fields: Mapping[str, str], problems: dict[str, str]) -> Any:
        """The version in a hash's `string` and `array`; None when there is none, or
        when they do not decode (said in `problems`, keyed by the field at fault)."""
        text = fields.get("string", "")
        if not text:
            return None
        try:
            version = WAVersion.parse(text)
        except ValueError as exc:
            problems["string"] = f"string: {exc}"
            return None
        if fields.get("array", "") != array_text(version):
            shown = fields.get("array", "")[:40]
            problems["array"] = f"array {shown!r} disagrees with {version}"
        return version

    def write_flat_text(self, value: Any) -> dict[str, str]:
        """No field at all for no version: a write leaves the stored one alone."""
        return {} if value is None else {"string": str(value), "array": array_text(value)}


def _string_in(data: Mapping[str, Any], what: str) -> str:
    """`data["string"]`: a string, read on every message (hence no more calls than this)."""
    text = data.get("string")
    return text if type(text) is str else wire.text(data, "string", what)


def array_text(version: WAVersion) -> str:
    """`[2,3000,N]`: the array as the hash stores it (compact JSON)."""
    return json.dumps(version.array, separators=(",", ":"))


# The name of a version whose `array` and `string` sit in the record that holds it.
FLAT = "array+string"
FLAT_NAMES = ("array", "string")

# What each of a version's two forms is, for whoever reads one.
VERSION_FORMS = {
    "array": "As whatsmeow's store.SetWAVersion and Baileys' `version` option take it,"
    " e.g. [2, 3000, 1026131876].",
    "string": "As written, e.g. 2.3000.1026131876.",
}
