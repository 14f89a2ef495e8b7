// Pushes the subscriber has no use for: any client may redirect its key-tracking
// invalidations onto the subscriber's connection (CLIENT TRACKING ON REDIRECT <id> BCAST),
// one push per key written. They are counted and ignored, without a log line.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import Redis from 'ioredis';

import { adminRedis, nextRevision, quiet, serviceRefreshesTo, startedSubscriber, waitUntil, world } from './support.js';

test('tracking invalidations redirected to the subscriber are counted and ignored quietly', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const name = `node-test-tracked-${revision}`;
  const logger = quiet();
  const versions = await startedSubscriber({ logger, managerId: name });
  const admin = adminRedis();
  const tracker = new Redis(world.redisUrl, { maxRetriesPerRequest: 0 });
  try {
    const clients = String(await admin.client('LIST', 'TYPE', 'pubsub')).split('\n');
    const line = clients.find((client) => client.includes(` name=wav1:${name}:node:`));
    assert.ok(line, `no subscribed connection named ${name} in ${clients}`);
    const id = line.split(' ')[0].replace('id=', '');
    await tracker.client('TRACKING', 'ON', 'REDIRECT', id, 'BCAST');
    for (let n = 0; n < 200; n += 1) await tracker.set(`${world.prefix}:node-tracked:${n}`, n);
    await waitUntil(() => versions.ignoredPushes >= 200, { what: '200 invalidations counted' });
    await serviceRefreshesTo(revision + 1);
    await waitUntil(() => versions.current.string === `2.3000.${revision + 1}`, { what: 'the next change' });
    assert.deepEqual(logger.lines, []);
    assert.ok(versions.connected);
  } finally {
    tracker.disconnect();
    admin.disconnect();
    await versions.close();
  }
});
