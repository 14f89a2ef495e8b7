"""The Node client's types against Baileys' own installed declarations (`tsc`).

Code written for Baileys, with its import swapped to wa-version-client
(clients/node/test/types/baileys7.ts and baileys6.ts), must type-check as it is: the
options it passes (fetch's `RequestInit` for Baileys 7, axios' `AxiosRequestConfig` for
Baileys 6, `{}`), and the package's functions assigned where Baileys' own are expected
(`typeof baileys.fetchLatestWaWebVersion`, `typeof baileys.fetchLatestBaileysVersion`).
Each file is checked strictly in two settings: an ES module under NodeNext, and
CommonJS with Node (node10) resolution, as Evolution API's tsconfig has it.

Baileys 7 is `baileys@7.0.0-rc14` from the npm registry. Every 6.x release depends on
libsignal from GitHub; the fixture installs `@whiskeysockets/baileys@6.7.21` from the
registry with that one dependency overridden by the registry's libsignal, which its
`fetchLatest*` declarations do not refer to (./dev installs the fixture with npm ci).
"""

from __future__ import annotations

import subprocess

import pytest

from tests.clients.test_node import NODE_CLIENT

FIXTURE = NODE_CLIENT / "test" / "types"
TSC = FIXTURE / "node_modules" / ".bin" / "tsc"
STRICT = ["--noEmit", "--strict", "--skipLibCheck", "--types", "node"]
SETTINGS = {
    "esm-nodenext": "--target es2022 --module nodenext --moduleResolution nodenext",
    "cjs-node10": "--target es2020 --module commonjs --moduleResolution node10 --esModuleInterop",
}


@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("code", ["baileys7.ts", "baileys6.ts"])
def test_code_written_for_baileys_type_checks(code: str, setting: str) -> None:
    """Baileys-typed code, the import swapped, passes `tsc` against Baileys' .d.ts."""
    assert TSC.exists(), "the fixture is not installed: ./dev test installs it (npm ci)"
    outcome = subprocess.run(
        [str(TSC), *STRICT, *SETTINGS[setting].split(), code],
        cwd=FIXTURE,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_the_fixture_checks_against_the_installed_baileys() -> None:
    """The declarations checked against are the installed packages', at the versions named."""
    installed = FIXTURE / "node_modules"
    for package, version in (("baileys", "7.0.0-rc14"), ("@whiskeysockets/baileys", "6.7.21")):
        manifest = (installed / package / "package.json").read_text()
        assert f'"version": "{version}"' in manifest
        assert (installed / package / "lib" / "Utils" / "generics.d.ts").exists()


def test_the_fixture_resolves_this_package() -> None:
    """`wa-version-client` in the fixture is this checkout's package (a link), not a copy."""
    linked = FIXTURE / "node_modules" / "wa-version-client"
    assert linked.resolve() == NODE_CLIENT.resolve()
