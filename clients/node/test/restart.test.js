// A Redis restart that lost the data: the service starts a new epoch (seq from 1), and a
// subscriber holding a larger seq of the old epoch still follows it. When the new epoch
// starts with the version already held, nothing changed for a gateway: no 'change', and
// waitNewer() keeps waiting, until the next real change.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { adminRedis, api, nextRevision, serveRevision, serviceRefreshesTo, startedSubscriber, waitUntil } from './support.js';

test('after Redis restarts empty, the new epoch is followed even at seq 1, silently for the same version', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  await serviceRefreshesTo(revision + 1);
  const versions = await startedSubscriber();
  const heard = [];
  versions.on('change', (old, current) => heard.push([old.string, current.string]));
  try {
    const before = versions.current;
    const since = versions.currentSince;
    assert.ok(before.seq >= 2);
    const waiting = versions.waitNewer(before, { withinMs: 60_000 });
    const admin = adminRedis();
    // SHUTDOWN NOSAVE drops everything (the server keeps nothing on disk); the test
    // harness starts the server again on the same port when it exits.
    await admin.call('SHUTDOWN', 'NOSAVE').catch(() => {});
    admin.disconnect();
    await waitUntil(() => !versions.connected, { what: 'the subscriber to lose Redis' });
    await serveRevision(revision + 1); // upstream unchanged: the same version, a new epoch
    await waitUntil(
      async () => {
        const { status } = await api('POST', '/admin/whatsapp/version/refresh?force=true');
        return status === 200;
      },
      { withinMs: 30_000, what: 'the service to refresh on the restarted Redis' },
    );
    await waitUntil(() => versions.current.epoch > before.epoch, { withinMs: 15_000, what: 'the new epoch' });
    assert.equal(versions.current.seq, 1);
    assert.equal(versions.current.string, before.string);
    assert.equal(versions.currentSince, since);
    await serviceRefreshesTo(revision + 2); // seq 2 of the new epoch: a real change
    assert.equal((await waiting).string, `2.3000.${revision + 2}`);
    await waitUntil(() => heard.length > 0, { what: 'the change heard' });
    assert.deepEqual(heard, [[`2.3000.${revision + 1}`, `2.3000.${revision + 2}`]]);
  } finally {
    await versions.close();
  }
});
