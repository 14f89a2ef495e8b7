"""The Redis names other programs read and write, derived from one prefix (default `whatsapp`).

The hash and the channel are what a subscriber follows; the job stream and the report key
are what a report of "client outdated" writes (the Node and Go clients write the same:
`./dev contract` copies each property here, its doc line too, into theirs).
The service's own names (its dead letters, workers, lease, metrics…) are the service's
business and live with it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    """The public Redis names under `prefix`."""

    prefix: str = "whatsapp"

    @property
    def version(self) -> str:
        """Hash: the current version and the refresh bookkeeping."""
        return f"{self.prefix}:version"

    @property
    def version_changed(self) -> str:
        """Channel: one message each time the stored version changes."""
        return f"{self.prefix}:version-changed"

    @property
    def refresh_jobs(self) -> str:
        """Stream: refresh jobs, from the API and from reports, to the workers."""
        return f"{self.prefix}:refresh-jobs"

    @property
    def outdated_report(self) -> str:
        """String: set while a "client outdated" report's refresh counts for the whole cluster."""
        return f"{self.prefix}:outdated-report"
