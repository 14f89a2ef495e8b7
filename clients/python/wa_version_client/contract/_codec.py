"""One strict codec for every model: JSON, and string fields (a hash, a stream entry).

It reads the `Wire` on each attribute (see _model.py) once, when a model's codec is
made, into a list of small readers, so decoding a message costs what the hand-written
decoders it replaced cost: one call per field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin, get_type_hints

from wa_version_client.contract import _wire as wire
from wa_version_client.contract._errors import MessageError
from wa_version_client.contract._model import FLAT, Version, Wire

T = TypeVar("T")

# What a field has when its dataclass gives no default: it must be present.
REQUIRED: Any = dataclasses.MISSING


@dataclass(frozen=True, slots=True)
class ModelField:
    """An attribute of a model and its `Wire`, with the names resolved."""

    attr: str
    wire: Wire
    default: Any
    nullable: bool

    @property
    def json_name(self) -> str | None:
        return self.attr if self.wire.json == "" else self.wire.json

    @property
    def hash_name(self) -> str | None:
        return self.attr if self.wire.hash == "" else self.wire.hash

    @property
    def json_flat(self) -> bool:
        return self.wire.json == FLAT

    @property
    def hash_flat(self) -> bool:
        return self.wire.hash == FLAT

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def model_fields(cls: type) -> tuple[ModelField, ...]:
    """Every attribute of the dataclass `cls` with its Wire, in declaration order."""
    hints = get_type_hints(cls, include_extras=True)
    fields = []
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        found = [m for m in get_args(hint)[1:] if isinstance(m, Wire)]
        if get_origin(hint) is not Annotated or len(found) != 1:
            raise TypeError(f"{cls.__name__}.{field.name} has no Wire annotation")
        base = get_args(hint)[0]
        union = get_origin(base) in (types.UnionType, typing.Union)
        nullable = union and type(None) in get_args(base)
        wire = found[0]
        if FLAT in (wire.json, wire.hash) and not isinstance(wire.type, Version):
            raise TypeError(f"{cls.__name__}.{field.name}: only a version can be FLAT")
        fields.append(ModelField(field.name, wire, field.default, nullable))
    return tuple(fields)


# What a JSON object's .get() answers for a name it lacks (None is JSON's null).
_ABSENT: Any = object()

Reader = Callable[[Mapping[str, Any], str], Any]


class JsonCodec(Generic[T]):
    """`cls` to and from a JSON object; `what` names it in errors."""

    def __init__(self, cls: type[T], what: str) -> None:
        self._cls = cls
        self._what = what
        self.fields = model_fields(cls)
        self._readers = [_json_reader(field) for field in self.fields]
        self._writers = [(f.attr, f.json_name, f.wire.type, f.json_flat) for f in self.fields]

    def read(self, data: Mapping[str, Any]) -> T:
        """The model in `data`; MessageError for anything missing or malformed."""
        what = self._what
        try:
            return self._cls(*[read(data, what) for read in self._readers])
        except MessageError:
            raise
        except ValueError as exc:  # a version or a time that does not parse
            raise MessageError(f"{what}: {exc}") from None

    def decode(self, text: str | bytes) -> T:
        return self.read(wire.load_object(text, self._what))

    def write(self, value: T) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for attr, name, kind, flat in self._writers:
            item = getattr(value, attr)
            if flat:
                data.update(wire.version_json(item))
            elif name is not None:
                data[name] = kind.write(item)
        return data

    def encode(self, value: T) -> str:
        return wire.dumps(self.write(value))


def _json_reader(field: ModelField) -> Reader:
    """Reads one field from a JSON object: presence, null, then its type."""
    default = field.default
    if field.json_name is None:  # not in JSON: its default
        return lambda data, what: default
    kind = field.wire.type
    if field.json_flat:
        assert isinstance(kind, Version)
        return kind.read_flat
    name, read = field.json_name, kind.read
    optional, nullable = field.wire.optional, field.nullable

    def reader(data: Mapping[str, Any], what: str) -> Any:
        value = data.get(name, _ABSENT)
        if value is None and nullable:
            return None
        if value is _ABSENT:
            if optional:
                return default
            raise MessageError(f"{what}: {name} is missing")
        return read(value, name, what)

    return reader


class FieldsCodec(Generic[T]):
    """`cls` to and from string fields (a Redis hash, a stream entry).

    A field absent or empty is its default, where it has one; absent without one is
    malformed. Each field is read on its own: what does not decode is reported for it.
    """

    def __init__(self, cls: type[T]) -> None:
        self._cls = cls
        self.fields = model_fields(cls)

    def write(self, value: T) -> dict[str, str]:
        out: dict[str, str] = {}
        for field in self.fields:
            item, kind = getattr(value, field.attr), field.wire.type
            if field.hash_flat:
                assert isinstance(kind, Version)
                out.update(kind.write_flat_text(item))
            elif field.hash_name is not None:
                out[field.hash_name] = kind.write_text(item)
        return out

    def read(self, raw: Mapping[Any, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """The attributes that decode (a malformed one at its default, a required one
        left out), and what is wrong with the rest, by field name."""
        fields = {_text(key): _text(value) for key, value in raw.items()}
        problems: dict[str, str] = {}
        values = {field.attr: self._read(field, fields, problems) for field in self.fields}
        return {attr: v for attr, v in values.items() if v is not REQUIRED}, problems

    def decode(self, raw: Mapping[Any, Any], what: str) -> T:
        """The model in `raw`; MessageError saying everything that is wrong with it."""
        values, problems = self.read(raw)
        if problems:
            raise MessageError(f"{what} does not decode: {'; '.join(problems.values())}")
        return self._cls(**values)

    def _read(self, field: ModelField, fields: dict[str, str], problems: dict[str, str]) -> Any:
        kind, name = field.wire.type, field.hash_name
        if field.hash_flat:
            assert isinstance(kind, Version)
            return kind.read_flat_text(fields, problems)
        if name is None:
            return field.default
        text = fields.get(name)
        if not text and not field.required:
            return field.default
        if text is None:
            problems[name] = f"{name} is missing"
            return field.default
        try:
            return kind.read_text(text, name)
        except ValueError as exc:  # MessageError and InvalidVersion are ValueErrors
            problems[name] = f"{name}: {exc}"
            return field.default


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
