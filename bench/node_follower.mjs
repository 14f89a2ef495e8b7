// A bench child (bench/node_client.py): holds COUNT Node subscribers, prints one JSON
// line when all hold a version, then one per change the first one hears (with the wall
// clock time it heard it), and ends when its stdin closes.

import { VersionSubscriber } from '../clients/node/src/index.js';

const [url, prefix, count] = process.argv.slice(2);
const quiet = { info() {}, warn() {} };
const subscribers = Array.from({ length: Number(count) }, () => new VersionSubscriber(url, { prefix, logger: quiet }));
await Promise.all(subscribers.map((versions) => versions.start()));
const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
subscribers[0].on('change', (old, current) => emit({ seq: current.seq, at: performance.timeOrigin + performance.now() }));
emit({ ready: subscribers.every((versions) => versions.current !== null), rss_kb: Math.round(process.memoryUsage().rss / 1024) });
process.stdin.on('end', async () => {
  await Promise.all(subscribers.map((versions) => versions.close()));
  process.exit(0);
});
process.stdin.resume();
