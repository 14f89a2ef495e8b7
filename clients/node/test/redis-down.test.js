// The Baileys drop-in while Redis cannot be reached: only the first call waits, and not
// past the first failure (or its own timeout); every later call answers at once while
// the subscriber goes on trying. And `signal`: an aborted call answers at once, as
// Baileys' does (its fetch rejects with the signal's reason, which it answers as
// `error`, `isLatest: false`).
//
// "At once" is shown without timing: the calls are given a timeout they would never
// reach (NEVER), so a call that waited would never answer and the test would fail on
// node's own per-test timeout.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BUNDLED_VERSION, VersionSubscriber, fetchLatestBaileysVersion, fetchLatestWaWebVersion } from '../src/index.js';
import { closedPort, followingThroughProxy, proxy, quiet, waitUntil, world } from './support.js';

const NEVER = 2 ** 31 - 1; // ms: the longest timer Node arms, about 24.8 days

// A subscriber whose connections are accepted and then never answered.
async function hangingSubscriber() {
  const link = await proxy();
  link.hang();
  const versions = new VersionSubscriber(link.url, { prefix: world.prefix, logger: quiet() });
  const close = async () => {
    await versions.close();
    await link.close();
  };
  return { versions, close };
}

function assertFallback(answer, version = BUNDLED_VERSION) {
  assert.deepEqual(answer.version, [...version]);
  assert.equal(answer.isLatest, false);
  assert.ok(answer.error, 'an error says why');
}

test('Redis refusing connections: the first call answers at its first failure, not at its timeout', async () => {
  const versions = new VersionSubscriber(`redis://127.0.0.1:${await closedPort()}/0`, { logger: quiet() });
  try {
    assertFallback(await fetchLatestWaWebVersion({ subscriber: versions, timeoutMs: NEVER }));
    assert.ok(versions.unreachable);
    for (let call = 0; call < 3; call += 1) {
      assertFallback(await fetchLatestBaileysVersion({ subscriber: versions, timeoutMs: NEVER }));
    }
  } finally {
    await versions.close();
  }
});

test('Redis hanging: after one call waited in vain, the next ones answer at once', async () => {
  const { versions, close } = await hangingSubscriber();
  try {
    assertFallback(await fetchLatestWaWebVersion({ subscriber: versions, timeoutMs: 200 }));
    assertFallback(await fetchLatestWaWebVersion({ subscriber: versions, timeoutMs: NEVER }));
    assertFallback(await fetchLatestBaileysVersion({ subscriber: versions, timeoutMs: NEVER }));
    assert.equal(versions.unreachable, false); // nothing failed: the handshake just hangs
  } finally {
    await close();
  }
});

test('the subscriber goes on trying: once Redis answers, calls answer the latest again', async () => {
  const { revision, link, versions, close } = await followingThroughProxy();
  try {
    link.cut();
    await waitUntil(() => versions.unreachable, { what: 'the failure' });
    assertFallback(await fetchLatestWaWebVersion({ subscriber: versions, timeoutMs: NEVER }), [2, 3000, revision]);
    link.restore();
    await waitUntil(() => versions.synced, { what: 'the resubscription' });
    assert.deepEqual(await fetchLatestWaWebVersion({ subscriber: versions }), {
      version: [2, 3000, revision],
      isLatest: true,
    });
  } finally {
    await close();
  }
});

test('an aborted signal: the answer at once, isLatest false, the signal reason as error', async () => {
  const { revision, versions, close } = await followingThroughProxy();
  try {
    const controller = new AbortController();
    controller.abort();
    for (const fetchVersion of [fetchLatestWaWebVersion, fetchLatestBaileysVersion]) {
      const answer = await fetchVersion({ subscriber: versions, signal: controller.signal });
      assertFallback(answer, [2, 3000, revision]); // the version held, as ever
      assert.equal(answer.error, controller.signal.reason);
      assert.equal(answer.error.name, 'AbortError');
    }
  } finally {
    await close();
  }
});

test('a signal aborted while the first call waits ends the wait', async () => {
  const { versions, close } = await hangingSubscriber();
  try {
    const controller = new AbortController();
    const answering = fetchLatestWaWebVersion({ subscriber: versions, timeoutMs: NEVER, signal: controller.signal });
    controller.abort();
    const answer = await answering;
    assertFallback(answer);
    assert.equal(answer.error.name, 'AbortError');
  } finally {
    await close();
  }
});

test('AbortSignal.timeout() ends the wait with a TimeoutError, as Baileys answers it', async () => {
  const { versions, close } = await hangingSubscriber();
  try {
    const answer = await fetchLatestWaWebVersion({ subscriber: versions, timeoutMs: NEVER, signal: AbortSignal.timeout(100) });
    assertFallback(answer);
    assert.equal(answer.error.name, 'TimeoutError');
  } finally {
    await close();
  }
});

test("an axios-style signal ({ aborted: true }, no reason) is honoured: an AbortError", async () => {
  const { revision, versions, close } = await followingThroughProxy();
  try {
    const answer = await fetchLatestWaWebVersion({ subscriber: versions, signal: { aborted: true } });
    assertFallback(answer, [2, 3000, revision]);
    assert.equal(answer.error.name, 'AbortError');
  } finally {
    await close();
  }
});
