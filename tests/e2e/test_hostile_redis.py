"""A Redis that holds garbage, or a publisher that lies, against the real processes.

Nothing found in Redis may end a process or a subscription, and a bad message may not
outlive the next read of the hash: each case is logged, skipped, and the next good
message or refresh works at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import ROOT, Process, lines, strings
from tests.support import AUTH, REFRESH, VERSION, publish_version, subscribed, wait_until
from wa_version_client.deployment import connect

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

MALFORMED = {
    "string is a number": '{"array":[2,3000,5],"string":5,"seq":9,"epoch":1,"changed_at":"",'
    '"source":"","previous":null}',
    "string is null": '{"string":null,"seq":9,"epoch":1}',
    "seq is Infinity": '{"array":[2,3000,5],"string":"2.3000.5","seq":Infinity,"epoch":1,'
    '"changed_at":"","source":"","previous":null}',
    "100,000 nested [": "[" * 100_000,
    "not JSON": "\x00\xff garbage",
    "array disagrees with string": '{"array":[2,3000,6],"string":"2.3000.5","seq":9,"epoch":1,'
    '"changed_at":"","source":"","previous":null}',
}


async def test_malformed_version_messages_leave_the_watcher_listening(
    launch: Launcher, redis: Redis, keys: ServiceKeys
) -> None:
    """Each malformed version-changed message is logged and skipped; the next real change
    reaches the watcher by its message, not by the 30 s re-read."""
    await publish_version(redis, keys, 700)
    watcher = launch("watcher")
    await wait_until(lambda: strings(watcher) == ["2.3000.700"], within=30)
    await wait_until(lambda: subscribed(redis, keys.version_changed))  # else nothing to hear
    for payload in MALFORMED.values():
        await redis.publish(keys.version_changed, payload)
    await publish_version(redis, keys, 701)
    await wait_until(lambda: strings(watcher) == ["2.3000.700", "2.3000.701"], within=10)
    skipped = watcher.output.count("ignoring a version-changed message")
    assert skipped == len(MALFORMED)
    assert watcher.popen.poll() is None


async def test_a_malformed_result_message_leaves_the_web_listening(
    launch: Launcher, start_web: Callable[..., Process], redis: Redis, keys: ServiceKeys
) -> None:
    """Garbage on refresh-results is logged and skipped; the next refresh is answered
    through the subscription. Answers expire (RESULT_TTL) before REFRESH_WAIT, so a dead
    subscription could only give a 504 here."""
    fast = {"RESULT_TTL": "1s", "REFRESH_WAIT": "6s", "REFRESH_DEADLINE": "3s"}
    launch("worker", **fast)
    web = start_web(**fast)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
        for payload in [*MALFORMED.values(), '{"job_ids":[1],"result":{}}']:
            await redis.publish(keys.refresh_results, payload)
        response = await client.post(REFRESH, headers=AUTH)
    assert response.status_code == 200, response.text
    assert "ignoring a refresh result message" in web.output
    assert web.popen.poll() is None


async def test_a_watcher_started_on_a_garbled_hash_waits_for_a_good_one(
    launch: Launcher, redis: Redis, keys: ServiceKeys
) -> None:
    """The hash does not decode when the watcher starts: it logs what is wrong, keeps
    running, and prints the first good version written."""
    await redis.hset(keys.version, mapping={"string": "2.3000.x", "seq": "1_0", "epoch": "-5"})
    watcher = launch("watcher")
    await wait_until(lambda: "malformed field" in watcher.output, within=30)
    await redis.delete(keys.version)
    await publish_version(redis, keys, 710)
    await wait_until(lambda: strings(watcher) == ["2.3000.710"], within=10)
    assert watcher.popen.poll() is None


async def test_a_forged_epoch_from_the_future_is_refused(
    launch: Launcher, redis: Redis, keys: ServiceKeys
) -> None:
    """A message with an epoch far ahead of the clock would make every later change look
    old: it is refused and logged, and real changes are still followed."""
    real = await publish_version(redis, keys, 720)
    watcher = launch("watcher")
    await wait_until(lambda: strings(watcher) == ["2.3000.720"], within=30)
    await wait_until(lambda: subscribed(redis, keys.version_changed))  # else nothing to hear
    forged = json.loads(real.encode()) | {
        "array": [2, 3000, 4294967295],
        "string": "2.3000.4294967295",
        "epoch": 10**18,
    }
    await redis.publish(keys.version_changed, json.dumps(forged))
    await publish_version(redis, keys, 721)
    await wait_until(lambda: strings(watcher) == ["2.3000.720", "2.3000.721"], within=10)
    assert "epoch 1000000000000000000 is ahead of the clock" in watcher.output


async def test_a_forged_plausible_message_lasts_until_the_next_read_of_the_hash(
    launch: Launcher, redis: Redis, keys: ServiceKeys
) -> None:
    """A forged message that looks right is applied, but the next read of the hash (here
    forced by cutting the watcher's subscription) puts the stored version back."""
    real = await publish_version(redis, keys, 730)
    watcher = launch("watcher")
    await wait_until(lambda: strings(watcher) == ["2.3000.730"], within=30)
    await wait_until(lambda: subscribed(redis, keys.version_changed))  # else nothing to hear
    forged = json.loads(real.encode()) | {
        "array": [2, 3000, 4294967295],
        "string": "2.3000.4294967295",
        "seq": real.seq + 100,
    }
    await redis.publish(keys.version_changed, json.dumps(forged))
    await wait_until(lambda: strings(watcher)[-1] == "2.3000.4294967295", within=10)
    await redis.client_kill_filter(_type="pubsub")  # resubscribe, and so read the hash
    await wait_until(lambda: strings(watcher)[-1] == "2.3000.730", within=10)
    assert "contradicts the one held" in watcher.output
    await publish_version(redis, keys, 731)  # and real changes go on being followed
    await wait_until(lambda: strings(watcher)[-1] == "2.3000.731", within=10)


async def test_a_negative_epoch_in_the_hash_makes_the_worker_start_a_new_one(
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
) -> None:
    """Another writer leaves `epoch -5` (and a new rev, so the worker must read it): the
    worker's next change starts a new, positive epoch with seq 1, which the watcher
    follows (it used to publish every change with -5, which subscribers ignored)."""
    launch("worker")
    web = start_web()
    watcher = launch("watcher")
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
        await wait_until(lambda: strings(watcher) == ["2.3000.1026131876"], within=10)
        rev = int(await redis.hget(keys.version, "rev") or 0)
        await redis.hset(keys.version, mapping={"epoch": "-5", "rev": str(rev + 1)})
        upstream.configure(revision=1026131877)
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
    await wait_until(lambda: len(strings(watcher)) == 2, within=10)
    newest = lines(watcher)[-1]
    assert (newest["string"], newest["seq"]) == ("2.3000.1026131877", 1)
    assert isinstance(newest["epoch"], int)
    assert newest["epoch"] > 0


async def test_a_rev_python_and_lua_read_differently_costs_no_spin(
    launch: Launcher, start_web: Callable[..., Process], redis: Redis, keys: ServiceKeys
) -> None:
    """`HSET … rev 1_000` (int() reads 1000, Lua's tonumber() nil) used to send worker and
    web into a tight loop: now a refresh and a pin are answered at once and the stored
    rev is a plain number again."""
    launch("worker")
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
        await redis.hset(keys.version, "rev", "1_000")
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
        await redis.hset(keys.version, "rev", "1_000")
        pinned = await client.put(VERSION, json={"version": "2.3000.1026131000"}, headers=AUTH)
    assert pinned.status_code == 200
    rev = await redis.hget(keys.version, "rev")
    assert rev is not None
    assert rev.isdigit()


@pytest.fixture
def replica_source() -> Iterator[RedisServer]:
    """An empty server to make the test's own server a replica of."""
    with RedisServer() as server:
        yield server


async def test_a_server_turned_replica_is_outlived(
    launch: Launcher,
    start_web: Callable[..., Process],
    replica_source: RedisServer,
    keys: ServiceKeys,
) -> None:
    """The server becomes a read-only replica under the processes (a failover gone
    wrong): refreshes answer 503, ReadOnlyError is logged, nothing exits; once it is a
    primary again, refreshes are answered."""
    with RedisServer() as own:
        env = {"REDIS_URL": own.url, "REFRESH_DEADLINE": "3s", "REFRESH_WAIT": "5s"}
        worker = launch("worker", **env)
        web = start_web(**env)
        admin = connect(own.url)
        try:
            async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
                assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
                await admin.replicaof("127.0.0.1", replica_source.port)
                await wait_until(lambda: "ReadOnlyError" in worker.output, within=20)
                refused = await client.post(REFRESH, headers=AUTH)
                assert refused.status_code == 503
                await admin.replicaof("NO", "ONE")

                async def answered() -> bool:
                    response = await client.post(REFRESH, headers=AUTH)
                    return response.status_code == 200

                await wait_until(answered, within=30)
        finally:
            await admin.aclose()
    assert worker.popen.poll() is None
    assert web.popen.poll() is None


async def test_a_stream_of_the_wrong_type_at_start_is_outlived(
    launch: Launcher, start_web: Callable[..., Process], redis: Redis, keys: ServiceKeys
) -> None:
    """The job stream's name holds a string before the worker starts: WRONGTYPE is
    logged, the worker keeps running, and works once the key is gone."""
    await redis.set(keys.refresh_jobs, "not a stream")
    worker = launch("worker")
    await wait_until(lambda: "WRONGTYPE" in worker.output, within=20)
    await redis.delete(keys.refresh_jobs)
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
    assert worker.popen.poll() is None


def test_the_refresh_command_with_a_wrong_password_says_so_in_one_line(
    base_env: dict[str, str],
) -> None:
    """`python -m worker refresh` against a server that refuses its password: one line
    on stderr naming Redis's refusal, exit status 4, no traceback, no password."""
    with RedisServer(None, "--requirepass", "the-right-one") as server:
        tried = "a-wrong-password-1234"
        url = f"redis://:{tried}@127.0.0.1:{server.port}/0"
        done = subprocess.run(
            [sys.executable, "-m", "worker", "refresh"],
            cwd=ROOT,
            env={**os.environ, **base_env, "REDIS_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 4, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "AuthenticationError" in done.stderr
    assert tried not in done.stderr + done.stdout
