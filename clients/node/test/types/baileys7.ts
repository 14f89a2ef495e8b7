// Code written for Baileys 7 (`baileys@7.0.0-rc14`, whose functions take fetch's
// RequestInit), with the import swapped to wa-version-client: it must type-check as it
// is, against Baileys' own installed declarations. Type-checked only, never run
// (tests/clients/test_baileys_types.py).

import * as baileys from 'baileys';
import { fetchLatestBaileysVersion, fetchLatestWaWebVersion } from 'wa-version-client';

declare const init: RequestInit;
declare const anything: {};

export async function callsAsBaileysCodeDoes(): Promise<baileys.WAVersion[]> {
  const { version, isLatest, error } = await fetchLatestWaWebVersion(init);
  if (!isLatest) console.warn('not the latest', error);
  const viaBaileysName = await fetchLatestBaileysVersion(init);
  const plain = await fetchLatestWaWebVersion({});
  const untyped = await fetchLatestBaileysVersion(anything);
  const literal = await fetchLatestWaWebVersion({ headers: { 'user-agent': 'a gateway' }, signal: AbortSignal.timeout(5_000) });
  const none = await fetchLatestBaileysVersion();
  return [version, viaBaileysName.version, plain.version, untyped.version, literal.version, none.version];
}

// Where Baileys' own functions are expected (a gateway's injectable version source).
export const webVersion: typeof baileys.fetchLatestWaWebVersion = fetchLatestWaWebVersion;
export const baileysVersion: typeof baileys.fetchLatestBaileysVersion = fetchLatestBaileysVersion;
