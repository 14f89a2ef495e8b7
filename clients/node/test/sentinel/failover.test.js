// On a Sentinel deployment (a primary, two replicas, three sentinels), the subscriber
// connects through the sentinels and, after a failover, follows the new primary.
// tests/clients/test_node.py runs this file against such a deployment, with the service
// on it, and passes the sentinels in WA_TEST_SENTINELS.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import Redis from 'ioredis';

import { VersionSubscriber } from '../../src/index.js';
import { nextRevision, quiet, serviceRefreshesTo, waitUntil, world } from '../support.js';

const sentinels = (process.env.WA_TEST_SENTINELS ?? '').split(',').filter(Boolean).map((address) => {
  const [host, port] = address.split(':');
  return { host, port: Number(port) };
});
const name = process.env.WA_TEST_SENTINEL_NAME;

async function primaryPort(sentinel) {
  const [, port] = await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name);
  return Number(port);
}

test('through the sentinels, and on the new primary after a failover', async () => {
  assert.ok(sentinels.length >= 1 && name, 'WA_TEST_SENTINELS and WA_TEST_SENTINEL_NAME are set');
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const versions = new VersionSubscriber(undefined, {
    prefix: world.prefix,
    logger: quiet(),
    redis: { sentinels, name },
  });
  const sentinel = new Redis({ ...sentinels[0], maxRetriesPerRequest: 1 });
  try {
    await versions.start();
    assert.equal(versions.current.string, `2.3000.${revision}`);
    const before = await primaryPort(sentinel);
    await sentinel.call('SENTINEL', 'FAILOVER', name);
    await waitUntil(async () => (await primaryPort(sentinel)) !== before, { withinMs: 30_000, what: 'the promotion' });
    // The service writes to the new primary once it has followed the failover too.
    await waitUntil(
      async () => {
        try {
          await serviceRefreshesTo(revision + 1);
          return true;
        } catch {
          return false;
        }
      },
      { withinMs: 30_000, what: 'a refresh on the new primary' },
    );
    await waitUntil(() => versions.current.string === `2.3000.${revision + 1}`, {
      withinMs: 30_000,
      what: 'the subscriber to follow onto the new primary',
    });
  } finally {
    await versions.close();
    sentinel.disconnect();
  }
});
