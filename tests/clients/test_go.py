"""The Go package's own tests (clients/go/waversion, `go test`) against the running service
(see conftest.py), built with Debian's Go and redigo: `./dev test` installs
golang-go and golang-github-gomodule-redigo-dev when they are missing."""

from __future__ import annotations

import os
import shutil
import subprocess

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
