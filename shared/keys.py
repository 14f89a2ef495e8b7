"""The service's own Redis names, beside the public ones the client declares.

Every name is derived from the one prefix (REDIS_PREFIX); nothing else in the service
writes a Redis name as a string. The public names (the version hash, its channel, the job
stream and the report key) are `wa_version_client.contract.Keys`; the rest are here.
"""

from __future__ import annotations

from dataclasses import dataclass

from wa_version_client.contract import Keys


@dataclass(frozen=True, slots=True)
class ServiceKeys(Keys):
    """Every Redis name the service uses under `prefix`."""

    @property
    def history(self) -> str:
        """List: the announcements of the last applied versions, newest first."""
        return f"{self.prefix}:version-history"

    @property
    def dead_letter(self) -> str:
        """Stream: refresh jobs set aside after too many deliveries, for a person to read."""
        return f"{self.prefix}:refresh-jobs:dead"

    @property
    def workers_group(self) -> str:
        """Consumer group of the workers on `refresh_jobs`."""
        return "workers"

    @property
    def refresh_results(self) -> str:
        """Channel: the answers to refresh jobs, one message per handled batch."""
        return f"{self.prefix}:refresh-results"

    @property
    def state_changed(self) -> str:
        """Channel: the new `rev` of the version hash, published by every write of it, in
        the same script (shared/write_script.py): what the web's held copy listens for."""
        return f"{self.prefix}:version-state-changed"

    def refresh_result(self, job_id: str) -> str:
        """String: one job's answer, kept briefly for an API that missed the message."""
        return f"{self.prefix}:refresh-result:{job_id}"

    def auth_failures(self, client: str) -> str:
        """String: failed admin authentications from `client` in the current window."""
        return f"{self.prefix}:auth-failures:{client}"

    @property
    def auto_refresh(self) -> str:
        """String: taken by the worker that enqueued this interval's scheduled refresh."""
        return f"{self.prefix}:auto-refresh"

    @property
    def metrics(self) -> str:
        """Hash: counters every worker adds to (fetches, jobs, fetch durations)."""
        return f"{self.prefix}:metrics"

    @property
    def worker_heartbeats(self) -> str:
        """Sorted set: every worker by the time (ms) it last said it was alive."""
        return f"{self.prefix}:workers"

    @property
    def worker_lease(self) -> str:
        """String: the name of the one worker that reads jobs now; expires unless renewed."""
        return f"{self.prefix}:worker-lease"
