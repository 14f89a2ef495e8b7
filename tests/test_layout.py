"""Who may import what: the audiences of the code stay apart.

- the contract (wa_version_client.contract) imports nothing of ours but itself;
- the client (wa_version_client) imports only itself and redis-py, so a connection
  manager installs it alone;
- the service uses only the client's public API (no `_private` module), and every
  public module of the client says what it exports (`__all__`);
- api/ and worker/ never import each other.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients" / "python" / "wa_version_client"
SERVICE = ("api", "worker", "shared")
OURS = {"api", "worker", "shared", "wa_version_client", "tests", "bench", "devtools"}


def imported(path: Path) -> set[str]:
    """The dotted names `path` imports (absolute imports only: the project uses no others)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.py"))


@pytest.mark.parametrize("path", modules(CLIENT / "contract"), ids=lambda p: p.name)
def test_the_contract_imports_nothing_of_ours_but_itself(path: Path) -> None:
    ours = {name for name in imported(path) if name.split(".")[0] in OURS}
    assert all(name.startswith("wa_version_client.contract") for name in ours), ours


@pytest.mark.parametrize("path", modules(CLIENT), ids=lambda p: p.name)
def test_the_client_imports_only_itself_redis_and_the_standard_library(path: Path) -> None:
    tops = {name.split(".")[0] for name in imported(path)}
    foreign = tops - sys.stdlib_module_names - {"wa_version_client", "redis", "__future__"}
    assert not foreign, foreign


@pytest.mark.parametrize(("package", "forbidden"), [("api", "worker"), ("worker", "api")])
def test_api_and_worker_never_import_each_other(package: str, forbidden: str) -> None:
    for path in modules(ROOT / package):
        tops = {name.split(".")[0] for name in imported(path)}
        assert forbidden not in tops, f"{path.relative_to(ROOT)} imports {forbidden}"


@pytest.mark.parametrize("package", SERVICE)
def test_the_service_uses_only_the_clients_public_api(package: str) -> None:
    for path in modules(ROOT / package):
        private = {
            name for name in imported(path) if name.startswith("wa_version_client") and "._" in name
        }
        assert not private, f"{path.relative_to(ROOT)} imports {private}"


def public_modules() -> list[Path]:
    return [
        path
        for path in modules(CLIENT)
        if not any(part.startswith("_") and part != "__init__.py" for part in path.parts[-2:])
        and path.name != "watch.py"  # a program, run with -m, not imported
    ]


@pytest.mark.parametrize("path", public_modules(), ids=lambda p: str(p.relative_to(CLIENT)))
def test_every_public_module_of_the_client_declares_its_exports(path: Path) -> None:
    tree = ast.parse(path.read_text())
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert declared, f"{path.relative_to(CLIENT)} has no __all__"


# The size a reader takes in at once: a module in a sitting, a function on a screen.
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
SIZED = [ROOT / "api", ROOT / "worker", ROOT / "shared", CLIENT]


@pytest.mark.parametrize(
    "path", [p for d in SIZED for p in modules(d)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_modules_and_functions_stay_small(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} is too long"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.relative_to(ROOT)}:{node.name} {length}"
