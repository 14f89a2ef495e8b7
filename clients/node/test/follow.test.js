// Following the service: the first read, each change, and convergence when messages are
// lost (a cut connection, a killed one, a silent one) or repeated (duplicates, stragglers).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { VersionSubscriber } from '../src/index.js';

import {
  adminRedis,
  api,
  followingThroughProxy,
  nextRevision,
  ownPrefix,
  proxy,
  quiet,
  serviceRefreshesTo,
  startedSubscriber,
  waitUntil,
  world,
} from './support.js';

let admin;
before(() => {
  admin = adminRedis();
});
after(() => admin.quit());

test('start() resolves holding the version the service stored', async () => {
  const revision = await nextRevision();
  const stored = await serviceRefreshesTo(revision);
  const versions = await startedSubscriber();
  try {
    assert.equal(versions.current.string, `2.3000.${revision}`);
    assert.deepEqual(versions.current.array, [2, 3000, revision]);
    assert.equal(versions.current.seq, stored.seq);
    assert.ok(versions.current.epoch > 0);
    assert.ok(versions.currentSince > 0);
  } finally {
    await versions.close();
  }
});

test('each change the service makes is applied and heard once, in order', async () => {
  const first = await nextRevision();
  await serviceRefreshesTo(first);
  const versions = await startedSubscriber();
  const heard = [];
  versions.on('change', (old, current) => heard.push([old?.string, current.string]));
  try {
    const held = versions.current;
    await serviceRefreshesTo(first + 1);
    const newer = await versions.waitNewer(held, { withinMs: 10_000 });
    assert.equal(newer.string, `2.3000.${first + 1}`);
    await serviceRefreshesTo(first + 2);
    await waitUntil(() => heard.length === 2, { what: 'two changes heard' });
    assert.deepEqual(heard, [
      [`2.3000.${first}`, `2.3000.${first + 1}`],
      [`2.3000.${first + 1}`, `2.3000.${first + 2}`],
    ]);
    assert.equal(versions.current.seq, held.seq + 2);
  } finally {
    await versions.close();
  }
});

test('a change published while the connection was cut is read when it comes back', async () => {
  const { revision, link, versions, close } = await followingThroughProxy();
  try {
    link.cut();
    await waitUntil(() => !versions.connected, { what: 'the subscriber to notice the cut' });
    await serviceRefreshesTo(revision + 1); // published to nobody: the subscriber is away
    assert.equal(versions.current.string, `2.3000.${revision}`);
    link.restore();
    await waitUntil(() => versions.current.string === `2.3000.${revision + 1}`, {
      what: 'the re-read after resubscribing',
    });
  } finally {
    await close();
  }
});

test('one connection carries the subscription, the reads and a report', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const name = `node-test-one-${revision}`;
  const before = await connectionCount();
  const versions = await startedSubscriber({ managerId: name });
  try {
    await versions.resync();
    // Counted before the report: the worker the report wakes may open connections of its own.
    assert.equal((await connectionCount()) - before, 1);
    await admin.del(`${world.prefix}:outdated-report`);
    assert.equal(await versions.reportOutdated(), true);
    // Named for the fleet after the version it holds, a moment after it was applied
    // (naming.js: renames are spread over renameDelayMinMs to renameDelayMaxMs).
    const fleetName = `wav1:${name}:node:2.3000.${revision}`;
    let named = [];
    await waitUntil(
      async () => {
        named = (await admin.client('LIST')).split('\n').filter((line) => line.includes(` name=${fleetName} `));
        return named.length > 0;
      },
      { what: `a connection named ${fleetName}` },
    );
    assert.equal(named.length, 1);
    assert.match(named[0], / sub=1 /);
  } finally {
    await versions.close();
  }
});

test('a connection killed by CLIENT KILL is made again and the subscription with it', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const name = `node-test-kill-${revision}`;
  const versions = await startedSubscriber({ managerId: name });
  try {
    const id = await clientId(name);
    assert.equal(await admin.client('KILL', 'ID', id), 1);
    await waitUntil(async () => (await clientId(name)) !== id && versions.connected, {
      what: 'a new connection',
    });
    await serviceRefreshesTo(revision + 1);
    await waitUntil(() => versions.current.string === `2.3000.${revision + 1}`, {
      what: 'the change after the reconnection',
    });
  } finally {
    await versions.close();
  }
});

test('a silent connection is dropped after three ping intervals and made again', async () => {
  const logger = quiet();
  const { revision, link, versions, close } = await followingThroughProxy({ pingIntervalMs: 100, logger });
  try {
    link.freeze(); // bytes vanish both ways; no FIN, no RST
    await waitUntil(() => logger.lines.some((line) => line.includes('silent')), {
      what: 'the silence to be noticed',
    });
    await waitUntil(() => versions.connected, { what: 'a new connection' });
    await serviceRefreshesTo(revision + 1); // the frozen connection would never hear it
    await waitUntil(() => versions.current.string === `2.3000.${revision + 1}`, {
      what: 'the change on the new connection',
    });
  } finally {
    await close();
  }
});

test('a reconnection whose handshake is never answered is given up and tried again', async () => {
  const logger = quiet();
  const { revision, link, versions, close } = await followingThroughProxy({ pingIntervalMs: 100, logger });
  try {
    link.hang(); // this connection and every new one: accepted, never answered
    await waitUntil(() => logger.lines.some((line) => line.includes('during the handshake')), {
      what: 'the unanswered handshake to be given up',
    });
    await serviceRefreshesTo(revision + 1);
    link.restore();
    await waitUntil(() => versions.current.string === `2.3000.${revision + 1}`, {
      what: 'the change, once a handshake is answered again',
    });
  } finally {
    await close();
  }
});

test('a sentinel that accepts and never answers is given up, and close() still resolves', async () => {
  const link = await proxy();
  link.hang();
  const address = new URL(link.url);
  const logger = quiet();
  const versions = new VersionSubscriber(undefined, {
    prefix: world.prefix,
    logger,
    pingIntervalMs: 100,
    redis: { sentinels: [{ host: address.hostname, port: Number(address.port) }], name: 'wa-version' },
  });
  try {
    await versions.start({ timeoutMs: 200 });
    await waitUntil(() => logger.lines.some((line) => line.includes('reconnecting')), {
      what: 'the unanswered sentinel to be given up',
    });
  } finally {
    const closing = performance.now();
    await versions.close();
    assert.ok(performance.now() - closing < 5_000);
    await link.close();
  }
});

test('after a reconnection, synced waits for the hash to be read again', async () => {
  const { revision, link, versions, close } = await followingThroughProxy();
  try {
    assert.equal(versions.synced, true);
    link.cut();
    await waitUntil(() => !versions.synced, { what: 'the cut' });
    await serviceRefreshesTo(revision + 1); // missed: published while away
    link.slow(100); // each round trip of the reconnection takes 100 ms: a wide window
    link.restore();
    const early = []; // synced, but still holding the version from before the cut
    await waitUntil(
      () => {
        if (versions.synced && versions.current.string !== `2.3000.${revision + 1}`) early.push(versions.current.string);
        return versions.synced;
      },
      { what: 'synced again' },
    );
    assert.deepEqual(early, []);
    assert.equal(versions.current.string, `2.3000.${revision + 1}`);
  } finally {
    await close();
  }
});

test('duplicates, stragglers, forgeries and garbage change nothing, and the next change applies', async () => {
  const revision = await nextRevision();
  const channel = `${world.prefix}:version-changed`;
  const tap = new Redis(world.redisUrl);
  const logger = quiet();
  let versions;
  try {
    const published = [];
    tap.on('message', (_, message) => published.push(message));
    await tap.subscribe(channel);
    await serviceRefreshesTo(revision);
    await serviceRefreshesTo(revision + 1);
    await waitUntil(() => published.length === 2, { what: "the service's two messages" });
    versions = await startedSubscriber({ logger });
    const heard = [];
    versions.on('change', (old, current) => heard.push(current.string));
    const held = versions.current;
    const [older, latest] = published;
    const forged = JSON.parse(latest);
    forged.epoch = Date.now() + 24 * 3600 * 1000; // from the future: would mute every real change
    forged.seq = 1;
    const lies = [
      latest, // a duplicate
      older, // a straggler
      JSON.stringify(forged),
      'not json',
      JSON.stringify({ ...JSON.parse(latest), array: [2, 3000, 1], seq: held.seq + 1 }), // disagrees
      '['.repeat(100_000),
    ];
    for (const lie of lies) await admin.publish(channel, lie);
    await serviceRefreshesTo(revision + 2); // its message comes after every lie
    await waitUntil(() => heard.length === 1, { what: 'the real change' });
    assert.deepEqual(heard, [`2.3000.${revision + 2}`]);
    assert.equal(versions.current.seq, held.seq + 1);
    assert.equal(logger.lines.filter((line) => line.startsWith('ignoring a version-changed message')).length, 4);
  } finally {
    await versions?.close();
    await tap.quit();
  }
});

test('a forged message taking the next (epoch, seq) yields to the hash at the next read', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const versions = await startedSubscriber();
  try {
    const held = versions.current;
    const forged = {
      array: [2, 3000, 666], string: '2.3000.666', previous: null, seq: held.seq + 1,
      epoch: held.epoch, changed_at: held.changedAt, source: 'forged', kind: 'fetch',
    };
    await admin.publish(`${world.prefix}:version-changed`, JSON.stringify(forged));
    await waitUntil(() => versions.current.string === '2.3000.666', { what: 'the forgery applied' });
    await serviceRefreshesTo(revision + 1); // the real change: the same (epoch, seq)
    await versions.resync(); // what the 30 s backstop, or the next reconnection, does
    assert.equal(versions.current.string, `2.3000.${revision + 1}`);
    assert.equal(versions.current.seq, forged.seq);
  } finally {
    await versions.close();
  }
});

test('a garbled hash is logged once, however often it is read, and followed once repaired', async () => {
  const prefix = ownPrefix();
  await admin.hset(`${prefix}:version`, { string: '2.3000.x', array: '[2,3000]', seq: '1', epoch: '1' });
  const logger = quiet();
  const versions = await startedSubscriber({ prefix, logger });
  try {
    for (let i = 0; i < 3; i += 1) await versions.resync();
    assert.equal(versions.current, null);
    assert.equal(logger.lines.filter((line) => line.startsWith('ignoring the stored version')).length, 1);
    await admin.hset(`${prefix}:version`, { string: '2.3000.7', array: '[2,3000,7]', seq: '2', epoch: String(Date.now()) });
    await versions.resync();
    assert.equal(versions.current.string, '2.3000.7');
  } finally {
    await versions.close();
    await admin.del(`${prefix}:version`);
  }
});

test("a listener that throws is logged and the others still run", async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const logger = quiet();
  const versions = await startedSubscriber({ logger });
  const heard = [];
  versions.on('change', () => {
    throw new Error('a broken listener');
  });
  versions.on('change', async (old, current) => heard.push(current.string));
  try {
    await serviceRefreshesTo(revision + 1);
    await waitUntil(() => heard.length === 1, { what: 'the second listener' });
    assert.ok(logger.lines.some((line) => line.includes('a broken listener')));
  } finally {
    await versions.close();
  }
});

test('close() ends the connection, and waitNewer() calls still waiting resolve', async () => {
  const versions = await startedSubscriber();
  const waiting = versions.waitNewer(versions.current, { withinMs: 60_000 });
  await versions.close();
  assert.equal(await waiting, versions.current);
  assert.equal(versions.connected, false);
  await versions.close(); // twice is harmless
});

// Every client connection the server has now.
async function connectionCount() {
  return (await admin.client('LIST')).split('\n').filter((line) => line.startsWith('id=')).length;
}

// The id of the connection of the subscriber whose manager id is `name` (naming.js).
async function clientId(name) {
  const line = (await admin.client('LIST')).split('\n').find((entry) => entry.includes(` name=wav1:${name}:node:`));
  return line === undefined ? null : line.match(/^id=(\d+)/)[1];
}

// The service answers the API while the tests run; a sanity check that it is the one we think.
test('the service under test answers with its envelope', async () => {
  const { status, envelope } = await api('GET', '/admin/whatsapp/version');
  assert.equal(status, 200);
  assert.equal(envelope.status, true);
});
