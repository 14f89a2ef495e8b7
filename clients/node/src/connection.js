// The one ioredis connection a subscriber holds, set up for following: RESP3 (so the
// subscription, the reads and the reports share it), no offline queue, nothing re-sent,
// the reconnection backoff, and, with `unref`, nothing that keeps the process alive.

import Redis from 'ioredis';

import { reconnectDelay } from './backoff.js';

/** An ioredis client of `url` (or of the sentinels in `redis.sentinels`), not yet connected. */
export function subscriberConnection(url, redis, { unref }) {
  const options = {
    connectTimeout: 5_000,
    // The question to a sentinel has no timeout otherwise: one that never answers
    // would hold the subscriber for ever.
    sentinelCommandTimeout: 5_000,
    ...redis,
    lazyConnect: true,
    protocol: 3,
    // The subscriber subscribes afresh (and reads the hash) at each 'ready'.
    autoResubscribe: false,
    // A command is sent on a live connection or refused at once, and one whose reply
    // was lost is never sent again: a report sent twice could count twice.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => reconnectDelay(times),
  };
  const connection = redis.sentinels ? new Redis(options) : new Redis(url, options);
  if (unref) {
    // Neither the socket nor the wait before the next attempt keeps the process alive
    // (ioredis arms that timer just after it says 'reconnecting').
    connection.on('connect', () => connection.stream?.unref?.());
    connection.on('reconnecting', () => queueMicrotask(() => connection.reconnectTimeout?.unref?.()));
  }
  return connection;
}
