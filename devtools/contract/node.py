"""The Node client's generated module: decoding tables published.js interprets, the Redis
names, the report's job fields and script (src/contract.generated.js), and their
TypeScript types (src/contract.generated.d.ts, which index.d.ts re-exports)."""

from __future__ import annotations

import json
from typing import Any

from devtools.contract.clients import (
    job_fields,
    keys,
    latest_max_age_ms,
    latest_reasons,
    manager_name_parts,
    rename_delay_ms,
    report_script,
)
from devtools.contract.common import JsonField, camel, json_fields, paragraphs, render, wrapped
from wa_version_client.contract import PublishedVersion
from wa_version_client.contract._model import VERSION_FORMS, Choice, Const, Flag, Integer, Text

JS_PATH = "clients/node/src/contract.generated.js"
DTS_PATH = "clients/node/src/contract.generated.d.ts"


def spec(field: JsonField) -> dict[str, Any]:
    """How published.js reads `field` (see readField there)."""
    kind = field.kind
    out: dict[str, Any] = {
        "name": None if field.flat else field.name,
        "prop": None if field.flat else camel(field.name),
        "type": type(kind).__name__.lower(),
        "flat": field.flat,
        "required": field.required,
        "nullable": field.nullable,
        "default": field.default,
    }
    if isinstance(kind, Integer):
        out |= {"minimum": kind.minimum, "maximum": kind.maximum}
    elif isinstance(kind, Choice):
        out |= {"values": list(kind.values)}
    elif isinstance(kind, Const):
        out |= {"value": kind.value}
    elif out["type"] == "version":
        out |= {"checkArray": kind.check_array}
    elif isinstance(kind, Text) and kind.pattern:
        raise TypeError(f"the Node client checks no pattern ({kind!r}): teach published.js")
    elif not isinstance(kind, Text | Flag):
        raise TypeError(f"the Node client reads no {kind!r}: teach clients/node/src/published.js")
    return out


def ts_type(field: JsonField) -> str:
    kind = field.kind
    if isinstance(kind, Integer):
        shown = "number"
    elif isinstance(kind, Text):
        shown = "string"
    elif isinstance(kind, Flag):
        shown = "boolean"
    elif isinstance(kind, Choice):
        shown = " | ".join(json.dumps(value) for value in kind.values)
    elif isinstance(kind, Const):
        shown = json.dumps(kind.value)
    else:
        shown = "WAVersion"
    return f"{shown} | null" if field.nullable else shown


def member(text: str, declaration: str) -> str:
    """A documented member of an object or interface, two spaces in."""
    return f"  /** {text.replace('*/', '* /')} */\n  {declaration}"


def js_module() -> str:
    fields = [spec(field) for field in json_fields(PublishedVersion)]
    return render(
        "node.js.tmpl",
        MESSAGE_DOC=wrapped(paragraphs(PublishedVersion)[0], " * "),
        MESSAGE_WHAT=json.dumps("a version-changed message"),
        MESSAGE_FIELDS="\n".join(f"    {json.dumps(row)}," for row in fields),
        KEYS="\n".join(
            member(key.doc, f"{camel(key.attr)}: {json.dumps(key.suffix)},") for key in keys()
        ),
        JOB_FIELDS="\n".join(
            f"  {json.dumps({'name': f.name, 'default': f.default})}," for f in job_fields()
        ),
        REPORT_SCRIPT=report_script(),
        LATEST_MAX_AGE_MS=str(latest_max_age_ms()),
        LATEST_REASONS="\n".join(
            f"    {name}: {json.dumps(text)}," for name, text in latest_reasons().items()
        ),
        MANAGER_NAME="\n".join(
            f"  {name}: {json.dumps(text)}," for name, text in manager_name_parts("node").items()
        ),
        RENAME_DELAY_MIN_MS=str(rename_delay_ms()["min"]),
        RENAME_DELAY_MAX_MS=str(rename_delay_ms()["max"]),
    )


def dts_module() -> str:
    members = []
    for field in json_fields(PublishedVersion):
        if field.flat:
            members.append(
                member(f"{field.doc} {VERSION_FORMS['array']}", "readonly array: WAVersion;")
            )
            members.append(
                member(f"{field.doc} {VERSION_FORMS['string']}", "readonly string: string;")
            )
        else:
            members.append(member(field.doc, f"readonly {camel(field.name)}: {ts_type(field)};"))
    return render(
        "node.d.ts.tmpl",
        MEMBERS="\n".join(members),
        KEYS="\n".join(member(key.doc, f"readonly {camel(key.attr)}: string;") for key in keys()),
    )


def node_files() -> dict[str, str]:
    return {JS_PATH: js_module(), DTS_PATH: dts_module()}
