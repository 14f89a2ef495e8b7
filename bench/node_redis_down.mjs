// How long the Baileys drop-in takes while Redis cannot be reached: three calls in a
// row, as a gateway's start (or its reconnection loop) makes them, each with the default
// options, through the process's shared subscriber. Prints one line per case.
//
//   node bench/node_redis_down.mjs [PACKAGE_DIR]    (default clients/node)
//
// Cases: "refused" (REDIS_URL names a loopback port nothing listens on) and "hanging"
// (a loopback server that accepts connections and never answers). PACKAGE_DIR lets the
// same script time another checkout's client (e.g. main's, for a before/after).

import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const packageDir = path.resolve(process.argv[2] ?? 'clients/node');
const client = await import(pathToFileURL(path.join(packageDir, 'src', 'index.js')).href);
const CALLS = 3;
console.warn = () => {}; // the subscriber's warnings about the unreachable Redis

async function listening(onConnection) {
  const server = net.createServer(onConnection);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function refusedUrl() {
  const server = await listening(() => {});
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return { url: `redis://127.0.0.1:${port}/0`, close: async () => {} };
}

async function hangingUrl() {
  const sockets = new Set();
  const server = await listening((socket) => sockets.add(socket)); // accepted, never answered
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url: `redis://127.0.0.1:${server.address().port}/0`, close };
}

for (const [name, make] of [
  ['refused', refusedUrl],
  ['hanging', hangingUrl],
]) {
  const redis = await make();
  process.env.REDIS_URL = redis.url;
  const times = [];
  let answer;
  for (let call = 0; call < CALLS; call += 1) {
    const started = performance.now();
    answer = await client.fetchLatestWaWebVersion();
    times.push(Math.round(performance.now() - started));
  }
  await client.closeSharedSubscriber();
  await redis.close();
  const figures = times.map((ms) => `${ms.toLocaleString('en')} ms`).join(' / ');
  console.log(`${name}: ${CALLS} calls in a row: ${figures} (isLatest ${answer.isLatest}, ${answer.version.join('.')})`);
}
