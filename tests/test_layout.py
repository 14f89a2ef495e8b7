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


# --- Third-party internals, and the Redis deployment's kind, each in one place.

PRODUCT = (CLIENT, *(ROOT / package for package in SERVICE))
# The one module per library allowed to reach into it (its pinned test beside it).
COMPAT = {*modules(CLIENT / "_redis_compat"), ROOT / "api" / "protocol.py"}
REACHED_INTO = {"redis", "uvicorn"}
# The deployment seam: choosing the kind from the URL, and each kind's implementation
# (subscription engines included). Callers ask a Deployment; they never ask which it is.
SEAM = {
    CLIENT / f"{name}.py"
    for name in ("_deployment", "_from_url", "_server", "_sentinel", "_sentinel_url",
                 "_cluster", "_cluster_url", "_url_parts", "_pubsub")
} | set(modules(CLIENT / "_redis_compat"))  # fmt: skip
KIND_SPECIFIC_MODULES = {
    *(f"redis{part}.{kind}" for part in ("", ".asyncio") for kind in ("cluster", "sentinel")),
    *(f"wa_version_client._{kind}" for kind in ("server", "sentinel", "cluster")),
    *(f"wa_version_client._{kind}_url" for kind in ("sentinel", "cluster")),
}
KIND_SCHEMES = ("redis://", "rediss://", "unix://", "+sentinel", "+cluster")
# Names that only a caller asking which kind it holds would use.
KIND_NAMES = {
    *(f"{verb}_{kind}_url" for verb in ("is", "parse") for kind in ("sentinel", "cluster")),
    *(f"{kind}Deployment" for kind in ("Server", "Sentinel", "Cluster")),
    *("SingleServer", "ReplicaServer", "RedisCluster", "Sentinel", "SentinelConnectionPool"),
}
# Public names of the standard library that start with an underscore (namedtuple's).
PUBLIC_UNDERSCORED = {"_replace", "_asdict", "_fields", "_make"}


def product_modules(excluded: set[Path]) -> list[Path]:
    return [path for base in PRODUCT for path in modules(base) if path not in excluded]


def third_party_names(tree: ast.Module, libraries: set[str]) -> dict[str, object]:
    """The names a module binds by importing from `libraries`, each to what it names."""
    names: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in libraries:
                module = __import__(node.module, fromlist=["_"])
                for alias in node.names:
                    names[alias.asname or alias.name] = getattr(module, alias.name, None)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in libraries:
                    names[(alias.asname or alias.name).split(".")[0]] = None
    return names


def is_exception(thing: object) -> bool:
    return isinstance(thing, type) and issubclass(thing, BaseException)


def private_imports(path: Path, theirs: dict[str, object]) -> list[str]:
    modules_ = [
        name
        for name in imported(path)
        if name.split(".")[0] in REACHED_INTO and any(p.startswith("_") for p in name.split("."))
    ]
    return [f"imports {name}" for name in (*modules_, *(n for n in theirs if n.startswith("_")))]


def subclasses_of_theirs(tree: ast.Module, theirs: dict[str, object]) -> list[str]:
    found = []
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    for node in classes:
        for base in node.bases:
            root = base
            while isinstance(root, ast.Attribute):
                root = root.value
            named = theirs.get(root.id) if base is root and isinstance(root, ast.Name) else None
            if isinstance(root, ast.Name) and root.id in theirs and not is_exception(named):
                found.append(f"line {node.lineno}: {node.name} subclasses {ast.unparse(base)}")
    return found


def underscored_attributes(tree: ast.Module) -> list[str]:
    """`x._name` where `x` is not the object's own `self` or `cls`."""
    return [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and node.attr not in PUBLIC_UNDERSCORED
        and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
    ]


def reaches_into(path: Path) -> list[str]:
    """Where `path` touches redis-py's or uvicorn's internals: a private module or name
    imported, a class of theirs subclassed (their exceptions aside), or an underscored
    attribute of anything but `self`/`cls` read or set."""
    tree = ast.parse(path.read_text())
    theirs = third_party_names(tree, REACHED_INTO)
    found = private_imports(path, theirs) + subclasses_of_theirs(tree, theirs)
    return found + underscored_attributes(tree)


@pytest.mark.parametrize("path", product_modules(COMPAT), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_compat_modules_reach_into_redis_py_or_uvicorn(path: Path) -> None:
    """Everything an upgrade of redis-py or uvicorn must re-check is in one module per
    library (wa_version_client/_redis_compat/, api/protocol.py), pinned by a test."""
    assert reaches_into(path) == []


def docstrings(tree: ast.Module) -> set[int]:
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def asks_the_kind(path: Path) -> list[str]:
    """Where `path` asks which kind of deployment it holds: an isinstance of a client or
    pool class (exceptions aside), a kind's own module or name used, a URL scheme spelled."""
    tree = ast.parse(path.read_text())
    found = [f"imports {name}" for name in imported(path) & KIND_SPECIFIC_MODULES]
    identifiers = {
        node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute)
        else node.name  # an alias imported
        for node in ast.walk(tree)
        if isinstance(node, ast.Name | ast.Attribute | ast.alias)
    }  # fmt: skip
    found += [f"uses {name}" for name in sorted(identifiers & KIND_NAMES)]
    classes = third_party_names(tree, {"redis"})
    texts = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in {"isinstance", "issubclass"}:
            named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            if any(n in classes and not is_exception(classes[n]) for n in named):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in texts
            and any(scheme in node.value for scheme in KIND_SCHEMES)
        ):
            found.append(f"line {node.lineno}: {node.value!r}")
    return found


@pytest.mark.parametrize("path", product_modules(SEAM), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_caller_outside_the_deployment_seam_asks_which_kind_it_holds(path: Path) -> None:
    """Single server, Sentinel, Cluster or replica is chosen once, from the URL
    (wa_version_client.deployment.deployment_for); everyone else asks the Deployment."""
    assert asks_the_kind(path) == []
