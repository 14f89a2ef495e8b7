"""The Go module (clients/go): its own tests (`go test`) against the running service (see
conftest.py), and the README's whatsmeow code built in a gateway's module of its own,
taking the package as the README says; all offline, with Debian's Go and redigo
(tests/clients/go_module.py): `./dev test` installs golang-go and
golang-github-gomodule-redigo-dev when they are missing."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from tests.clients.go_module import (
    GO_CLIENT,
    WHATSMEOW,
    file_proxy,
    module_path,
    new_module,
    run_go,
    whatsmeow_stand_in,
    workspace,
)
from tests.e2e.processes import ROOT
from tests.readme_blocks import section_blocks

pytestmark = pytest.mark.slow

GO_SECTION = "Go: whatsmeow"


@pytest.mark.server_sensitive
def test_go_client(client_env: dict[str, str], tmp_path: Path) -> None:
    """`go vet` is clean and every Go test passes against the running service, the
    package built in module mode as the module it is."""
    env = workspace(tmp_path, client_env)
    run_go(["vet", "."], GO_CLIENT, env)
    run_go(["test", "-count=1", "-v", "."], GO_CLIENT, env)


def readme_commands() -> tuple[str, list[str]]:
    """The README's Go shell block: its `go get` line, and the lines for a clone."""
    (block,) = section_blocks(GO_SECTION, "sh")
    joined = block.text.replace("\\\n", " ")
    commands = [line for line in joined.splitlines() if line and not line.startswith("#")]
    assert commands[0].startswith("go get "), commands
    return commands[0], commands[1:]


def gateway(tmp_path: Path, **env: str) -> tuple[Path, dict[str, str]]:
    """A new module holding the README's whatsmeow code, with what `go mod tidy` would
    download for its other imports (redigo and whatsmeow) given as directories."""
    module, environment = new_module(tmp_path, "gateway", **env)
    (go_block,) = section_blocks(GO_SECTION, "go")
    (module / "main.go").write_text(go_block.text)
    whatsmeow = whatsmeow_stand_in(tmp_path / "whatsmeow")
    edits = [f"-require={WHATSMEOW}@v0.0.0", f"-replace={WHATSMEOW}={whatsmeow}"]
    run_go(["mod", "edit", *edits], module, environment)
    return module, environment


def run_readme_line(line: str, module: Path, env: dict[str, str]) -> None:
    """One `go …` line of the README, as written."""
    command = shlex.split(line)
    assert command[0] == "go", line
    run_go(command[1:], module, env)


def build_and_vet(module: Path, env: dict[str, str]) -> None:
    run_go(["build", "-o", os.devnull, "."], module, env)
    run_go(["vet", "."], module, env)


def test_the_readme_go_block_builds_with_go_get(tmp_path: Path) -> None:
    """The README's `go get` line fetches the module from a proxy serving the checkout as
    its published release, and the README's whatsmeow code builds and vets with it."""
    proxy = file_proxy(tmp_path / "proxy", "v0.1.0")
    module, env = gateway(tmp_path, GOPROXY=proxy)
    get, _ = readme_commands()
    run_readme_line(get, module, env)
    assert f"{module_path()} v0.1.0" in (module / "go.mod").read_text()
    build_and_vet(module, env)


def test_the_readme_go_block_builds_from_a_clone(tmp_path: Path) -> None:
    """The README's `replace` lines, with the checkout as the clone beside the gateway's
    module, then `go mod tidy` offline: the README's whatsmeow code builds and vets."""
    module, env = gateway(tmp_path)
    clone = tmp_path / "wa-version-service"
    clone.symlink_to(ROOT)
    _, from_clone = readme_commands()
    for line in from_clone:
        run_readme_line(line, module, env)
    build_and_vet(module, env)
