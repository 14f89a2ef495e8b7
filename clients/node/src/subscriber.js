// VersionSubscriber: holds the current WhatsApp Web version and follows every change,
// with the convergence contract of the Python library (README, "Connection managers"):
//
// 1. subscribe to <prefix>:version-changed, and after every subscription confirmation
//    (the first and each reconnect) read the hash <prefix>:version;
// 2. apply a message or a read only when its (epoch, seq) is greater than the pair held:
//    duplicates and stragglers change nothing, and a Redis that lost its data (a new,
//    larger epoch, seq from 1) is still followed;
// 3. read the hash every 30 s as a backstop, and treat a connection silent for three
//    PING intervals as dead.
//
// One connection: ioredis 6 speaks RESP3 (Redis 6 and later, Valkey), in which a
// subscribed connection still runs ordinary commands, so the reads and the reports go
// on the connection that holds the subscription.

import { EventEmitter } from 'node:events';

import { subscriberConnection } from './connection.js';
import { HeldVersion } from './held.js';
import { keysFor, DEFAULT_PREFIX } from './keys.js';
import { DEFAULT_MAX_AGE_MS, judgeLatest, refreshesFromHash } from './latest.js';
import { ConnectionNaming } from './naming.js';
import { MessageError, decodeMessage, fromHash, plausibleEpoch } from './published.js';
import { onOtherPushes } from './pushes.js';
import { OutdatedReports } from './reports.js';
import {
  DEFAULT_REDIS_URL,
  JOB_STREAM_MAXLEN,
  REFRESH_MIN_INTERVAL_MS,
  REFRESH_WAIT_MS,
  checkRedisUrl,
  optionsFromEnv,
} from './settings.js';
import { compareVersions, versionOf } from './version.js';

const START_WAIT_MS = 10_000; // start() waits at most this long for the first read
const SILENT_PINGS = 3; // a connection silent for this many ping intervals is dead
const CLOSE_WAIT_MS = 3_000; // close() waits at most this long for the socket to close

const defaultLogger = {
  info: () => {},
  warn: (message) => console.warn(`wa-version-client: ${message}`),
};

/** Holds the current WhatsApp Web version and follows every change. Emits 'change' (old, new). */
export class VersionSubscriber extends EventEmitter {
  #keys;
  #redis;
  #held;
  #naming;
  #reports;
  #resyncIntervalMs;
  #pingIntervalMs;
  #logger;
  #unref;
  #timers = [];
  #lastHeard = 0;
  #handshakeSince = 0; // when the socket connected; the handshake runs until 'ready'
  #problems = new Set(); // the causes logged since Redis was last reachable
  #storeProblems = new Set(); // what was wrong with the hash, each logged once
  #firstRead = null; // resolves at the first successful read of the hash, or at close()
  #failed = settledOnce(); // resolves at the first failure to reach or read Redis
  #synced = false; // subscribed, and the hash read since: what is held is current
  #refreshes = null; // the service's refresh bookkeeping, as the hash was last read
  #maxAgeMs;
  #closed = false;
  #changes = Promise.resolve(); // the 'change' listeners' turn, one change after another
  #ignoredPushes = 0;

  /**
   * `url`: redis:// or rediss://. Options: `prefix` (default whatsapp), `redis` (more
   * ioredis options, e.g. `tls`, or `sentinels` and `name` for a Sentinel),
   * `resyncIntervalMs` (30 s), `pingIntervalMs` (5 s), `reportIntervalMs` (10 min),
   * `refreshWaitMs` (25 s), `jobStreamMaxlen`, `logger` ({info, warn}), `unref` (true:
   * the subscriber never keeps the process alive by itself), `maxAgeMs` (how old the
   * service's last successful refresh may be for latest(): 2 h), `managerId` (this
   * manager's id in the fleet, which the subscribed connection is named after: 1 to 64
   * of A-Z a-z 0-9 . _ -, or ConfigError; `<host>-<pid>` by default; see naming.js).
   */
  constructor(url = DEFAULT_REDIS_URL, options = {}) {
    super();
    const {
      prefix = DEFAULT_PREFIX,
      redis = {},
      resyncIntervalMs = 30_000,
      pingIntervalMs = 5_000,
      reportIntervalMs = REFRESH_MIN_INTERVAL_MS,
      refreshWaitMs = REFRESH_WAIT_MS,
      jobStreamMaxlen = JOB_STREAM_MAXLEN,
      logger = defaultLogger,
      unref = false,
      maxAgeMs = DEFAULT_MAX_AGE_MS,
      managerId,
    } = options;
    this.#maxAgeMs = maxAgeMs;
    if (!redis.sentinels) checkRedisUrl(url);
    this.#keys = keysFor(prefix);
    this.#resyncIntervalMs = resyncIntervalMs;
    this.#pingIntervalMs = pingIntervalMs;
    this.#logger = logger;
    this.#unref = unref;
    this.#reports = new OutdatedReports((...args) => this.#redis.call(...args), this.#keys, {
      intervalMs: reportIntervalMs,
      refreshWaitMs,
      jobStreamMaxlen,
    });
    this.#held = new HeldVersion((old, current) => {
      this.#naming.renameSoon(() => this.#held.current); // spread: see naming.js
      this.#announce(old, current);
    }, logger);
    this.#redis = subscriberConnection(url, redis, { unref });
    this.#naming = new ConnectionNaming(this.#redis, managerId, logger);
    this.#redis.on('ready', () => {
      this.#heard();
      this.#subscribe();
    });
    this.#redis.on('message', (channel, message) => {
      if (channel === this.#keys.versionChanged) this.#onMessage(message);
      else this.#ignoredPushes += 1;
    });
    // A tracking invalidation redirected here by another client, say: nothing to act on.
    onOtherPushes(this.#redis, () => {
      this.#ignoredPushes += 1;
    });
    this.#redis.on('error', (error) => this.#problem(`Redis: ${error.message}`));
    this.#redis.on('connect', () => {
      this.#handshakeSince = performance.now();
    });
    this.#redis.on('connecting', () => {
      this.#handshakeSince = performance.now();
    });
    this.#redis.on('close', () => {
      this.#synced = false;
    });
  }

  /** A subscriber set up from the environment the service reads (see settings.js). */
  static fromEnv(env = process.env, options = {}) {
    const { url, redisOptions, ...settings } = optionsFromEnv(env);
    return new VersionSubscriber(url, {
      ...settings,
      ...options,
      redis: { ...redisOptions, ...options.redis },
    });
  }

  /** The version to use for the next connection (a PublishedVersion), or null. No I/O. */
  get current() {
    return this.#held.current;
  }

  /**
   * When the version `current` holds was applied, by performance.now() (0 before any
   * version); the same version in a new epoch leaves it as it was.
   */
  get currentSince() {
    return this.#held.since;
  }

  /**
   * How many pushes Redis sent the subscription that were neither a message on its
   * channel nor a confirmation (a tracking invalidation another client redirected here
   * with CLIENT TRACKING … REDIRECT, say): counted and otherwise ignored, without a log.
   */
  get ignoredPushes() {
    return this.#ignoredPushes;
  }

  /**
   * Whether `current` is known to be current: the subscription is up and the hash was
   * read since it came up (between a reconnection and that read, a change may be missed).
   */
  get synced() {
    return this.#synced && this.connected;
  }

  /**
   * Whether `current` is the latest version (latest.js): `{ isLatest: true }`, or
   * `{ isLatest: false, reason, message }` saying why. No I/O: the hash as last read.
   */
  latest({ maxAgeMs = this.#maxAgeMs } = {}) {
    const held = this.#held.current;
    if (held === null) return { isLatest: false, reason: 'unsynced', message: 'no version is held yet' };
    return judgeLatest(held, { synced: this.synced, refreshes: this.#refreshes, maxAgeMs });
  }

  /** This manager's id in the fleet: the subscribed connection is `wav1:<id>:node:<version>`. */
  get managerId() {
    return this.#naming.managerId;
  }

  /** The hash the version is read from, e.g. `whatsapp:version`. */
  get key() {
    return this.#keys.version;
  }

  /** Whether the subscription is up now. */
  get connected() {
    return this.#redis.status === 'ready';
  }

  /**
   * Whether an attempt to reach or read Redis failed and none has succeeded since (the
   * subscriber goes on trying).
   */
  get unreachable() {
    return this.#problems.size > 0;
  }

  /**
   * Connect, subscribe and read the stored version. Resolves after the first read (or
   * `timeoutMs`, 10 s by default, if Redis cannot be reached: the subscriber keeps
   * trying, and `current` stays null until it can), or sooner: when `signal` aborts, or,
   * with `untilFailure`, at the first failure to reach or read Redis (at once if one
   * happened already). Calling it again is harmless.
   */
  start({ timeoutMs = START_WAIT_MS, signal, untilFailure = false } = {}) {
    if (this.#closed) return Promise.reject(new Error('this VersionSubscriber is closed'));
    if (this.#firstRead === null) {
      this.#firstRead = settledOnce();
      this.#redis.connect().catch(() => {}); // failures go to 'error', and it retries
      this.#every(this.#resyncIntervalMs, () => this.#backstop());
      this.#every(this.#pingIntervalMs, () => this.#watchSilence());
    }
    if (this.#firstRead.done) return this.#firstRead; // read already: no timer to arm
    if (signal?.aborted || (untilFailure && this.#failed.done)) return Promise.resolve();
    // Each call waits up to its own timeout. The timer is referenced even with `unref`: a
    // script awaiting the first read must not end for want of anything else to do.
    let timer;
    let stopWaiting;
    const waited = new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      stopWaiting = resolve;
      signal?.addEventListener?.('abort', stopWaiting, { once: true });
    });
    const ends = [this.#firstRead, waited, ...(untilFailure ? [this.#failed] : [])];
    return Promise.race(ends).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener?.('abort', stopWaiting);
    });
  }

  /** Read the stored version now and follow it. */
  async resync() {
    const asked = performance.now();
    const fields = await this.#busy(this.#redis.hgetall(this.#keys.version));
    this.#heard();
    this.#refreshes = refreshesFromHash(fields);
    let stored;
    try {
      stored = fromHash(fields);
    } catch (error) {
      if (!(error instanceof MessageError)) throw error;
      this.#storeProblem(`ignoring the stored version: ${error.message}`);
      return;
    }
    if (stored === null) return;
    if (!plausibleEpoch(stored.epoch)) {
      this.#storeProblem(`ignoring the stored version: epoch ${stored.epoch} is ahead of the clock`);
      return;
    }
    this.#held.followStore(stored, asked);
  }

  /**
   * Resolves, within `withinMs`, once a version newer than `than` is held (another
   * version, announced later: not the same one in a new epoch); to the newest held
   * (which may still be `than`, or null, when none came in time).
   */
  waitNewer(than, { withinMs = 30_000 } = {}) {
    return this.#held.waitNewer(than, withinMs);
  }

  /**
   * Ask for a forced refresh after WhatsApp refused a connection as outdated (405).
   * `versionUsed` is the version that connection sent ([2, 3000, N], "2.3000.N" or a
   * PublishedVersion). The whole cluster turns any number of reports into at most one
   * refresh per report interval. A report about a version older than the one held asks
   * nothing (reconnect with `current` instead). Resolves to whether this call enqueued
   * the refresh; rejects when Redis cannot be reached.
   */
  async reportOutdated(versionUsed = null) {
    const used = versionUsed === null || versionUsed === undefined ? null : versionOf(versionUsed);
    const held = this.#held.current;
    if (used !== null && held !== null && compareVersions(held.array, used) > 0) return false;
    const enqueued = await this.#busy(this.#reports.report());
    if (enqueued) this.#logger.info('reported an outdated client version: refresh requested');
    return enqueued;
  }

  /** Stop following and close the connection. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#naming.stop();
    this.#held.releaseWaiters();
    this.#firstRead?.resolve();
    // With a socket open (or opening), wait until it is closed; between two attempts
    // there is none, and disconnect() just cancels the next attempt.
    const open = ['connecting', 'connect', 'ready'].includes(this.#redis.status);
    const closed = new Promise((resolve) => this.#redis.once('end', resolve));
    this.#redis.disconnect();
    if (!open) return;
    // ioredis destroys a socket that does not close within 2 s; one still connecting
    // (to a sentinel that never answers) it may never report ended.
    let timer;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  // Subscribe on every connection, then read the hash: a change published before the
  // subscription was in place is in the hash, and one published after is a message.
  async #subscribe() {
    try {
      await this.#redis.subscribe(this.#keys.versionChanged);
      this.#heard();
      this.#naming.name(this.#held.current); // a new connection has no name; sent before the read
      if (this.#problems.size > 0) {
        this.#logger.warn('Redis reachable again: subscribed');
        this.#problems.clear();
      }
      await this.resync();
      this.#synced = this.connected;
      this.#firstRead?.resolve();
    } catch (error) {
      this.#problem(`subscribing or reading the stored version: ${error.message}`);
    }
  }

  #onMessage(text) {
    this.#heard();
    let published;
    try {
      published = decodeMessage(text);
    } catch (error) {
      if (!(error instanceof MessageError)) throw error;
      this.#logger.warn(`ignoring a version-changed message: ${error.message}`);
      return;
    }
    if (!plausibleEpoch(published.epoch)) {
      this.#logger.warn(`ignoring a version-changed message: epoch ${published.epoch} is ahead of the clock`);
      return;
    }
    this.#held.offer(published);
  }

  // Listeners run one change after another, each in turn; one that throws or rejects
  // is logged and the others still run.
  #announce(old, current) {
    const listeners = this.rawListeners('change'); // raw: a once() listener then goes
    this.#changes = this.#changes.then(async () => {
      for (const listener of listeners) {
        try {
          await listener(old, current);
        } catch (error) {
          this.#logger.warn(`a 'change' listener failed: ${error?.stack ?? error}`);
        }
      }
    });
  }

  async #backstop() {
    if (!this.connected) return; // the next subscription reads anyway
    try {
      await this.resync();
    } catch (error) {
      this.#problem(`reading the stored version: ${error.message}`);
    }
  }

  // A PING each interval; a connection that answered nothing for SILENT_PINGS intervals
  // (a frozen server, a link that drops packets without a reset) is dropped and made
  // again, since TCP alone can take many minutes to notice.
  #watchSilence() {
    const silentFor = SILENT_PINGS * this.#pingIntervalMs;
    const handshaking = this.#redis.status === 'connect' || this.#redis.status === 'connecting';
    if (handshaking && performance.now() - this.#handshakeSince > silentFor) {
      // Connecting or connected, and no answer (a sentinel that accepts and never
      // answers, a handshake never answered): ioredis has no timeout for either.
      this.#problem(`Redis silent for ${SILENT_PINGS} ping intervals during the handshake: reconnecting`);
      this.#handshakeSince = performance.now();
      this.#redis.disconnect(true);
      return;
    }
    if (!this.connected) return;
    if (performance.now() - this.#lastHeard > silentFor) {
      this.#problem(`Redis silent for ${SILENT_PINGS} ping intervals: reconnecting`);
      this.#lastHeard = performance.now(); // one reconnection per silence
      this.#redis.disconnect(true);
      return;
    }
    this.#redis.ping().then(
      () => this.#heard(),
      () => {}, // a lost connection is reported by 'error' and retried
    );
  }

  #heard() {
    this.#lastHeard = performance.now();
  }

  // Logs each cause once until Redis is reachable again (a lost connection says
  // ECONNRESET, EPIPE and ECONNREFUSED in turn; once each is enough).
  #problem(text) {
    if (this.#closed || this.#problems.has(text)) return;
    this.#problems.add(text);
    this.#logger.warn(text);
    this.#failed.resolve();
  }

  // A garbled hash is read again every 30 s until someone repairs it: say so once.
  #storeProblem(text) {
    if (this.#storeProblems.has(text)) return;
    if (this.#storeProblems.size > 100) this.#storeProblems.clear();
    this.#storeProblems.add(text);
    this.#logger.warn(text);
  }

  // Keeps the process alive while `pending` is, even when the subscriber is unref'd: a
  // script awaiting a read or a report at its top level must see the answer.
  async #busy(pending) {
    const hold = this.#unref ? setInterval(() => {}, 60_000) : null;
    try {
      return await pending;
    } finally {
      clearInterval(hold);
    }
  }

  #every(ms, run) {
    const timer = setInterval(run, ms);
    if (this.#unref) timer.unref();
    this.#timers.push(timer);
  }
}

// A promise with its resolve() attached, and `done` once resolved.
function settledOnce() {
  let resolve;
  const promise = new Promise((settle) => {
    resolve = settle;
  });
  promise.resolve = () => {
    promise.done = true;
    resolve();
  };
  return promise;
}
