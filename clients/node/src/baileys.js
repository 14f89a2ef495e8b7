// A drop-in for Baileys' fetchLatestWaWebVersion(): the same name and the same answer,
// `{ version: [2, 3000, N], isLatest, error? }`, taken from what the service holds in
// Redis instead of a request to web.whatsapp.com from every gateway.

import { VersionSubscriber } from './subscriber.js';
import { isVersionArray } from './version.js';

// Answered, with isLatest false, when neither the service nor this process holds a
// version (the service never fetched, or Redis was never reached) and no `fallback` was
// given: the newest revision known when this package was released. Baileys answers its
// own bundled version in the same case; pass `fallback: DEFAULT_CONNECTION_CONFIG.version`
// to answer that one instead.
export const BUNDLED_VERSION = Object.freeze([2, 3000, 1045818043]);

const FIRST_READ_WAIT_MS = 3_000;

let shared = null;

/**
 * The process's own subscriber, made from the environment (REDIS_URL, REDIS_PREFIX…) at
 * the first call and kept: later answers cost no I/O and follow every change. It never
 * keeps the process alive by itself.
 */
export function sharedSubscriber(env = process.env) {
  if (shared === null) {
    shared = VersionSubscriber.fromEnv(env, { unref: true });
    shared.start({ timeoutMs: 0 }).catch(() => {}); // connecting now; nobody waits here
  }
  return shared;
}

/** Close the shared subscriber (the next call makes a new one). */
export async function closeSharedSubscriber() {
  const closing = shared;
  shared = null;
  await closing?.close();
}

/**
 * The WhatsApp Web version to connect with, as Baileys' function of the same name
 * answers it: `{ version, isLatest: true }` when the version held is the latest
 * (latest.js: synced with Redis, the service's last refresh succeeded, within
 * `maxAgeMs`, and the hash holds nothing newer); otherwise `isLatest: false` with an
 * `error` saying why, and the version last held (or `fallback`, else BUNDLED_VERSION),
 * so `makeWASocket({ version })` still gets a version. Never rejects.
 *
 * Only the first call waits, and only until Redis is first read or first fails to be
 * reached (at most `timeoutMs`, 3 s): after that every call answers at once, without
 * I/O, while the subscriber goes on trying in the background.
 *
 * Options: `subscriber` (a started VersionSubscriber of your own; default the shared
 * one), `timeoutMs`, `fallback`, `maxAgeMs` (the subscriber's, 2 h by default), `signal` (an AbortSignal: an aborted call answers at
 * once, as Baileys' does, `isLatest: false` with the signal's reason as `error`). Any
 * other option (Baileys passes fetch or axios options) is ignored.
 */
export function fetchLatestWaWebVersion(options = {}) {
  return answerFromService(options ?? {});
}

/**
 * Baileys' fetchLatestBaileysVersion() reads the version in Baileys' own source, which
 * trails WhatsApp Web; this one answers the service's version, exactly as
 * fetchLatestWaWebVersion() does (same options, same answer), so code written for
 * either Baileys function connects with the current version.
 */
export function fetchLatestBaileysVersion(options = {}) {
  return answerFromService(options ?? {});
}

async function answerFromService(options) {
  const { subscriber, timeoutMs = FIRST_READ_WAIT_MS, signal, maxAgeMs } = options;
  // Whatever was passed, the answer carries three uint32s (Baileys would send anything).
  const fallback = isVersionArray(options.fallback) ? options.fallback : BUNDLED_VERSION;
  let versions;
  try {
    versions = subscriber ?? sharedSubscriber();
    await waitForFirstRead(versions, timeoutMs, signal);
  } catch (error) {
    return { version: [...fallback], isLatest: false, error };
  }
  if (signal?.aborted) {
    return { version: [...(versions.current?.array ?? fallback)], isLatest: false, error: abortReason(signal) };
  }
  return answerFromHeld(versions, fallback, maxAgeMs);
}

// Subscribers a call already waited for in vain (its timeout passed with neither a read
// nor a failure: a connection that hangs rather than fails); later calls do not wait.
const waitedInVain = new WeakSet();

// Only the first calls wait: until the subscriber's first read, its first failure to
// reach Redis, the call's timeout or its signal. With Redis down, every later call
// answers at once while the subscriber goes on trying, so a gateway's reconnection loop
// is never held up by a Redis it cannot reach.
async function waitForFirstRead(versions, timeoutMs, signal) {
  const wait = waitedInVain.has(versions) ? 0 : timeoutMs;
  await versions.start({ timeoutMs: wait, signal, untilFailure: true });
  const inVain = !signal?.aborted && !versions.unreachable && versions.current === null && !versions.synced;
  if (inVain) waitedInVain.add(versions);
}

// Baileys' fetch rejects with the signal's reason (an AbortError DOMException for
// abort(), a TimeoutError for AbortSignal.timeout()) and Baileys answers it as `error`.
// An axios-style signal may carry no reason.
function abortReason(signal) {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The answer from what `versions` holds now: whether it is the latest, and why not. */
function answerFromHeld(versions, fallback, maxAgeMs) {
  const held = versions.current;
  if (held !== null) {
    const latest = versions.latest(maxAgeMs === undefined ? {} : { maxAgeMs });
    if (latest.isLatest) return { version: [...held.array], isLatest: true };
    return { version: [...held.array], isLatest: false, error: new Error(latest.message) };
  }
  const why = versions.synced
    ? `the service holds no version yet in ${versions.key} (no refresh has succeeded, or REDIS_PREFIX differs)`
    : 'Redis cannot be reached and no version was ever read';
  return { version: [...fallback], isLatest: false, error: new Error(why) };
}
