// The pushes ioredis drops, counted. On a RESP3 connection a server pushes more than
// pub/sub: a tracking invalidation any client can redirect onto the subscriber's
// connection (CLIENT TRACKING ON REDIRECT <id> BCAST: one push per key written), or a
// kind a newer server adds. ioredis 6 drops such a push without a word, which is what
// the subscriber wants; it also wants to count them, so an operator can see the traffic,
// and ioredis has no public hook for pushes.
//
// So this is the one place that reaches into ioredis: DataHandler.prototype.returnPush,
// the method every push goes through (ioredis/built/DataHandler.js, 6.0). The wrapper
// looks at the push and hands it on untouched; it counts only for the connections
// registered here, and any other ioredis client in the process is served as before. A
// release that moves the method stops the counting (the count stays 0), never the
// subscriber; test/pushes.test.js then fails, saying so.

import { createRequire } from 'node:module';

// What ioredis itself acts on: pub/sub messages and (un)subscription confirmations.
const PUBSUB_KINDS = new Set([
  'message',
  'pmessage',
  'smessage',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
]);

const listeners = new WeakMap(); // an ioredis connection -> called with each other push
let wrapped = false;

/** Call `onOther(kind)` for each push `connection` receives that is not pub/sub. */
export function onOtherPushes(connection, onOther) {
  listeners.set(connection, onOther);
  wrapped ||= wrapReturnPush();
}

// Whether the wrap is in place (false when this ioredis has no returnPush to wrap).
function wrapReturnPush() {
  let DataHandler;
  try {
    DataHandler = createRequire(import.meta.url)('ioredis/built/DataHandler.js').default;
  } catch {
    return false;
  }
  const original = DataHandler?.prototype?.returnPush;
  if (typeof original !== 'function') return false;
  DataHandler.prototype.returnPush = function returnPush(reply) {
    const onOther = listeners.get(this.redis);
    if (onOther !== undefined && Array.isArray(reply) && reply.length > 0) {
      const kind = String(reply[0]);
      if (!PUBSUB_KINDS.has(kind)) onOther(kind);
    }
    return original.call(this, reply);
  };
  return true;
}
