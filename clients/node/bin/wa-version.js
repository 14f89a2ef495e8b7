#!/usr/bin/env node
// wa-version: print the WhatsApp Web version wa-version-service holds, for shell scripts:
//
//     WAHA_NOWEB_WA_VERSION=$(wa-version)      # 2.3000.1026131876
//
// One read of the hash <prefix>:version (no subscription), and the version a subscriber
// starting now would hold printed on stdout. Exit status, as the Python client's
// `wa-version`: 0 printed; 1 nothing is held (no refresh has succeeded yet, REDIS_PREFIX
// differs from the service's, or the hash is unreadable); 2 a setting is wrong; 4 Redis
// could not be reached, refused, or did not answer in time. Each failure is one line on
// stderr and nothing on stdout. A version held that is not the latest by the clients'
// rule (the service's last refresh failed, none succeeded within 2 h, …: src/latest.js)
// is still printed, exit 0, with one warning line on stderr saying why. It reads the environment VersionSubscriber.fromEnv()
// reads (REDIS_URL or REDIS_TLS_URL, REDIS_SSL_CERT_REQS, REDIS_SSL_CA_CERTS,
// REDIS_PREFIX) and never takes longer than --timeout (5 s) in all; one connection
// attempt, which gives up after 2 s.

import { parseArgs } from 'node:util';

import Redis from 'ioredis';

import { keysFor } from '../src/keys.js';
import { judgeLatest, refreshesFromHash } from '../src/latest.js';
import { fromHash, plausibleEpoch } from '../src/published.js';
import { checkRedisUrl, optionsFromEnv } from '../src/settings.js';

const DEFAULT_TIMEOUT_S = 5;
const CONNECT_TIMEOUT_MS = 2_000;
const NOTHING_HELD = 1;
const BAD_SETTING = 2;
const REDIS_UNREACHABLE = 4;

class CommandFailed extends Error {
  constructor(status, line) {
    super(line);
    this.status = status;
  }
}

function settings(argv) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { timeout: { type: 'string' } } }));
  } catch (error) {
    throw new CommandFailed(BAD_SETTING, error.message);
  }
  const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
  if (!(timeoutS > 0)) throw new CommandFailed(BAD_SETTING, `--timeout ${values.timeout}: use seconds > 0`);
  try {
    const { url, redisOptions, prefix } = optionsFromEnv();
    checkRedisUrl(url);
    return { url, redisOptions, key: keysFor(prefix).version, timeoutMs: timeoutS * 1000 };
  } catch (error) {
    throw new CommandFailed(BAD_SETTING, error.message);
  }
}

/** The version string held in `key`; CommandFailed when there is none or Redis fails. */
async function heldVersion({ url, redisOptions, key, timeoutMs }) {
  const redis = new Redis(url, {
    ...redisOptions,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null, // one attempt: a shell script decides what a failure means
  });
  let cause = null; // ioredis rejects with 'Connection is closed.'; its 'error' says why
  redis.on('error', (error) => {
    cause ??= error;
  });
  const deadlineError = new Error(`Redis did not answer within ${timeoutMs / 1000} s`);
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(deadlineError), timeoutMs);
  });
  let fields;
  try {
    fields = await Promise.race([redis.connect().then(() => redis.hgetall(key)), deadline]);
  } catch (error) {
    const why = error === deadlineError ? error.message : `Redis: ${(cause ?? error).message}`;
    throw new CommandFailed(REDIS_UNREACHABLE, why);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
  let held = null;
  try {
    held = fromHash(fields);
  } catch (error) {
    console.error(`wa-version: ${error.message}`);
  }
  if (held === null || !plausibleEpoch(held.epoch)) {
    throw new CommandFailed(
      NOTHING_HELD,
      `no version is held in ${key}: no refresh has succeeded yet, or REDIS_PREFIX is not the service's`,
    );
  }
  const verdict = judgeLatest(held, { synced: true, refreshes: refreshesFromHash(fields) });
  if (!verdict.isLatest) console.error(`wa-version: warning: ${held.string} may not be the latest: ${verdict.message}`);
  return held.string;
}

let status = 0;
let line;
try {
  line = await heldVersion(settings(process.argv.slice(2)));
} catch (error) {
  if (!(error instanceof CommandFailed)) throw error;
  status = error.status;
  line = `wa-version: ${error.message}`;
}
// Exit once the line is written, not when ioredis' last timer (its connect timeout)
// lets go: a gateway's start waits for this command.
(status === 0 ? process.stdout : process.stderr).write(`${line}\n`, () => process.exit(status));
