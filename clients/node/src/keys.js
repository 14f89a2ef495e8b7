// The Redis names this client uses, derived from one prefix (REDIS_PREFIX, default
// `whatsapp`), as the contract's Keys (wa_version_client/contract/_keys.py) declares them
// (contract.generated.js).

import { KEY_SUFFIXES } from './contract.generated.js';

export const DEFAULT_PREFIX = 'whatsapp';

/** The names under `prefix`: `version`, `versionChanged`, `refreshJobs`, `outdatedReport`. */
export function keysFor(prefix = DEFAULT_PREFIX) {
  return Object.freeze(
    Object.fromEntries(Object.entries(KEY_SUFFIXES).map(([name, suffix]) => [name, `${prefix}:${suffix}`])),
  );
}
