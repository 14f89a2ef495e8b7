// What the tests share. They run against the real service: tests/clients/test_node.py
// starts a Redis server (Valkey 8.1, then Redis 6.2), the stub of WhatsApp Web, and the
// service's web and worker processes, and passes them here in WA_TEST_* variables. Run
// them with `./dev test tests/clients` from the repository's root.

import { randomUUID } from 'node:crypto';
import net from 'node:net';

import Redis from 'ioredis';

import { VersionSubscriber } from '../src/index.js';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through \`./dev test tests/clients\`, which starts the service they test`);
  }
  return value;
}

export const world = {
  redisUrl: required('WA_TEST_REDIS_URL'),
  prefix: required('WA_TEST_PREFIX'), // the service's
  apiUrl: required('WA_TEST_API_URL'),
  secret: required('WA_TEST_ADMIN_SECRET'),
  stubUrl: required('WA_TEST_STUB_URL'),
};

/** A prefix of the test's own, for tests that write Redis without the service. */
export function ownPrefix() {
  return `node-test-${randomUUID().slice(0, 12)}`;
}

/** Poll `condition` until it holds, failing after `withinMs`. */
export async function waitUntil(condition, { withinMs = 15_000, what = 'the condition' } = {}) {
  const deadline = performance.now() + withinMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10)); // polling with a deadline
  }
}

/** A plain client of the test Redis, closed by the caller. */
export function adminRedis() {
  // A command whose reply was lost is not sent again (a SHUTDOWN would stop the restarted server).
  return new Redis(world.redisUrl, { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
}

/** A subscriber of the service's prefix (or `options.prefix`), started. */
export async function startedSubscriber(options = {}, url = world.redisUrl) {
  const subscriber = new VersionSubscriber(url, { prefix: world.prefix, logger: quiet(), ...options });
  await subscriber.start();
  return subscriber;
}

/** A logger that keeps what it was told, for tests to read. */
export function quiet() {
  const lines = [];
  return { lines, info: (line) => lines.push(line), warn: (line) => lines.push(line) };
}

/** Call the service's admin API; the parsed envelope and the status. */
export async function api(method, path, body) {
  const response = await fetch(`${world.apiUrl}${path}`, {
    method,
    // fetch() sends each character of a header as one byte: the UTF-8 bytes, spelled so.
    headers: { 'X-Admin-Secret': Buffer.from(world.secret).toString('latin1'), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, envelope: await response.json() };
}

/** Make the stub WhatsApp Web serve `revision`. */
export async function serveRevision(revision) {
  const response = await fetch(`${world.stubUrl}/_stub`, { method: 'PUT', body: JSON.stringify({ revision }) });
  if (!response.ok) throw new Error(`the stub refused: ${response.status}`);
}

/** How many fetches the stub has answered. */
export async function stubFetches() {
  const response = await fetch(`${world.stubUrl}/_stub`);
  return (await response.json()).fetches;
}

/** Have upstream serve 2.3000.`revision` and the service refresh to it; the API's data. */
export async function serviceRefreshesTo(revision) {
  await serveRevision(revision);
  const { status, envelope } = await api('POST', '/admin/whatsapp/version/refresh?force=true');
  if (status !== 200 || envelope.data.wa_web_version.string !== `2.3000.${revision}`) {
    throw new Error(`the refresh answered ${status}: ${JSON.stringify(envelope)}`);
  }
  return envelope.data;
}

/** The stored revision now, or a fresh one above it, so each test moves the version forward. */
export async function nextRevision() {
  const { envelope } = await api('GET', '/admin/whatsapp/version');
  const stored = envelope.data?.wa_web_version;
  const current = stored ? stored.array[2] : 1_026_000_000;
  return current + 1 + Math.floor(Math.random() * 1000);
}

/**
 * The service at a fresh revision, and a started subscriber reaching Redis through a
 * proxy (below); `close()` ends both.
 */
export async function followingThroughProxy(options = {}) {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const link = await proxy();
  const versions = await startedSubscriber(options, link.url);
  const close = async () => {
    await versions.close();
    await link.close();
  };
  return { revision, link, versions, close };
}

/**
 * A TCP proxy on loopback in front of the test Redis: `cut()` closes every connection
 * and refuses new ones until `restore()`; `freeze()` keeps the connections open but
 * drops every byte (a peer gone without a FIN or RST); new connections still pass, unless
 * `hang()` (a server that accepts and never answers).
 */
export async function proxy(targetUrl = world.redisUrl) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  const state = { cut: false, hang: false, delayMs: 0 };
  const server = net.createServer((client) => {
    if (state.cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { client, upstream, frozen: state.hang };
    sockets.add(pair);
    client.on('data', (bytes) => pair.frozen || upstream.write(bytes));
    const toClient = (bytes) => pair.frozen || client.write(bytes);
    // Delayed replies keep their order: every chunk waits the same.
    upstream.on('data', (bytes) => (state.delayMs ? setTimeout(toClient, state.delayMs, bytes) : toClient(bytes)));
    const end = () => {
      sockets.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${server.address().port}${target.pathname}`,
    cut() {
      state.cut = true;
      for (const pair of sockets) pair.client.destroy();
    },
    restore() {
      state.cut = false;
      state.hang = false;
    },
    freeze() {
      for (const pair of sockets) pair.frozen = true;
    },
    /** Every reply from Redis arrives `ms` later (0: at once). */
    slow(ms) {
      state.delayMs = ms;
    },
    /** New connections too are accepted and then pass nothing, until restore(). */
    hang() {
      state.hang = true;
      this.freeze();
    },
    get connections() {
      return sockets.size;
    },
    async close() {
      this.cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// A loopback port nothing listens on: one the kernel gave a listener just closed.
export async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
