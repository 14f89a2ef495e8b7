// Redis over TLS with a password and a self-signed certificate, as Heroku's Key-Value
// Store serves it. tests/clients/test_node.py runs this file with the service on such a
// server: WA_TEST_TLS_URL (rediss://:password@…) and WA_TEST_TLS_CERT (the certificate).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VersionSubscriber, fetchLatestWaWebVersion } from '../../src/index.js';
import { nextRevision, quiet, serviceRefreshesTo, waitUntil, world } from '../support.js';

const url = process.env.WA_TEST_TLS_URL;
const certificate = process.env.WA_TEST_TLS_CERT;

async function following(env) {
  const logger = quiet();
  const versions = VersionSubscriber.fromEnv({ REDIS_PREFIX: world.prefix, ...env }, { logger });
  await versions.start({ timeoutMs: 5_000 });
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
  const { versions, logger } = await following({ REDIS_URL: url });
  try {
    assert.equal(versions.current, null);
    assert.ok(logger.lines.some((line) => /certificate/i.test(line)), logger.lines.join('\n'));
    const answer = await fetchLatestWaWebVersion({ subscriber: versions });
    assert.equal(answer.isLatest, false);
  } finally {
    await versions.close();
  }
});

test('the password never appears in a log line', async () => {
  const { versions, logger } = await following({ REDIS_URL: url.replace(/:[^:@]*@/, ':wrong-password-1f@'), REDIS_SSL_CERT_REQS: 'none' });
  try {
    await waitUntil(() => logger.lines.length > 0, { what: 'the refusal to be logged' });
    assert.ok(logger.lines.every((line) => !line.includes('wrong-password-1f')), logger.lines.join('\n'));
  } finally {
    await versions.close();
  }
});
