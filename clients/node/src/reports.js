// Reports of "client outdated": any number of them, from any number of processes in any
// language, make one refresh per interval. The same script and names as the Python
// library's (wa_version_client/reports.py): the first report of an interval sets the key
// and enqueues the job in one atomic step, so a connection lost between the two cannot
// leave the key set and no job.

import { randomUUID } from 'node:crypto';

import { JOB_FIELDS, REPORT_SCRIPT } from './contract.generated.js';

// REPORT_SCRIPT, the Python library's, comes from the contract: a key without an expiry
// (set by hand) counts as no key, as it would mute every report for ever. It returns
// ENQUEUED, or the ms the interval has left.
const ENQUEUED = -1;

/** Turns reports into at most one forced refresh per `intervalMs`, across processes. */
export class OutdatedReports {
  /** `run(...args)` sends one command to the primary and resolves to its reply. */
  constructor(run, keys, { intervalMs, refreshWaitMs, jobStreamMaxlen }) {
    this.run = run;
    this.keys = keys;
    this.intervalMs = intervalMs;
    this.refreshWaitMs = refreshWaitMs;
    this.jobStreamMaxlen = jobStreamMaxlen;
    this.mutedUntil = 0;
  }

  /** Count one report; resolves to whether it was the one that enqueued the refresh. */
  async report() {
    const now = performance.now();
    if (now < this.mutedUntil) return false; // another report counts for this interval
    const intervalMs = Math.max(1, Math.trunc(this.intervalMs));
    // Mute first, so reports racing this one in the same process ask Redis nothing.
    this.mutedUntil = now + intervalMs;
    // A refresh job as the service's RefreshJob.to_fields writes one.
    const job = jobFields({
      job_id: randomUUID().replaceAll('-', ''),
      force: '1',
      deadline_ms: String(Date.now() + Math.trunc(this.refreshWaitMs)),
    });
    const keys = [this.keys.outdatedReport, this.keys.refreshJobs];
    let left;
    try {
      left = Number(
        await this.run('eval', REPORT_SCRIPT, 2, ...keys, intervalMs, this.jobStreamMaxlen, ...job),
      );
    } catch (error) {
      this.mutedUntil = 0; // this report did not count: let the next one try
      throw error;
    }
    if (left !== ENQUEUED) {
      this.mutedUntil = now + Math.max(0, left);
      return false;
    }
    return true;
  }
}

/** The job's fields in the model's order, as [name, value, ...]: `values` for each, or the
 * model's default for a field without one (a field with no default must have a value). */
function jobFields(values) {
  return JOB_FIELDS.flatMap(({ name, default: fallback }) => {
    const value = values[name] ?? fallback;
    if (value === null) throw new Error(`a refresh job needs ${name}`);
    return [name, value];
  });
}
