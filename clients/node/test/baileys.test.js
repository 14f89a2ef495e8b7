// fetchLatestWaWebVersion(): Baileys' function of the same name and answer, taken from
// what the service holds; `isLatest: false` with an `error`, and still a version, when
// the service has nothing yet or Redis is down. It never rejects.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { afterEach, test } from 'node:test';
import { promisify } from 'node:util';

import {
  BUNDLED_VERSION,
  VersionSubscriber,
  closeSharedSubscriber,
  fetchLatestWaWebVersion,
  sharedSubscriber,
} from '../src/index.js';
import { closedPort, followingThroughProxy, nextRevision, ownPrefix, proxy, quiet, serviceRefreshesTo, startedSubscriber, waitUntil, world } from './support.js';

const saved = { ...process.env };
afterEach(async () => {
  await closeSharedSubscriber();
  process.env = { ...saved };
});

function assertBaileysShape(answer) {
  assert.ok(Array.isArray(answer.version) && answer.version.length === 3);
  assert.ok(answer.version.every(Number.isInteger));
  assert.equal(typeof answer.isLatest, 'boolean');
}

test("with no arguments it answers the service's version from REDIS_URL and REDIS_PREFIX", async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  process.env.REDIS_URL = world.redisUrl;
  process.env.REDIS_PREFIX = world.prefix;
  const answer = await fetchLatestWaWebVersion();
  assert.deepEqual(answer, { version: [2, 3000, revision], isLatest: true });
  // The next call asks Redis nothing: the shared subscriber holds the version.
  assert.ok(sharedSubscriber().connected);
  answer.version[2] = 0; // an answer is the caller's own copy
  assert.deepEqual(await fetchLatestWaWebVersion({ timeout: 5000 }), { version: [2, 3000, revision], isLatest: true });
});

test('the shared subscriber follows changes: a later call answers the newer version', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  process.env.REDIS_URL = world.redisUrl;
  process.env.REDIS_PREFIX = world.prefix;
  assert.deepEqual((await fetchLatestWaWebVersion()).version, [2, 3000, revision]);
  await serviceRefreshesTo(revision + 1);
  await waitUntil(async () => (await fetchLatestWaWebVersion()).version[2] === revision + 1, {
    what: 'the newer version',
  });
});

test('before the service holds any version: the fallback, isLatest false and why', async () => {
  const versions = await startedSubscriber({ prefix: ownPrefix() });
  try {
    const answer = await fetchLatestWaWebVersion({ subscriber: versions });
    assertBaileysShape(answer);
    assert.deepEqual(answer.version, [...BUNDLED_VERSION]);
    assert.equal(answer.isLatest, false);
    assert.match(answer.error.message, /no version yet/);
    const given = await fetchLatestWaWebVersion({ subscriber: versions, fallback: [2, 3000, 1027934701] });
    assert.deepEqual(given.version, [2, 3000, 1027934701]);
  } finally {
    await versions.close();
  }
});

test('Redis unreachable from the start: the fallback within the timeout, isLatest false', async () => {
  const link = await proxy();
  link.cut();
  const versions = new VersionSubscriber(link.url, { prefix: world.prefix, logger: quiet() });
  try {
    const asked = performance.now();
    const answer = await fetchLatestWaWebVersion({ subscriber: versions, timeoutMs: 300 });
    assert.ok(performance.now() - asked < 3_000);
    assertBaileysShape(answer);
    assert.equal(answer.isLatest, false);
    assert.match(answer.error.message, /cannot be reached/);
  } finally {
    await versions.close();
    await link.close();
  }
});

test('Redis lost after a version was read: that version, isLatest false', async () => {
  const { revision, link, versions, close } = await followingThroughProxy();
  try {
    link.cut();
    await waitUntil(() => !versions.connected, { what: 'the cut' });
    const answer = await fetchLatestWaWebVersion({ subscriber: versions });
    assert.deepEqual(answer.version, [2, 3000, revision]);
    assert.equal(answer.isLatest, false);
    assert.match(answer.error.message, /cannot be reached/);
  } finally {
    await close();
  }
});

test('odd options still answer three numbers, never a rejection', async () => {
  const versions = await startedSubscriber({ prefix: ownPrefix() });
  try {
    for (const fallback of [null, 'x', [2, 3000], [2, 3000, -1]]) {
      const answer = await fetchLatestWaWebVersion({ subscriber: versions, fallback });
      assert.deepEqual(answer.version, [...BUNDLED_VERSION]);
    }
  } finally {
    await versions.close();
  }
  process.env.REDIS_URL = world.redisUrl;
  process.env.REDIS_PREFIX = ownPrefix();
  assertBaileysShape(await fetchLatestWaWebVersion(null));
});

test('a malformed REDIS_URL is an answer with the error, not a rejection', async () => {
  process.env.REDIS_URL = 'http://127.0.0.1:6379';
  const answer = await fetchLatestWaWebVersion();
  assertBaileysShape(answer);
  assert.equal(answer.isLatest, false);
  assert.equal(answer.error.name, 'ConfigError');
});

// A script (a cron job, a CLI) using the drop-in: it sees its answers and then ends by
// itself, whether Redis answers or not.
const SCRIPT = `
import { fetchLatestWaWebVersion, sharedSubscriber } from 'wa-version-client';
const answer = await fetchLatestWaWebVersion();
let reported = null;
if (answer.isLatest) reported = await sharedSubscriber().reportOutdated(answer.version);
console.log(JSON.stringify({ ...answer, error: answer.error?.message, reported }));
`;

async function script(env) {
  const started = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd: new URL('..', import.meta.url),
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
  return { answer: JSON.parse(stdout), seconds: (performance.now() - started) / 1000 };
}

test('a script awaiting the drop-in and a report at its top level ends by itself', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const { answer } = await script({ REDIS_URL: world.redisUrl, REDIS_PREFIX: world.prefix });
  assert.deepEqual(answer.version, [2, 3000, revision]);
  assert.equal(answer.isLatest, true);
  assert.equal(typeof answer.reported, 'boolean'); // Redis answered the report's script
});

test('a script ends by itself, with the fallback, when Redis refuses connections', async () => {
  const closed = await closedPort();
  const { answer, seconds } = await script({ REDIS_URL: `redis://127.0.0.1:${closed}/0` });
  assert.equal(answer.isLatest, false);
  assert.deepEqual(answer.version, [...BUNDLED_VERSION]);
  assert.match(answer.error, /cannot be reached/);
  assert.ok(seconds < 15, `it took ${seconds} s`);
});
