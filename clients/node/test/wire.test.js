// The wire contract, from Node: every message the service publishes fits
// schemas/version-changed.schema.json, and this client accepts and refuses exactly the
// messages the Python library does (the verdicts come from it: WA_TEST_CORPUS).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import Redis from 'ioredis';

import { MessageError, decodeMessage } from '../src/index.js';
import { api, nextRevision, serveRevision, serviceRefreshesTo, waitUntil, world } from './support.js';

const schema = JSON.parse(readFileSync(new URL('../../../schemas/version-changed.schema.json', import.meta.url)));
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);

test('every kind of message the service publishes fits the schema and decodes alike', async () => {
  const tap = new Redis(world.redisUrl);
  const published = [];
  tap.on('message', (_, message) => published.push(message));
  await tap.subscribe(`${world.prefix}:version-changed`);
  try {
    const revision = await nextRevision();
    await serviceRefreshesTo(revision); // kind fetch
    assert.equal((await api('PUT', '/admin/whatsapp/version', { version: [2, 3000, revision - 5] })).status, 200); // pin
    await serveRevision(revision + 1);
    await api('POST', '/admin/whatsapp/version/refresh?force=true'); // recorded, not applied
    assert.equal((await api('DELETE', '/admin/whatsapp/version/pin')).status, 200); // unpin
    await waitUntil(() => published.length === 3, { what: 'three messages' });
    for (const text of published) {
      const data = JSON.parse(text);
      assert.ok(validate(data), `${text}: ${ajv.errorsText(validate.errors)}`);
      const decoded = decodeMessage(text);
      assert.deepEqual([...decoded.array], data.array);
      assert.equal(decoded.string, data.string);
      assert.equal(decoded.seq, data.seq);
      assert.equal(decoded.epoch, data.epoch);
      assert.equal(decoded.kind, data.kind);
      assert.deepEqual(decoded.previous && [...decoded.previous], data.previous?.array ?? null);
    }
    assert.deepEqual(published.map((text) => JSON.parse(text).kind), ['fetch', 'pin', 'unpin']);
  } finally {
    await tap.quit();
  }
});

test('accepts and refuses exactly what the Python library does', () => {
  const corpus = JSON.parse(readFileSync(process.env.WA_TEST_CORPUS, 'utf8'));
  assert.ok(corpus.length >= 20);
  for (const { text, accepted, fields } of corpus) {
    let decoded = null;
    try {
      decoded = decodeMessage(text);
    } catch (error) {
      assert.ok(error instanceof MessageError, `${text.slice(0, 80)}: ${error}`);
    }
    assert.equal(decoded !== null, accepted, `${text.slice(0, 120)}: Python ${accepted ? 'accepts' : 'refuses'} it`);
    if (decoded !== null) {
      assert.deepEqual(
        { array: [...decoded.array], seq: decoded.seq, epoch: decoded.epoch, kind: decoded.kind, previous: decoded.previous && [...decoded.previous] },
        fields,
      );
    }
  }
});
