// Code written for Baileys 6 (`@whiskeysockets/baileys@6.7.21`, whose functions take
// axios' AxiosRequestConfig), with the import swapped to wa-version-client: it must
// type-check as it is, against Baileys' own installed declarations. Type-checked only,
// never run (tests/clients/test_baileys_types.py).

import * as baileys from '@whiskeysockets/baileys';
import type { AxiosRequestConfig } from 'axios';
import { fetchLatestBaileysVersion, fetchLatestWaWebVersion } from 'wa-version-client';

declare const config: AxiosRequestConfig;
declare const anything: {};

export async function callsAsBaileysCodeDoes(): Promise<baileys.WAVersion[]> {
  const { version, isLatest, error } = await fetchLatestWaWebVersion(config);
  if (!isLatest) console.warn('not the latest', error);
  const viaBaileysName = await fetchLatestBaileysVersion(config);
  const plain = await fetchLatestWaWebVersion({}); // as Evolution API calls it
  const untyped = await fetchLatestBaileysVersion(anything);
  const literal = await fetchLatestWaWebVersion({ timeout: 5_000, headers: { 'user-agent': 'a gateway' } });
  return [version, viaBaileysName.version, plain.version, untyped.version, literal.version];
}

// Where Baileys' own functions are expected (a gateway's injectable version source).
export const webVersion: typeof baileys.fetchLatestWaWebVersion = fetchLatestWaWebVersion;
export const baileysVersion: typeof baileys.fetchLatestBaileysVersion = fetchLatestBaileysVersion;
