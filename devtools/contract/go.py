"""The Go client's generated file (clients/go/waversion/contract_gen.go): the Published
struct and DecodeMessage, made of the strict readers in decode.go; the Redis names; the
report's job fields and script."""

from __future__ import annotations

import json
import shutil
import subprocess

from devtools.contract.clients import (
    job_fields,
    keys,
    latest_max_age_ms,
    latest_reasons,
    manager_name_parts,
    rename_delay_ms,
    report_script,
)
from devtools.contract.common import JsonField, json_fields, paragraphs, pascal, render, wrapped
from wa_version_client.contract import PublishedVersion
from wa_version_client.contract._model import VERSION_FORMS, Choice, Flag, Integer, Text, Version

PATH = "clients/go/waversion/contract_gen.go"
INDENTED = "\t// "  # a comment inside a struct or a const block


def go_type(field: JsonField) -> str:
    kind = field.kind
    if isinstance(kind, Version):
        base = "[3]uint32"
    elif isinstance(kind, Integer):
        base = "int64"
    elif isinstance(kind, Text) and kind.pattern:
        raise TypeError(f"the Go client checks no pattern ({kind!r}): teach decode.go")
    elif isinstance(kind, Text | Choice):
        base = "string"
    elif isinstance(kind, Flag):
        base = "bool"
    else:
        raise TypeError(f"the Go client reads no {kind!r}: teach clients/go/waversion/decode.go")
    if field.nullable and not isinstance(kind, Version):
        raise TypeError(f"the Go client has no nullable {kind!r}: teach decode.go")
    return f"*{base}" if field.nullable else base


def go_bool(value: bool) -> str:
    return "true" if value else "false"


def reader(field: JsonField) -> str:
    """The call to decode.go that reads `field` into p."""
    kind, name, optional = field.kind, json.dumps(field.name), go_bool(not field.required)
    into = f"&p.{pascal(field.name)}"
    if field.flat:
        return "o.versionPair(&p.Array, &p.String)"
    if isinstance(kind, Version):
        read = "nullableVersion" if field.nullable else "version"
        return f"o.{read}({name}, {go_bool(kind.check_array)}, {optional}, {into})"
    if isinstance(kind, Integer):
        return f"o.integer({name}, {kind.minimum}, {kind.maximum}, {optional}, {into})"
    if isinstance(kind, Choice):
        return f"o.choice({name}, {field.name}Values, {optional}, {into})"
    read = "text" if isinstance(kind, Text) else "flag"
    return f"o.{read}({name}, {optional}, {into})"


def member(doc: str, name: str, kind: str) -> str:
    tag = f'`json:"{name}"`'
    return f"{wrapped(doc, INDENTED)}\n\t{pascal(name)} {kind} {tag}"


def members(field: JsonField) -> list[str]:
    """The struct's fields for `field`: two for a flat version (Array and String)."""
    if field.flat:
        return [
            member(f"{field.doc} {VERSION_FORMS['array']}", "array", "[3]uint32"),
            member(f"{field.doc} {VERSION_FORMS['string']}", "string", "string"),
        ]
    return [member(field.doc, field.name, go_type(field))]


def choices(field: JsonField) -> str:
    values = ", ".join(json.dumps(value) for value in field.kind.values)
    return f"\nvar {field.name}Values = []string{{{values}}}\n"


def go_file() -> str:
    fields = list(json_fields(PublishedVersion))
    first, *more = paragraphs(PublishedVersion)
    doc = [f"Published: {first[0].lower()}{first[1:]}", *more]
    defaults = [
        f"{pascal(f.name)}: {json.dumps(f.default)}"
        for f in fields
        if f.default not in (None, "", 0, False)
    ]
    jobs = [
        f"\t{{{json.dumps(f.name)}, {go_bool(f.default is None)}, {json.dumps(f.default or '')}}},"
        for f in job_fields()
    ]
    source = render(
        "go.tmpl",
        PUBLISHED_DOC="\n//\n".join(wrapped(text, "// ") for text in doc),
        MEMBERS="\n\n".join(m for field in fields for m in members(field)),
        CHOICES="".join(choices(f) for f in fields if isinstance(f.kind, Choice)),
        DEFAULTS=", ".join(defaults),
        READS=" &&\n".join(f"\t\t{reader(field)}" for field in fields),
        KEYS="\n".join(
            f"{wrapped(key.doc, INDENTED)}\n\tkey{pascal(key.attr)} = {json.dumps(key.suffix)}"
            for key in keys()
        ),
        JOB_FIELDS="\n".join(jobs),
        REPORT_SCRIPT=report_script(),
        LATEST_MAX_AGE_MS=str(latest_max_age_ms()),
        LATEST_REASONS=aligned_map(latest_reasons()),
        MANAGER_NAME=aligned_consts(
            {
                f"managerName{n[0].upper()}{n[1:]}": json.dumps(v)
                for n, v in manager_name_parts("go").items()
            }
        ),
        RENAME_DELAY=aligned_consts(
            {
                f"renameDelay{n.title()}": f"{ms} * time.Millisecond"
                for n, ms in rename_delay_ms().items()
            }
        ),
    )
    return gofmt(source)


def aligned_map(entries: dict[str, str]) -> str:
    """A map literal's entries, values aligned as gofmt aligns them."""
    keys = {name: json.dumps(name) + ":" for name in entries}
    width = max(len(key) for key in keys.values())
    return "\n".join(
        f"\t{keys[name].ljust(width)} {json.dumps(text)}," for name, text in entries.items()
    )


def aligned_consts(entries: dict[str, str]) -> str:
    """A const block's lines from Go expressions, the `=` aligned as gofmt aligns them."""
    width = max(len(name) for name in entries)
    return "\n".join(f"\t{name.ljust(width)} = {value}" for name, value in entries.items())


def gofmt(source: str) -> str:
    """`source` as gofmt leaves it, where gofmt is installed (the text is made gofmt-clean;
    a test holds it to that)."""
    found = shutil.which("gofmt")
    if found is None:
        return source
    return subprocess.run([found], input=source, capture_output=True, text=True, check=True).stdout


def go_files() -> dict[str, str]:
    return {PATH: go_file()}
