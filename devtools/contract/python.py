"""api/openapi_components.py: the OpenAPI components as a Python literal the API imports
(no file to find at run time), laid out by `ruff format`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools.contract.common import NOTICE
from devtools.contract.schemas import openapi_components

ROOT = Path(__file__).resolve().parents[2]
PATH = "api/openapi_components.py"


def literal(value: Any) -> str:
    """`value` (JSON data) as Python source on one line, for `ruff format` to lay out."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool | None):
        return repr(value)
    return json.dumps(value)  # a number


def components_module() -> str:
    source = (
        f'"""The OpenAPI components of the API\'s answers: {NOTICE}."""\n\n'
        "# ruff: noqa: E501\n\n"
        "from typing import Any\n\n"
        f"COMPONENTS: dict[str, Any] = {literal(openapi_components())}\n"
    )
    return ruff_format(source)


def ruff_format(source: str) -> str:
    """`source` as `ruff format` (the project's settings) lays it out."""
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), "format", "--stdin-filename", PATH, "-"],
        input=source,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout
