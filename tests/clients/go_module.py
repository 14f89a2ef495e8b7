"""Building the Go module (clients/go) and modules that use it, offline.

Go runs in module mode, as a gateway's build does, but nothing is ever downloaded
(GOPROXY=off, or a file:// proxy the test writes): every module comes from a directory.
redigo is Debian's source (golang-github-gomodule-redigo-dev, which `./dev test`
installs), whatsmeow a stand-in declaring what the README's snippet uses exactly as
whatsmeow declares it, since whatsmeow is neither packaged by Debian nor reachable here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.e2e.processes import ROOT

GO_MODULE = ROOT / "clients" / "go"
GO_CLIENT = GO_MODULE / "waversion"
# Where Debian's golang-*-dev packages put their sources (a GOPATH): redigo comes from there.
DEBIAN_GOPATH = "/usr/share/gocode"
REDIGO = "github.com/gomodule/redigo"
WHATSMEOW = "go.mau.fi/whatsmeow"

# whatsmeow's store.SetWAVersion and WAVersionContainer (store/clientpayload.go) and
# events.ClientOutdated (types/events), with the signatures whatsmeow gives them.
WHATSMEOW_STAND_IN = {
    "go.mod": f"module {WHATSMEOW}\n\ngo 1.19\n",
    "store/clientpayload.go": (
        "package store\n\n"
        "type WAVersionContainer [3]uint32\n\n"
        "func SetWAVersion(version WAVersionContainer) {}\n"
    ),
    "types/events/events.go": "package events\n\ntype ClientOutdated struct{}\n",
}


def module_path() -> str:
    """The path clients/go/go.mod declares."""
    found = re.search(r"^module (\S+)$", (GO_MODULE / "go.mod").read_text(), re.MULTILINE)
    assert found, "clients/go/go.mod declares no module path"
    return found.group(1)


def go() -> str:
    found = shutil.which("go")
    assert found, "go is not on PATH: ./dev test installs golang-go (Debian) when it can"
    return found


def go_env(env: dict[str, str], **more: str) -> dict[str, str]:
    """Module mode with nothing to download: no proxy, no checksum database, no toolchain
    switch; a go.work only where `more` names one."""
    return {
        **env,
        "GO111MODULE": "on",
        "GOFLAGS": "",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
        "GOWORK": "off",
        **more,
    }


def offline_redigo(into: Path) -> Path:
    """Debian's redigo source as a module directory, without redigo's own tests: they
    alone need testify, which its go.mod requires and the copy's leaves out, or Go would
    look testify up to complete the module graph (and `go mod tidy` to cover them)."""
    gopath = os.environ.get("GO_CLIENT_GOPATH", DEBIAN_GOPATH)
    source = Path(gopath) / "src" / REDIGO
    shutil.copytree(source / "redis", into / "redis", ignore=shutil.ignore_patterns("*_test.go"))
    (into / "go.mod").write_text(f"module {REDIGO}\n\ngo 1.14\n")
    return into


def whatsmeow_stand_in(into: Path) -> Path:
    for name, text in WHATSMEOW_STAND_IN.items():
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_text(text)
    return into


def workspace(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """`env` with a go.work that builds clients/go in place, redigo from Debian's source:
    for the module's own `go vet` and `go test`."""
    redigo = offline_redigo(tmp_path / "redigo")
    work = tmp_path / "go.work"
    work.write_text(f"go 1.19\n\nuse {GO_MODULE}\n\nreplace {REDIGO} => {redigo}\n")
    return go_env(env, GOWORK=str(work))


def new_module(tmp_path: Path, name: str, **env: str) -> tuple[Path, dict[str, str]]:
    """A new module (as `go mod init` makes it) requiring redigo, given as Debian's
    source; and the environment to build it in."""
    module = tmp_path / name
    module.mkdir()
    environment = go_env(
        dict(os.environ), GOMODCACHE=str(tmp_path / "modcache"), GOFLAGS="-modcacherw", **env
    )
    run_go(["mod", "init", f"example.com/{name}"], module, environment)
    redigo = offline_redigo(tmp_path / "redigo")
    edits = [f"-require={REDIGO}@v1.8.3", f"-replace={REDIGO}={redigo}"]
    run_go(["mod", "edit", *edits], module, environment)
    return module, environment


def file_proxy(into: Path, version: str) -> str:
    """A module proxy on disk serving clients/go as `version`, laid out as the proxy
    protocol says (what proxy.golang.org would serve once the repository is published):
    the GOPROXY value."""
    path = module_path()
    at = into / path / "@v"
    at.mkdir(parents=True)
    (at / "list").write_text(f"{version}\n")
    (at / f"{version}.info").write_text(f'{{"Version": "{version}"}}\n')
    shutil.copy(GO_MODULE / "go.mod", at / f"{version}.mod")
    with zipfile.ZipFile(at / f"{version}.zip", "w") as archive:
        for file in sorted(GO_MODULE.rglob("*")):
            if file.is_file():
                archive.write(file, f"{path}@{version}/{file.relative_to(GO_MODULE).as_posix()}")
    return into.as_uri()


def run_go(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """`go ARGS` in `cwd`; its output, once it succeeded."""
    outcome = subprocess.run(
        [go(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert outcome.returncode == 0, f"go {' '.join(args)}:\n{outcome.stdout}\n{outcome.stderr}"
    return outcome.stdout
