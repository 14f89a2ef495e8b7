// What "latest" means: the rule of wa_version_client/contract/_latest.py (its reasons and
// default maximum age come from there, through contract.generated.js). A held version is
// the latest unless, the first that applies: the subscriber is not synced; the service's
// last refresh attempt failed; it records no success; its last success is older than
// the maximum age; or the hash holds another version, announced later. No I/O: the hash
// as last read (on every subscription and every resync interval) is judged.

import { LATEST } from './contract.generated.js';
import { fromHash, plausibleEpoch } from './published.js';

// A time as the service writes it: RFC 3339 in UTC with a Z, to the second.
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export const DEFAULT_MAX_AGE_MS = LATEST.defaultMaxAgeMs;

/**
 * The service's refresh bookkeeping in what HGETALL of the hash returned, and `stored`,
 * the version the hash announces (a PublishedVersion; null for none, or one that does
 * not decode: the subscriber logs that). A malformed time reads as none, as the Python
 * client reads it.
 */
export function refreshesFromHash(fields) {
  const lastSuccess = timeIn(fields?.last_success);
  return {
    lastRefreshed: timeIn(fields?.last_refreshed),
    lastSuccess,
    lastSuccessMs: lastSuccess ? Date.parse(lastSuccess) : 0, // parsed once per read, not per call
    lastError: typeof fields?.last_error === 'string' ? fields.last_error : '',
    stored: announced(fields),
  };
}

function announced(fields) {
  try {
    const stored = fromHash(fields);
    return stored !== null && plausibleEpoch(stored.epoch) ? stored : null;
  } catch {
    return null;
  }
}

/**
 * Whether `held` (a PublishedVersion) is the latest: `{ isLatest: true }`, or
 * `{ isLatest: false, reason, message }`. `refreshes` is refreshesFromHash's answer for
 * the last read (null if none).
 */
export function judgeLatest(held, { synced, refreshes, nowMs = Date.now(), maxAgeMs = DEFAULT_MAX_AGE_MS }) {
  if (!synced || !refreshes) return not('unsynced', { held: held.string });
  if (refreshes.lastError) return not('failed', { at: refreshes.lastRefreshed, error: refreshes.lastError });
  if (!refreshes.lastSuccess) return not('never');
  if (nowMs - refreshes.lastSuccessMs > maxAgeMs) {
    return not('stale', { at: refreshes.lastSuccess, max_age: String(Math.trunc(maxAgeMs / 1000)) });
  }
  const { stored } = refreshes;
  if (stored && stored.newerThan(held) && stored.string !== held.string) return not('behind', { stored: stored.string, held: held.string });
  return { isLatest: true };
}

function not(reason, values = {}) {
  let message = LATEST.reasons[reason];
  for (const [name, value] of Object.entries(values)) message = message.replaceAll(`{${name}}`, value);
  return { isLatest: false, reason, message };
}

function timeIn(text) {
  return typeof text === 'string' && TIME.test(text) && !Number.isNaN(Date.parse(text)) ? text : '';
}
