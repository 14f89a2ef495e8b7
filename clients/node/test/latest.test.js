// isLatest as the service's health makes it: true only while synced and the service's
// last refresh succeeded within the max age (src/latest.js, the contract's rule); false
// with an error saying why otherwise. Against the real service and the stub upstream.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fetchLatestWaWebVersion } from '../src/index.js';
import { api, followingThroughProxy, nextRevision, serviceRefreshesTo, startedSubscriber, waitUntil, world } from './support.js';

// The hash is read at each of these: the tests need not wait the 30 s backstop.
const QUICK_RESYNC = { resyncIntervalMs: 100 };

async function stub(behaviour) {
  const response = await fetch(`${world.stubUrl}/_stub`, { method: 'PUT', body: JSON.stringify(behaviour) });
  if (!response.ok) throw new Error(`the stub refused: ${response.status}`);
}

test('healthy: the version held, isLatest true and no error', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const versions = await startedSubscriber(QUICK_RESYNC);
  try {
    assert.deepEqual(await fetchLatestWaWebVersion({ subscriber: versions }), { version: [2, 3000, revision], isLatest: true });
  } finally {
    await versions.close();
  }
});

test("the service's last refresh failed (upstream 503): isLatest false, the error names the failure", async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const versions = await startedSubscriber(QUICK_RESYNC);
  try {
    await stub({ status: 503 });
    const { status } = await api('POST', '/admin/whatsapp/version/refresh?force=true');
    assert.equal(status, 500);
    let answer;
    await waitUntil(async () => !(answer = await fetchLatestWaWebVersion({ subscriber: versions })).isLatest, {
      what: 'isLatest false',
    });
    assert.deepEqual(answer.version, [2, 3000, revision]); // still a version to connect with
    assert.match(answer.error.message, /last refresh, at .*Z, failed: .*upstream answered HTTP 503/);
    assert.equal(versions.latest().reason, 'failed');
  } finally {
    await stub({ status: 200 });
    await versions.close();
  }
  // A successful refresh makes it the latest again.
  await serviceRefreshesTo(revision + 1);
  const again = await startedSubscriber();
  try {
    assert.deepEqual(await fetchLatestWaWebVersion({ subscriber: again }), { version: [2, 3000, revision + 1], isLatest: true });
  } finally {
    await again.close();
  }
});

test('the last success older than the max age: isLatest false, the error names the max age', async () => {
  await serviceRefreshesTo(await nextRevision());
  const versions = await startedSubscriber({ maxAgeMs: 1000 });
  try {
    let answer;
    await waitUntil(async () => !(answer = await fetchLatestWaWebVersion({ subscriber: versions })).isLatest, {
      what: 'a second past the last success',
    });
    assert.match(answer.error.message, /last successful refresh, at .*Z, is older than the maximum age \(1 s\)/);
    // The option of the call wins over the subscriber's.
    assert.equal((await fetchLatestWaWebVersion({ subscriber: versions, maxAgeMs: 3_600_000 })).isLatest, true);
  } finally {
    await versions.close();
  }
});

test('not synced (Redis lost): isLatest false, whatever the service last said', async () => {
  const { link, versions, close } = await followingThroughProxy(QUICK_RESYNC);
  try {
    assert.equal((await fetchLatestWaWebVersion({ subscriber: versions })).isLatest, true);
    link.cut();
    await waitUntil(() => !versions.synced, { what: 'the cut' });
    const answer = await fetchLatestWaWebVersion({ subscriber: versions });
    assert.equal(answer.isLatest, false);
    assert.match(answer.error.message, /not synced with the service \(Redis cannot be reached/);
  } finally {
    await close();
  }
});
