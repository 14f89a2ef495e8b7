// Redis over TLS with a password and a self-signed certificate, as Heroku's Key-Value
// Store serves it. tests/clients/test_node.py runs this file with the service on such a
// server: WA_TEST_TLS_URL (rediss://:password@…) and WA_TEST_TLS_CERT (the certificate).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VersionSubscriber, fetchLatestWaWebVersion } from '../../src/index.js';
import { nextRevision, quiet, serviceRefreshesTo, waitUntil, world } from '../support.js';

const url = process.env.WA_TEST_TLS_URL;
const certificate = process.env.WA_TEST_TLS_CERT;

// `timeoutMs`: how long start() may wait for the first read; a subscriber that cannot
// connect is started without waiting, and the test waits for what it logs instead.
async function following(env, { timeoutMs = 5_000 } = {}) {
  const logger = quiet();
  const versions = VersionSubscriber.fromEnv({ REDIS_PREFIX: world.prefix, ...env }, { logger });
  await versions.start({ timeoutMs });
  return { versions, logger };
}

test('REDIS_SSL_CERT_REQS=none accepts the self-signed certificate, as on Heroku', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const { versions } = await following({ REDIS_URL: url, REDIS_SSL_CERT_REQS: 'none' });
  try {
    assert.equal(versions.current.string, `2.3000.${revision}`);
    await serviceRefreshesTo(revision + 1);
    await waitUntil(() => versions.current.string === `2.3000.${revision + 1}`, { what: 'the change over TLS' });
  } finally {
    await versions.close();
  }
});

test('REDIS_SSL_CA_CERTS verifies the server against the certificate given', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const { versions } = await following({ REDIS_TLS_URL: url, REDIS_SSL_CA_CERTS: certificate });
  try {
    assert.equal(versions.current.string, `2.3000.${revision}`);
  } finally {
    await versions.close();
  }
});

test('an unverifiable certificate is refused, said in the log, and the drop-in answers isLatest false', async () => {
  const { versions, logger } = await following({ REDIS_URL: url }, { timeoutMs: 0 });
  try {
    await waitUntil(() => logger.lines.some((line) => /certificate/i.test(line)), { what: 'the refusal to be logged' });
    assert.equal(versions.current, null);
    const answer = await fetchLatestWaWebVersion({ subscriber: versions });
    assert.equal(answer.isLatest, false);
  } finally {
    await versions.close();
  }
});

test('the password never appears in a log line', async () => {
  const wrong = url.replace(/:[^:@]*@/, ':wrong-password-1f@');
  const { versions, logger } = await following({ REDIS_URL: wrong, REDIS_SSL_CERT_REQS: 'none' }, { timeoutMs: 0 });
  try {
    await waitUntil(() => logger.lines.length > 0, { what: 'the refusal to be logged' });
    assert.ok(logger.lines.every((line) => !line.includes('wrong-password-1f')), logger.lines.join('\n'));
  } finally {
    await versions.close();
  }
});
