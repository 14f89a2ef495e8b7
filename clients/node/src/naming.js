// A subscriber names its subscribed connection after what it holds, for the fleet
// (GET /admin/whatsapp/fleet): `wav1:<manager id>:node:<version held, or ->`, the parts
// from the contract (contract.generated.js). CLIENT SETNAME runs on the subscribed
// connection itself: at once after each subscription (a new connection has no name), and
// after each change of the version held once a random MANAGER_NAME.renameDelayMinMs to
// renameDelayMaxMs have passed, so that thousands of managers renaming never crowd the
// delivery of the change itself. No extra connection, and no write, so a subscriber
// reading from a replica is named on the replica. RESP3 (this client's protocol) lets a
// subscribed connection run it; a server that refuses it (RESP2, an ACL without CLIENT)
// is logged once, and the subscriber carries on unnamed.

import { hostname } from 'node:os';

import { MANAGER_NAME } from './contract.generated.js';
import { ConfigError } from './errors.js';

const ID = new RegExp(MANAGER_NAME.idPattern);
const NOT_ID_CHARACTER = new RegExp(`[^${MANAGER_NAME.idCharacter.slice(1, -1)}]`, 'gu');

/** `id` if it can name a connection; ConfigError saying why (of `what`) otherwise. */
export function checkManagerId(id, what = 'managerId') {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new ConfigError(
      `${what}=${JSON.stringify(String(id).slice(0, 80))}: a manager id is 1 to ` +
        `${MANAGER_NAME.idMaxLength} characters from A-Z a-z 0-9 . _ -`,
    );
  }
  return id;
}

/**
 * `<host>-<pid>`: the host name's other characters made `_` and cut so the id stays
 * valid on any host, as the Python client's default_manager_id.
 */
export function defaultManagerId(host = hostname(), pid = process.pid) {
  const tail = `-${pid}`;
  const cleaned = host.replace(NOT_ID_CHARACTER, '_') || 'host';
  return cleaned.slice(0, MANAGER_NAME.idMaxLength - tail.length) + tail;
}

/** `wav1:<id>:node:<version>`, the version `held.string` or `-` before any. */
export function connectionName(managerId, held) {
  const version = held === null ? MANAGER_NAME.noVersion : held.string;
  return `${MANAGER_NAME.prefix}:${managerId}:${MANAGER_NAME.client}:${version}`;
}

/** Names one ioredis connection after the version held; `managerId` checked at once. */
export class ConnectionNaming {
  #redis;
  #logger;
  #refused = false; // the server refused a name once: said once, not again
  #renaming = null; // the timer of the rename after a change, while one is pending

  constructor(redis, managerId, logger) {
    this.managerId = checkManagerId(managerId ?? defaultManagerId());
    this.#redis = redis;
    this.#logger = logger;
  }

  /**
   * After a change: rename once, a random renameDelayMinMs to renameDelayMaxMs from now,
   * after what `held()` returns then (later changes meanwhile share it). The timer is
   * unref'd: a pending rename never keeps the process alive.
   */
  renameSoon(held) {
    if (this.#renaming !== null) return;
    const { renameDelayMinMs: min, renameDelayMaxMs: max } = MANAGER_NAME;
    this.#renaming = setTimeout(() => {
      this.#renaming = null;
      this.name(held());
    }, min + Math.random() * (max - min));
    this.#renaming.unref();
  }

  /** Drop a pending rename (the subscriber is closing). */
  stop() {
    clearTimeout(this.#renaming);
    this.#renaming = null;
  }

  /** Name the connection after `held` (a PublishedVersion or null). Never rejects. */
  async name(held) {
    if (this.#redis.status !== 'ready') return; // named after the next subscription
    try {
      await this.#redis.client('SETNAME', connectionName(this.managerId, held));
    } catch (error) {
      if (this.#redis.status !== 'ready') return; // lost meanwhile: named again once back
      if (!this.#refused) this.#logger.warn(`naming the subscribed connection failed (not in the fleet): ${error.message}`);
      this.#refused = true;
    }
  }
}
