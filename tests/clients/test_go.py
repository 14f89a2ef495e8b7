"""The Go package's own tests (clients/go/waversion, `go test`) against the running service
(see conftest.py), built with Debian's Go and redigo: `./dev test` installs
golang-go and golang-github-gomodule-redigo-dev when they are missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.processes import ROOT

pytestmark = pytest.mark.slow

GO_CLIENT = ROOT / "clients" / "go" / "waversion"
# Where Debian's golang-*-dev packages put their sources (a GOPATH): redigo comes from there.
DEBIAN_GOPATH = "/usr/share/gocode"


def go() -> str:
    found = shutil.which("go")
    assert found, "go is not on PATH: ./dev test installs golang-go (Debian) when it can"
    return found


def go_env(env: dict[str, str]) -> dict[str, str]:
    """GOPATH mode on Debian's packaged sources: no module download, ever."""
    gopath = os.environ.get("GO_CLIENT_GOPATH", DEBIAN_GOPATH)
    return {**env, "GO111MODULE": "off", "GOPATH": gopath, "GOFLAGS": "", "GOPROXY": "off"}


@pytest.mark.server_sensitive
def test_go_client(client_env: dict[str, str]) -> None:
    """`go vet` is clean and every Go test passes against the running service."""
    for command in ([go(), "vet", "."], [go(), "test", "-count=1", "-v", "."]):
        outcome = subprocess.run(
            command,
            cwd=GO_CLIENT,
            env=go_env(client_env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert outcome.returncode == 0, f"{' '.join(command)}:\n{outcome.stdout}\n{outcome.stderr}"


# Stand-ins for the two whatsmeow packages the README's snippet uses, declared as
# whatsmeow declares them (go.mau.fi/whatsmeow/store and types/events).
WHATSMEOW_STAND_INS = {
    "go.mau.fi/whatsmeow/store/store.go": (
        "package store\n\n"
        "type WAVersionContainer [3]uint32\n\n"
        "func SetWAVersion(version WAVersionContainer) {}\n"
    ),
    "go.mau.fi/whatsmeow/types/events/events.go": (
        "package events\n\ntype ClientOutdated struct{}\n"
    ),
}


def readme_go_snippet() -> str:
    """The ```go block of the README's Go section."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Go: whatsmeow") :]
    start = section.index("```go\n") + len("```go\n")
    return section[start : section.index("```\n", start)]


def test_the_readme_go_snippet_builds_as_written(tmp_path: Path) -> None:
    """The README's whatsmeow code compiles and vets with the package beside it."""
    src = tmp_path / "src"
    gateway = src / "example.com" / "gateway"
    (gateway / "waversion").mkdir(parents=True)
    (gateway / "main.go").write_text(readme_go_snippet())
    for source in GO_CLIENT.glob("*.go"):
        if not source.name.endswith("_test.go"):
            shutil.copy(source, gateway / "waversion" / source.name)
    for path, text in WHATSMEOW_STAND_INS.items():
        (src / path).parent.mkdir(parents=True, exist_ok=True)
        (src / path).write_text(text)
    env = go_env(dict(os.environ))
    env["GOPATH"] = f"{tmp_path}{os.pathsep}{env['GOPATH']}"
    for command in ([go(), "build", "-o", os.devnull, "."], [go(), "vet", "."]):
        outcome = subprocess.run(
            command, cwd=gateway, env=env, capture_output=True, text=True, timeout=300
        )
        assert outcome.returncode == 0, f"{' '.join(command)}:\n{outcome.stderr}"
