// The Redis names this client uses, derived from one prefix (REDIS_PREFIX, default
// `whatsapp`), as the service's wa_version_client/contract/keys.py defines them.

export const DEFAULT_PREFIX = 'whatsapp';

/** The names under `prefix`. */
export function keysFor(prefix = DEFAULT_PREFIX) {
  return Object.freeze({
    /** Hash: the current version and the refresh bookkeeping. */
    version: `${prefix}:version`,
    /** Channel: one message each time the stored version changes. */
    versionChanged: `${prefix}:version-changed`,
    /** Stream: refresh jobs for the workers. */
    refreshJobs: `${prefix}:refresh-jobs`,
    /** String: set while a "client outdated" report's refresh counts for the whole cluster. */
    outdatedReport: `${prefix}:outdated-report`,
  });
}
