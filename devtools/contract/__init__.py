"""`./dev contract`: every form of the contract, generated from its one model.

The model is the annotated dataclasses of wa_version_client.contract (see its _model.py).
From them come the JSON Schemas in schemas/, the OpenAPI components of the API's answers,
the Node client's decoding tables and TypeScript types, and the Go client's struct and
decoder. Each generated file is committed; `--check` says which differ from what the
model generates now (a model changed without `./dev contract`, or a file edited by hand).
"""

from __future__ import annotations

from pathlib import Path

from devtools.contract.go import go_files
from devtools.contract.node import node_files
from devtools.contract.python import components_module
from devtools.contract.schemas import schema_files

ROOT = Path(__file__).resolve().parents[2]


def generated() -> dict[str, str]:
    """Every generated file's text, by its path from the repository's root."""
    return {
        **schema_files(),
        "api/openapi_components.py": components_module(),
        **node_files(),
        **go_files(),
    }


def stale(root: Path = ROOT) -> list[str]:
    """The generated files under `root` that are missing or differ from the model's."""
    found = []
    for path, text in generated().items():
        file = root / path
        if not file.is_file() or file.read_text() != text:
            found.append(path)
    return found


def write(root: Path = ROOT) -> list[str]:
    """Write every generated file that differs; the paths written."""
    written = stale(root)
    texts = generated()
    for path in written:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(texts[path])
    return written
