"""The README's gateway recipes (Gateways: WAHA, Evolution API, a Baileys bot), run as
written against a real Redis and the real worker, with stand-ins only for the gateway
itself: a `waha` command that prints what WAHA's NOWEB engine would read, a `docker`
command that restarts it, and a `baileys` package whose makeWASocket prints its version.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer, free_port
from devtools.processes import Process, stop_all
from devtools.publishing import publish_version
from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import ROOT, refresh_command, strings
from tests.readme_blocks import BOT, EVOLUTION, WAHA, section_blocks
from tests.support import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

NODE_CLIENT = ROOT / "clients" / "node"
FIRST, NEXT = 1026131950, 1026131951
# What the stand-in for WAHA prints: the two variables its NOWEB engine reads.
FAKE_WAHA = 'echo "WAHA_NOWEB_WA_VERSION=$WAHA_NOWEB_WA_VERSION FORCE=$WAHA_NOWEB_WA_VERSION_FORCE"'


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def gateway(tmp_path: Path) -> dict[str, str]:
    """WAHA's container as the recipe makes it, on this machine: `wa-version` on PATH as
    `npm install --global` links the package's bin, WAHA's command (a stand-in), and the
    README's `with-wa-version`. The environment to run them in (REDIS_* to be added)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "wa-version").symlink_to(NODE_CLIENT / "bin" / "wa-version.js")
    executable(bin_dir / "waha", f"#!/bin/sh\n{FAKE_WAHA}\n")
    entrypoint, _ = section_blocks(WAHA, "sh")
    executable(bin_dir / "with-wa-version", entrypoint.text)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture
async def serving(
    base_env: dict[str, str],
    launch: Launcher,
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
) -> dict[str, str]:
    """The worker, started, fetched 2.3000.FIRST from the stub and stored it: the
    REDIS_URL and REDIS_PREFIX a gateway beside it is given."""
    upstream.configure(revision=FIRST)
    launch("worker", AUTO_REFRESH_INTERVAL="1h")  # fetches at start, as a deployed one does
    await wait_until(lambda: holds(redis, keys, FIRST), within=30)
    return {"REDIS_URL": base_env["REDIS_URL"], "REDIS_PREFIX": keys.prefix}


async def holds(redis: Redis, keys: ServiceKeys, revision: int) -> bool:
    return await redis.hget(keys.version, "string") == f"2.3000.{revision}"


def start_waha(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["with-wa-version", "waha"], env=env, capture_output=True, text=True, timeout=30
    )


async def test_the_waha_entrypoint_starts_it_on_the_version_held(
    gateway: dict[str, str], serving: dict[str, str]
) -> None:
    started = await asyncio.to_thread(start_waha, {**gateway, **serving})
    assert started.stdout == f"WAHA_NOWEB_WA_VERSION=2.3000.{FIRST} FORCE=true\n"
    assert (started.returncode, started.stderr) == (0, "")


def test_waha_starts_on_its_own_version_when_redis_is_down(gateway: dict[str, str]) -> None:
    """wa-version fails (one line on stderr); WAHA still starts, the variables unset."""
    started = start_waha({**gateway, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert (started.returncode, started.stdout) == (0, "WAHA_NOWEB_WA_VERSION= FORCE=\n")
    (line,) = started.stderr.splitlines()
    assert line.startswith("wa-version: Redis")


async def test_the_watcher_restarts_waha_on_a_change_only(
    gateway: dict[str, str],
    serving: dict[str, str],
    base_env: dict[str, str],
    upstream: StubUpstream,
    tmp_path: Path,
) -> None:
    """The README's watcher line, with a `docker` that restarts WAHA (runs its entrypoint
    again): the version held at the watcher's start restarts nothing; a refresh that
    brings another version restarts WAHA once, and WAHA starts on the new version."""
    record = tmp_path / "docker.log"
    fake_docker = f'#!/bin/sh\necho "docker $*" >> {record}\nwith-wa-version waha >> {record}\n'
    executable(Path(gateway["PATH"].split(os.pathsep)[0]) / "docker", fake_docker)
    _, watcher_block = section_blocks(WAHA, "sh")
    (line,) = watcher_block.text.splitlines()
    # The README's `python` is the one the client is installed for: the venv's.
    path = f"{Path(sys.executable).parent}{os.pathsep}{gateway['PATH']}"
    watcher = Process("watcher", {**base_env, "PATH": path}, tmp_path, command=line)
    try:
        await wait_until(lambda: strings(watcher) == [f"2.3000.{FIRST}"], within=30)
        upstream.configure(revision=NEXT)
        refreshed = await asyncio.to_thread(refresh_command, base_env)
        assert refreshed.returncode == 0, refreshed.stderr
        await wait_until(lambda: record.exists() and len(record.read_text().splitlines()) == 2)
        assert strings(watcher) == [f"2.3000.{FIRST}", f"2.3000.{NEXT}"]
        assert record.read_text().splitlines() == [
            "docker restart waha",
            f"WAHA_NOWEB_WA_VERSION=2.3000.{NEXT} FORCE=true",
        ]
    finally:
        stop_all([watcher])


def test_the_waha_dockerfile_installs_the_tarball_npm_pack_makes() -> None:
    """Not built (no Docker here): the file it copies is the one `npm pack` writes."""
    (dockerfile,) = section_blocks(WAHA, "dockerfile")
    manifest = json.loads((NODE_CLIENT / "package.json").read_text())
    tarball = f"{manifest['name']}-{manifest['version']}.tgz"
    assert f"npm install --global /usr/local/lib/wa-version/{tarball}" in dockerfile.text
    assert "with-wa-version" in dockerfile.text


TSC = NODE_CLIENT / "node_modules" / ".bin" / "tsc"
# Evolution API 2.3.6's tsconfig.json, the options that decide how an import is typed and
# resolved (github.com/EvolutionAPI/evolution-api, tsconfig.json).
EVOLUTION_TSCONFIG = {
    "compilerOptions": {
        "experimentalDecorators": True,
        "emitDecoratorMetadata": True,
        "target": "es2020",
        "module": "CommonJS",
        "moduleResolution": "Node",
        "rootDir": "./",
        "outDir": "./dist",
        "esModuleInterop": True,
        "strict": False,
        "strictNullChecks": False,
        "noImplicitAny": False,
        "skipLibCheck": True,
        "baseUrl": ".",
        "paths": {"@utils/*": ["./src/utils/*"]},
    },
    "include": ["src/**/*"],
}
# How Evolution calls it: when an instance connects (whatsapp.baileys.service.ts) and on
# GET / (index.router.ts), `.version` only.
EVOLUTION_CALLERS = """\
import { fetchLatestWaWebVersion } from '@utils/fetchLatestWaWebVersion';

export async function connectToWhatsapp(): Promise<string> {
  const baileysVersion = await fetchLatestWaWebVersion({});
  const version = baileysVersion.version;
  return `Baileys version: ${version.join('.')}`;
}

export async function root() {
  return { whatsappWebVersion: (await fetchLatestWaWebVersion({})).version.join('.') };
}
"""
# GET / a hundred times after the first, as Evolution's router calls it once per request.
EVOLUTION_GET_ROOT = """\
const { fetchLatestWaWebVersion } = require('./dist/src/utils/fetchLatestWaWebVersion.js');
(async () => {
  console.log(JSON.stringify(await fetchLatestWaWebVersion({})));
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const answers = new Set();
  for (let i = 0; i < 100; i++) answers.add((await fetchLatestWaWebVersion({})).version.join('.'));
  console.log(JSON.stringify([...answers]));
  process.exit(0);
})();
"""


def node_project(path: Path) -> Path:
    """A project that installed wa-version-client (linked, as `npm install DIR` does)."""
    (path / "node_modules").mkdir(parents=True)
    (path / "node_modules" / "wa-version-client").symlink_to(NODE_CLIENT)
    (path / "package.json").write_text('{"name": "gateway", "private": true}\n')
    return path


def evolution_with_the_recipe(tmp_path: Path) -> Path:
    """Evolution's layout, its tsconfig, the README's file and its callers, compiled."""
    project = node_project(tmp_path / "evolution")
    (project / "tsconfig.json").write_text(json.dumps(EVOLUTION_TSCONFIG))
    utils = project / "src" / "utils"
    utils.mkdir(parents=True)
    (block,) = section_blocks(EVOLUTION, "ts")
    (utils / "fetchLatestWaWebVersion.ts").write_text(block.text)
    (project / "src" / "callers.ts").write_text(EVOLUTION_CALLERS)
    compiled = subprocess.run(
        [str(TSC), "-p", str(project)], capture_output=True, text=True, timeout=120
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return project


def commands_run(stats: dict[str, dict[str, int]]) -> int:
    """Commands a server ran, but for INFO (the test's own) and PING (keep-alives)."""
    skipped = {"cmdstat_info", "cmdstat_ping"}
    return sum(entry["calls"] for name, entry in stats.items() if name not in skipped)


async def test_evolution_with_the_recipe_type_checks_and_answers_from_memory(
    tmp_path: Path, redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """The README's one-line file under Evolution's tsconfig: tsc accepts it and the
    callers as Evolution writes them; compiled to CommonJS, it answers the version held;
    and after the first call, a hundred more (GET / a hundred times) run no Redis command."""
    project = await asyncio.to_thread(evolution_with_the_recipe, tmp_path)
    await publish_version(redis, keys, FIRST)
    (project / "get-root.cjs").write_text(EVOLUTION_GET_ROOT)
    env = {**os.environ, "REDIS_URL": redis_server.url, "REDIS_PREFIX": keys.prefix}
    evolution = subprocess.Popen(  # noqa: ASYNC220 (read below, a line at a time)
        ["node", "get-root.cjs"], cwd=project, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert evolution.stdin is not None
        assert evolution.stdout is not None
        first = json.loads(await asyncio.to_thread(evolution.stdout.readline))
        assert first == {"version": [2, 3000, FIRST], "isLatest": True}
        before = commands_run(await redis.info("commandstats"))
        evolution.stdin.write("go\n")
        evolution.stdin.flush()
        later = json.loads(await asyncio.to_thread(evolution.stdout.readline))
        assert later == [f"2.3000.{FIRST}"]
        assert commands_run(await redis.info("commandstats")) == before
    finally:
        evolution.kill()
        evolution.communicate()


STAND_IN_BAILEYS = """\
export default function makeWASocket(config) {
  console.log(`makeWASocket version ${JSON.stringify(config.version)}`);
  return { ev: { on() {} } };
}
"""


def baileys_bot(tmp_path: Path, block_text: str) -> Path:
    """A project with the package and a stand-in `baileys`; the README's bot as bot.mjs."""
    project = node_project(tmp_path / "bot")
    baileys = project / "node_modules" / "baileys"
    baileys.mkdir()
    (baileys / "package.json").write_text(
        '{"name": "baileys", "type": "module", "main": "index.js"}'
    )
    (baileys / "index.js").write_text(STAND_IN_BAILEYS)
    (project / "bot.mjs").write_text(block_text)
    return project


def exported(project: Path, name: str) -> bool:
    probe = (
        "import * as client from 'wa-version-client';"
        f" process.exit(typeof client.{name} === 'function' ? 0 : 1)"
    )
    found = subprocess.run(["node", "--input-type=module", "-e", probe], cwd=project, timeout=60)
    return found.returncode == 0


@pytest.mark.parametrize(
    ("index", "function"), [(0, "fetchLatestWaWebVersion"), (1, "fetchLatestBaileysVersion")]
)
async def test_the_baileys_bot_connects_with_the_version_held(
    index: int,
    function: str,
    tmp_path: Path,
    serving: dict[str, str],
) -> None:
    """Each bot block, as pasted: the version the worker stored reaches makeWASocket."""
    project = baileys_bot(tmp_path, section_blocks(BOT, "js")[index].text)
    assert exported(project, function), f"wa-version-client does not export {function}"
    env = {**os.environ, **serving}
    bot = await asyncio.to_thread(
        subprocess.run, ["node", "bot.mjs"], cwd=project, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bot.returncode == 0, bot.stderr
    assert bot.stdout.splitlines() == [
        f"WhatsApp Web 2.3000.{FIRST}, latest: true",
        f"makeWASocket version [2,3000,{FIRST}]",
    ]
