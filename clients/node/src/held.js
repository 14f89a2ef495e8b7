// The version a subscriber holds: when a newer one replaces it, and who waits for it.
// No I/O: the subscriber (subscriber.js) feeds it what Redis says. The rules are the
// Python library's (wa_version_client/held.py).

/**
 * The current version, replaced only by a greater (epoch, seq) or by the store. Only a
 * change of version is heard (`changed`, waitNewer): the same version in another order
 * (Redis lost its data, and the next refresh stored the version held in a new epoch)
 * replaces what is held silently, so later messages compare against the new order.
 */
export class HeldVersion {
  #current = null;
  #since = 0; // performance.now() when the version held was first applied
  #orderedAt = 0; // performance.now() when #current (its order) was last set
  #waiters = new Set();
  #changed;
  #logger;

  /** `changed(old, current)` is called, synchronously, each time the version held changes. */
  constructor(changed, logger) {
    this.#changed = changed;
    this.#logger = logger;
  }

  get current() {
    return this.#current;
  }

  get since() {
    return this.#since;
  }

  /** Hold `published` if it is newer than what is held (a message, say). */
  offer(published) {
    if (published.newerThan(this.#current)) this.#hold(published);
  }

  /**
   * Follow what the hash holds, read by a request sent at `asked` (performance.now()).
   * The hash is the authority; a message is a hint it confirms. What it holds is applied
   * when newer than what is held. When older, and what is held was applied before the
   * read was sent (so the read must see it or something newer), the held version came
   * from a forged message or was lost with Redis's data: the hash's replaces it. So does
   * another version under the same (epoch, seq): a forgery that took the next pair.
   */
  followStore(stored, asked) {
    const held = this.#current;
    if (stored.newerThan(held)) {
      this.#hold(stored);
    } else if (held !== null && !announcesTheSame(stored, held) && this.#orderedAt < asked) {
      this.#logger.warn(
        `the stored version ${stored.string} (epoch ${stored.epoch}, seq ${stored.seq}) contradicts ` +
          `the one held, ${held.string} (epoch ${held.epoch}, seq ${held.seq}): following the store`,
      );
      this.#hold(stored);
    }
  }

  /**
   * Resolves within `withinMs` once a version newer than `than` is held (a later one
   * that is another version); to the newest held.
   */
  waitNewer(than, withinMs) {
    if (changedSince(than, this.#current)) return Promise.resolve(this.#current);
    return new Promise((resolve) => {
      const waiter = { than, resolve };
      waiter.timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve(this.#current);
      }, withinMs);
      this.#waiters.add(waiter);
    });
  }

  /** Resolve every waitNewer() now, with what is held. */
  releaseWaiters() {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(this.#current);
    }
    this.#waiters.clear();
  }

  #hold(published) {
    const old = this.#current;
    this.#current = published;
    this.#orderedAt = performance.now();
    if (old !== null && old.string === published.string) return; // the same version, reordered
    this.#since = this.#orderedAt;
    for (const waiter of this.#waiters) {
      if (changedSince(waiter.than, published)) {
        clearTimeout(waiter.timer);
        this.#waiters.delete(waiter);
        waiter.resolve(published);
      }
    }
    this.#changed(old, published);
  }
}

// Whether `held` is a later announcement than `than`, of another version.
function changedSince(than, held) {
  if (held === null || !held.newerThan(than)) return false;
  return than === null || than === undefined || held.string !== than.string;
}

// Whether two announcements carry the same version at the same (epoch, seq); what else
// they carry differs between a message and a read of the hash.
function announcesTheSame(a, b) {
  return a.sameOrder(b) && a.string === b.string;
}
