// Settings from the environment the service itself reads, so a gateway and the service
// share one configuration: REDIS_URL (or REDIS_TLS_URL), REDIS_SSL_CERT_REQS,
// REDIS_SSL_CA_CERTS, REDIS_PREFIX, REFRESH_MIN_INTERVAL, REFRESH_WAIT, JOB_STREAM_MAXLEN,
// and WA_MANAGER_ID (this manager's id in the fleet).
// A blank variable is unset; anything else must parse, or ConfigError names it.

import { readFileSync } from 'node:fs';

import { ConfigError } from './errors.js';
import { DEFAULT_PREFIX } from './keys.js';
import { checkManagerId } from './naming.js';

export const DEFAULT_REDIS_URL = 'redis://localhost:6379/0';
// The service's defaults (wa_version_client/defaults.py).
export const REFRESH_MIN_INTERVAL_MS = 600_000;
export const REFRESH_WAIT_MS = 25_000;
export const JOB_STREAM_MAXLEN = 10_000;

export { ConfigError };

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** Milliseconds in `text` (`90`, `30s`, `10m`, `1h`, `250ms`; a bare number is seconds). */
export function parseDuration(name, text) {
  const match = DURATION.exec(text.trim().toLowerCase());
  if (match === null) {
    throw new ConfigError(`${name}=${JSON.stringify(text.slice(0, 40))} is not a duration: use seconds or 30s, 10m, 1h, 250ms`);
  }
  return Number(match[1]) * UNIT_MS[match[2] ?? 's'];
}

/** The VersionSubscriber options the environment describes. */
export function optionsFromEnv(env = process.env) {
  const text = (name) => (env[name] ?? '').trim();
  const duration = (name, fallback) => (text(name) ? parseDuration(name, text(name)) : fallback);
  const url = text('REDIS_URL') || text('REDIS_TLS_URL') || DEFAULT_REDIS_URL;
  const maxlen = text('JOB_STREAM_MAXLEN');
  if (maxlen && !/^[1-9][0-9]{0,11}$/.test(maxlen)) {
    throw new ConfigError(`JOB_STREAM_MAXLEN=${JSON.stringify(maxlen.slice(0, 40))} is not a whole number ≥ 1`);
  }
  return {
    url,
    redisOptions: tlsOptions(url, text('REDIS_SSL_CERT_REQS'), text('REDIS_SSL_CA_CERTS')),
    prefix: text('REDIS_PREFIX') || DEFAULT_PREFIX,
    reportIntervalMs: duration('REFRESH_MIN_INTERVAL', REFRESH_MIN_INTERVAL_MS),
    refreshWaitMs: duration('REFRESH_WAIT', REFRESH_WAIT_MS),
    jobStreamMaxlen: maxlen ? Number(maxlen) : JOB_STREAM_MAXLEN,
    ...(text('WA_MANAGER_ID') ? { managerId: checkManagerId(text('WA_MANAGER_ID'), 'WA_MANAGER_ID') } : {}),
  };
}

/** Redis URLs this client connects to: redis:// and rediss:// (TLS). */
export function checkRedisUrl(url) {
  if (!/^rediss?:\/\//.test(url)) {
    throw new ConfigError(
      'the Redis URL must start with redis:// or rediss://; for a Sentinel pass ioredis options ' +
        '({ redis: { sentinels, name } }); a Cluster is not supported by this client',
    );
  }
}

// Heroku's Key-Value Store serves TLS with a self-signed certificate and sets REDIS_URL
// itself: REDIS_SSL_CERT_REQS=none accepts it; REDIS_SSL_CA_CERTS names the CA to verify.
function tlsOptions(url, certReqs, caCerts) {
  if (!url.startsWith('rediss://') || (!certReqs && !caCerts)) return {};
  if (certReqs && !['none', 'optional', 'required'].includes(certReqs)) {
    throw new ConfigError(`REDIS_SSL_CERT_REQS=${JSON.stringify(certReqs.slice(0, 20))}: use none, optional or required`);
  }
  const tls = {};
  if (certReqs === 'none' || certReqs === 'optional') tls.rejectUnauthorized = false;
  if (caCerts) {
    try {
      tls.ca = readFileSync(caCerts);
    } catch {
      throw new ConfigError(`REDIS_SSL_CA_CERTS=${JSON.stringify(caCerts.slice(0, 200))} is not a readable file`);
    }
  }
  return { tls };
}
