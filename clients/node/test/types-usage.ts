// Type-checked only (`npm run check`): the README's snippets as a TypeScript user writes
// them, so index.d.ts stays usable. Never run.

import {
  VersionSubscriber,
  fetchLatestBaileysVersion,
  fetchLatestWaWebVersion,
  type PublishedVersion,
  type WAVersion,
} from 'wa-version-client';

declare function makeWASocket(config: { version: WAVersion }): unknown;

export async function dropIn(): Promise<void> {
  const { version, isLatest, error } = await fetchLatestWaWebVersion();
  if (!isLatest) console.warn('not the latest', error);
  makeWASocket({ version });
  const answer = await fetchLatestBaileysVersion({ timeoutMs: 1_000, signal: AbortSignal.timeout(2_000) });
  if (answer.isLatest) makeWASocket({ version: answer.version });
  else console.warn('not the latest', answer.error); // narrowed: an error is always there
}

export async function following(): Promise<void> {
  const versions = VersionSubscriber.fromEnv();
  await versions.start();
  versions.on('change', (old: PublishedVersion | null, current: PublishedVersion) => {
    console.log(old?.string, current.string, current.seq, current.epoch);
  });
  const used = versions.current?.array ?? [2, 3000, 1];
  if (await versions.reportOutdated(used)) {
    const newer = await versions.waitNewer(versions.current, { withinMs: 30_000 });
    if (newer) makeWASocket({ version: newer.array });
  }
  await versions.close();
}

export async function latestWithAMaxAge(): Promise<void> {
  const answer = await fetchLatestWaWebVersion({ maxAgeMs: 30 * 60_000 });
  const versions = new VersionSubscriber('redis://127.0.0.1:6379', { maxAgeMs: 30 * 60_000, managerId: 'gw-eu-7' });
  const verdict = versions.latest({ maxAgeMs: 60_000 });
  if (!verdict.isLatest) console.warn(versions.managerId, verdict.reason, verdict.message, answer.error);
}
