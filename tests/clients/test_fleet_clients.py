"""The Node subscriber and the Go follower in the fleet, on a real server: each names its
subscribed connection `wav1:<id>:<client>:<version held>`, renames it 0.5-2 s after each
change published (never at once: thousands of renames would crowd the change's
delivery), and is gone from the fleet once it exits (shared/fleet.py reads the names); a
server that refuses the name is said once, and the subscriber follows unnamed."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from shared.fleet import build_fleet
from shared.keys import ServiceKeys
from tests.clients.go_module import GO_MODULE, module_path, new_module, run_go
from tests.clients.test_node import NODE_CLIENT, node
from tests.support import publish_version, wait_until
from wa_version_client.contract._manager_name import RENAME_DELAY_MIN
from wa_version_client.deployment import deployment_for

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

NODE_SUBSCRIBER = f"""
import {{ VersionSubscriber }} from '{NODE_CLIENT / "src" / "index.js"}';
const versions = VersionSubscriber.fromEnv();
versions.on('change', (old, current) => console.log(current.string));
await versions.start();
setInterval(() => {{}}, 60_000); // held until the test kills the process
"""

GO_FOLLOWER = """package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gomodule/redigo/redis"

	"{module}/waversion"
)

func main() {
	follower := &waversion.Follower{
		Dial: func() (redis.Conn, error) {
			return redis.DialURL(os.Getenv("REDIS_URL"), redis.DialConnectTimeout(5*time.Second),
				redis.DialReadTimeout(20*time.Second), redis.DialWriteTimeout(5*time.Second))
		},
		Prefix: os.Getenv("REDIS_PREFIX"),
		Apply:  func(v waversion.Published) { fmt.Println(v.String) },
		Logf: func(format string, args ...interface{}) {
			fmt.Fprintf(os.Stderr, format+"\\n", args...)
		},
	}
	follower.Run(context.Background())
}
"""


@pytest.fixture(scope="module")
def go_follower(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A program running a Follower as a gateway would (the README's dial), built once."""
    tmp_path = tmp_path_factory.mktemp("go-follower")
    module, env = new_module(tmp_path, "gateway")
    edits = [f"-require={module_path()}@v0.0.0", f"-replace={module_path()}={GO_MODULE}"]
    run_go(["mod", "edit", *edits], module, env)
    (module / "main.go").write_text(GO_FOLLOWER.replace("{module}", module_path()))
    run_go(["build", "-o", str(tmp_path / "follower"), "."], module, env)
    return [str(tmp_path / "follower")]


@pytest.fixture
def node_subscriber(tmp_path: Path) -> list[str]:
    """A script holding a VersionSubscriber.fromEnv() until it is killed."""
    script = tmp_path / "subscriber.mjs"
    script.write_text(NODE_SUBSCRIBER)
    return [node(), str(script)]


class Program:
    """A subscriber's process; what it printed (the versions it applied) as it prints it."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def kill(self) -> str:
        """Kill it; what it wrote on stderr."""
        if self.process.poll() is None:
            self.process.kill()
        _, errors = self.process.communicate(timeout=30)
        self._reader.join(timeout=30)
        return errors


@dataclass(frozen=True)
class Server:
    """The test's server: a client of it, its URL, and the service's names on it."""

    redis: Redis
    url: str
    keys: ServiceKeys


@pytest.fixture
def server(redis: Redis, redis_server: RedisServer, keys: ServiceKeys) -> Server:
    return Server(redis, redis_server.url, keys)


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str]) -> Iterator[Program]:
    program = Program(command, env)
    try:
        yield program
    finally:
        program.kill()


@contextlib.asynccontextmanager
async def in_fleet(
    client: str, program: str, request: pytest.FixtureRequest, server: Server
) -> AsyncIterator[tuple[Program, str]]:
    """`program` running under a new manager id, listed in the fleet holding 2.3000.700."""
    command: list[str] = request.getfixturevalue(program)
    manager_id = f"gw-{client}-{uuid.uuid4().hex[:8]}"
    env = {"REDIS_URL": server.url, "REDIS_PREFIX": server.keys.prefix, "WA_MANAGER_ID": manager_id}
    await publish_version(server.redis, server.keys, 700)
    with running(command, env) as subscriber:
        await wait_until(lambda: lists(server, manager_id, (client, "2.3000.700")), within=30)
        yield subscriber, manager_id


async def listed(server: Server, manager_id: str) -> list[tuple[str, str | None]]:
    """What the fleet lists under `manager_id`: (client, version held) per connection."""
    lists = await deployment_for(server.url).client_lists(server.redis)
    fleet = build_fleet(lists.listed, "now")
    return [
        (m.client, None if m.version is None else str(m.version))
        for m in fleet.managers
        if m.id == manager_id
    ]


async def lists(server: Server, manager_id: str, *expected: tuple[str, str | None]) -> bool:
    return await listed(server, manager_id) == list(expected)


@pytest.mark.parametrize(
    ("client", "program"), [("node", "node_subscriber"), ("go", "go_follower")]
)
async def test_a_subscriber_is_in_the_fleet_renamed_on_each_change_until_it_exits(
    client: str, program: str, request: pytest.FixtureRequest, server: Server
) -> None:
    """Named after the version held once subscribed, renamed after each change published
    (the Go follower on RESP2 by leaving the channel and subscribing again: it still
    applies every change), gone once the process is killed."""
    async with in_fleet(client, program, request, server) as (subscriber, manager_id):
        await publish_version(server.redis, server.keys, 701)
        await wait_until(lambda: lists(server, manager_id, (client, "2.3000.701")), within=30)
        await publish_version(server.redis, server.keys, 702)
        await wait_until(lambda: lists(server, manager_id, (client, "2.3000.702")), within=30)
        await wait_until(lambda: subscriber.lines[-1:] == ["2.3000.702"], within=30)
        subscriber.kill()
        await wait_until(lambda: lists(server, manager_id), within=30)
    assert subscriber.lines == ["2.3000.700", "2.3000.701", "2.3000.702"]


@pytest.mark.parametrize(
    ("client", "program"), [("node", "node_subscriber"), ("go", "go_follower")]
)
async def test_the_rename_after_a_change_comes_no_sooner_than_the_minimum_delay(
    client: str, program: str, request: pytest.FixtureRequest, server: Server
) -> None:
    """The fleet shows a change no sooner than RENAME_DELAY_MIN after it was published (a
    lower bound only: load can only delay the rename), and the change is applied."""
    async with in_fleet(client, program, request, server) as (subscriber, manager_id):
        published = time.monotonic()
        await publish_version(server.redis, server.keys, 701)
        await wait_until(lambda: lists(server, manager_id, (client, "2.3000.701")), within=30)
        shown = time.monotonic()
        assert subscriber.lines == ["2.3000.700", "2.3000.701"]
    assert shown - published >= RENAME_DELAY_MIN


@pytest.mark.parametrize("program", ["node_subscriber", "go_follower"])
def test_a_manager_id_that_cannot_name_a_connection_is_an_error_at_start(
    program: str, request: pytest.FixtureRequest, redis_server: RedisServer
) -> None:
    """WA_MANAGER_ID with a space (CLIENT SETNAME refuses it): the program stops at once,
    naming the variable."""
    command: list[str] = request.getfixturevalue(program)
    env = {"REDIS_URL": redis_server.url, "WA_MANAGER_ID": "gateway 7"}
    outcome = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert outcome.returncode != 0
    assert "WA_MANAGER_ID" in outcome.stderr
    assert "manager id" in outcome.stderr


async def subscribed_as(redis: Redis, user: str) -> list[str]:
    """The names of the subscribed connections Redis's ACL user `user` holds."""
    clients = await redis.client_list()
    return [c.get("name", "") for c in clients if c.get("user") == user and c.get("sub") == "1"]


@pytest.mark.parametrize("program", ["node_subscriber", "go_follower"])
async def test_a_server_that_refuses_the_name_is_said_once_and_the_subscriber_follows_unnamed(
    program: str, request: pytest.FixtureRequest, server: Server
) -> None:
    """Connected as a user whose ACL forbids CLIENT: one warning, no name, and every
    change applied."""
    command: list[str] = request.getfixturevalue(program)
    user = f"unnamed-{uuid.uuid4().hex[:8]}"
    await server.redis.acl_setuser(
        user, enabled=True, passwords=["+pw"], keys=["*"], channels=["*"],
        commands=["+@all", "-client"],
    )  # fmt: skip
    url = server.url.replace("redis://", f"redis://{user}:pw@", 1)
    env = {"REDIS_URL": url, "REDIS_PREFIX": server.keys.prefix, "WA_MANAGER_ID": user}
    try:
        await publish_version(server.redis, server.keys, 700)
        with running(command, env) as subscriber:
            await wait_until(lambda: subscriber.lines == ["2.3000.700"], within=30)
            await publish_version(server.redis, server.keys, 701)
            await wait_until(lambda: subscriber.lines[-1:] == ["2.3000.701"], within=30)
            await publish_version(server.redis, server.keys, 702)
            await wait_until(lambda: subscriber.lines[-1:] == ["2.3000.702"], within=30)
            assert await subscribed_as(server.redis, user) == [""]
            errors = subscriber.kill()
    finally:
        await server.redis.acl_deluser(user)
    assert subscriber.lines == ["2.3000.700", "2.3000.701", "2.3000.702"]
    assert errors.count("naming the subscribed connection failed") == 1, errors
