// Settings read from the environment the service reads, and the pure helpers: no Redis.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { reconnectDelay } from '../src/backoff.js';
import { ConfigError, VersionSubscriber, compareVersions, optionsFromEnv, parseVersion, versionOf } from '../src/index.js';
import { connectionName, defaultManagerId } from '../src/naming.js';
import { parseDuration } from '../src/settings.js';

test('with nothing set: a local Redis, prefix whatsapp, and the service defaults', () => {
  assert.deepEqual(optionsFromEnv({}), {
    url: 'redis://localhost:6379/0',
    redisOptions: {},
    prefix: 'whatsapp',
    reportIntervalMs: 600_000,
    refreshWaitMs: 25_000,
    jobStreamMaxlen: 10_000,
  });
});

test('REDIS_URL first, then REDIS_TLS_URL; blank means unset', () => {
  assert.equal(optionsFromEnv({ REDIS_URL: ' ', REDIS_TLS_URL: 'rediss://h:1' }).url, 'rediss://h:1');
  assert.equal(optionsFromEnv({ REDIS_URL: 'redis://a:1', REDIS_TLS_URL: 'rediss://h:1' }).url, 'redis://a:1');
});

test('durations read as the service reads them', () => {
  assert.equal(parseDuration('X', '90'), 90_000);
  assert.equal(parseDuration('X', '250ms'), 250);
  assert.equal(parseDuration('X', '10m'), 600_000);
  assert.equal(parseDuration('X', '1.5h'), 5_400_000);
  assert.equal(optionsFromEnv({ REFRESH_MIN_INTERVAL: '30s', REFRESH_WAIT: '5' }).reportIntervalMs, 30_000);
  for (const bad of ['ten', '-1s', '1d', '1 s s']) {
    assert.throws(() => optionsFromEnv({ REFRESH_MIN_INTERVAL: bad }), (error) => error instanceof ConfigError && /REFRESH_MIN_INTERVAL/.test(error.message));
  }
  assert.throws(() => optionsFromEnv({ JOB_STREAM_MAXLEN: '0' }), /JOB_STREAM_MAXLEN/);
});

test('TLS: REDIS_SSL_CERT_REQS=none accepts any certificate; REDIS_SSL_CA_CERTS names the CA', () => {
  assert.deepEqual(optionsFromEnv({ REDIS_URL: 'rediss://h:1', REDIS_SSL_CERT_REQS: 'none' }).redisOptions, {
    tls: { rejectUnauthorized: false },
  });
  const ca = join(tmpdir(), `wa-ca-${process.pid}.pem`);
  writeFileSync(ca, 'not checked here');
  assert.equal(String(optionsFromEnv({ REDIS_URL: 'rediss://h:1', REDIS_SSL_CA_CERTS: ca }).redisOptions.tls.ca), 'not checked here');
  assert.deepEqual(optionsFromEnv({ REDIS_URL: 'redis://h:1', REDIS_SSL_CERT_REQS: 'none' }).redisOptions, {});
  assert.throws(() => optionsFromEnv({ REDIS_URL: 'rediss://h:1', REDIS_SSL_CERT_REQS: 'maybe' }), /REDIS_SSL_CERT_REQS/);
  assert.throws(() => optionsFromEnv({ REDIS_URL: 'rediss://h:1', REDIS_SSL_CA_CERTS: '/nonexistent/ca.pem' }), /REDIS_SSL_CA_CERTS/);
});

test('versions: the forms a manager holds, and their order', () => {
  assert.deepEqual(versionOf('2.3000.1026131876'), [2, 3000, 1026131876]);
  assert.deepEqual(versionOf([2, 3000, 7]), [2, 3000, 7]);
  assert.deepEqual(versionOf({ array: [2, 3000, 8] }), [2, 3000, 8]);
  for (const bad of ['2.3000', '2.3000.4294967296', '2.3000.07', [2, 3000, -1], [2, 3000, 1.5], null, {}]) {
    assert.throws(() => versionOf(bad), /not a version/);
  }
  assert.throws(() => parseVersion(`2.3000.${'9'.repeat(5000)}`), /not a version/);
  assert.ok(compareVersions([2, 3000, 9], [2, 3000, 10]) < 0);
  assert.ok(compareVersions([2, 3001, 0], [2, 3000, 10]) > 0);
  assert.equal(compareVersions([2, 3000, 10], [2, 3000, 10]), 0);
});

test('reconnection waits: 0.1-0.2 s first, doubling, never above 1 s', () => {
  assert.equal(reconnectDelay(1, () => 0), 100);
  assert.equal(reconnectDelay(1, () => 1), 200);
  assert.equal(reconnectDelay(2, () => 1), 400);
  assert.equal(reconnectDelay(3, () => 0), 400);
  assert.equal(reconnectDelay(4, () => 1), 1000);
  assert.equal(reconnectDelay(1000, () => 0), 500);
});

test('the manager id: WA_MANAGER_ID or managerId, checked at construction; host-pid by default', () => {
  assert.equal(optionsFromEnv({ WA_MANAGER_ID: ' gw-eu-7 ' }).managerId, 'gw-eu-7');
  assert.equal(optionsFromEnv({ WA_MANAGER_ID: '' }).managerId, undefined);
  for (const bad of ['gw 7', 'gw:7', 'x'.repeat(65)]) {
    assert.throws(() => optionsFromEnv({ WA_MANAGER_ID: bad }), (error) => error instanceof ConfigError && /WA_MANAGER_ID/.test(error.message));
    assert.throws(() => new VersionSubscriber('redis://127.0.0.1:1', { managerId: bad }), (error) => error instanceof ConfigError && /manager id/.test(error.message));
  }
  assert.equal(new VersionSubscriber('redis://127.0.0.1:1', { managerId: 'gw-8' }).managerId, 'gw-8');
  assert.equal(VersionSubscriber.fromEnv({ WA_MANAGER_ID: 'gw-9' }).managerId, 'gw-9');
  assert.equal(VersionSubscriber.fromEnv({ WA_MANAGER_ID: 'gw-9' }, { managerId: 'gw-10' }).managerId, 'gw-10');
  assert.match(new VersionSubscriber('redis://127.0.0.1:1').managerId, /^[A-Za-z0-9._-]{1,64}$/);
  assert.equal(defaultManagerId('my host.é', 42), 'my_host._-42');
  assert.equal(defaultManagerId('', 42), 'host-42');
  assert.equal(defaultManagerId('h'.repeat(100), 42), `${'h'.repeat(61)}-42`);
  assert.equal(connectionName('gw-7', null), 'wav1:gw-7:node:-');
  assert.equal(connectionName('gw-7', { string: '2.3000.5' }), 'wav1:gw-7:node:2.3000.5');
});
