"""The table of "is the version held the latest?" cases, built once: each client's rule
(contract/_latest.py, Node src/latest.js, Go latest.go) is held to the Python verdict on
every case (tests/clients/test_latest_clients.py), and the Python one to the expected
reason here (tests/clients/python/test_latest.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from wa_version_client.contract import (
    PublishedVersion,
    VersionState,
    WAVersion,
    format_time,
    judge_latest,
    readable_state,
)

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
EPOCH = 1_760_000_000_000
HELD: dict[str, Any] = {"string": "2.3000.1045818043", "epoch": EPOCH, "seq": 7}
FAILURE = "https://web.whatsapp.com/sw.js: upstream answered HTTP 503"


@dataclass(frozen=True)
class LatestCase:
    """One question: the held version, whether synced, the hash as last read (None: never
    read), now, the max age (seconds); and the reason expected ("" for the latest)."""

    label: str
    synced: bool
    hash: dict[str, str] | None
    expected: str
    max_age: float = 7200.0
    held: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "synced": self.synced,
            "hash": self.hash,
            "held": self.held or HELD,
            "now": format_time(NOW),
            "max_age": self.max_age,
        }


def healthy(ago: timedelta = timedelta(minutes=10), **changes: Any) -> VersionState:
    """The state after a refresh `ago` that stored the held version."""
    state = VersionState(
        version=WAVersion.parse(str(HELD["string"])),
        seq=int(HELD["seq"]),
        epoch=EPOCH,
        last_refreshed=NOW - ago,
        last_success=NOW - ago,
        changed_at=NOW - timedelta(days=1),
        source="https://web.whatsapp.com/sw.js",
    )
    return replace(state, **changes)


def failed(**changes: Any) -> VersionState:
    """The last attempt, a minute ago, failed; the one before succeeded."""
    attempt = {"last_refreshed": NOW - timedelta(minutes=1), "last_error": FAILURE}
    return healthy(timedelta(minutes=30), **{**attempt, **changes})


def latest_cases() -> list[LatestCase]:
    hours = timedelta(hours=1)
    behind = healthy(version=WAVersion.parse("2.3000.1045818044"), seq=8)
    cases = [
        LatestCase("synced, refreshed 10 min ago", True, healthy().to_hash(), ""),
        LatestCase("not synced", False, healthy().to_hash(), "unsynced"),
        LatestCase("the hash never read", True, None, "unsynced"),
        LatestCase("the last attempt failed", True, failed().to_hash(), "failed"),
        LatestCase("not synced beats failed", False, failed().to_hash(), "unsynced"),
        LatestCase("failed beats stale", True,
                   failed(last_success=NOW - 5 * hours).to_hash(), "failed"),
        LatestCase("failed, no time of the attempt", True,
                   failed(last_refreshed=None).to_hash(), "failed"),
        LatestCase("last success 3 h ago", True, healthy(3 * hours).to_hash(), "stale"),
        LatestCase("last success exactly the max age ago", True,
                   healthy(2 * hours).to_hash(), ""),
        LatestCase("one second past the max age", True,
                   healthy(2 * hours + timedelta(seconds=1)).to_hash(), "stale"),
        LatestCase("a max age of 10 min, 11 min ago", True,
                   healthy(timedelta(minutes=11)).to_hash(), "stale", max_age=600),
        LatestCase("a max age of 10 min, 9 min ago", True,
                   healthy(timedelta(minutes=9)).to_hash(), "", max_age=600),
        LatestCase("pinned, never fetched", True,
                   healthy(last_success=None, last_refreshed=None, pinned=True).to_hash(), "never"),
        LatestCase("the hash holds a newer version", True, behind.to_hash(), "behind"),
        LatestCase("a newer epoch, the same version", True,
                   healthy(epoch=EPOCH + 1, seq=1).to_hash(), ""),
        LatestCase("a newer epoch, another version", True,
                   replace(behind, epoch=EPOCH + 1, seq=1).to_hash(), "behind"),
        LatestCase("a message newer than the last read", True, healthy().to_hash(), "",
                   held={**HELD, "string": "2.3000.1045818044", "seq": 8}),
        LatestCase("last_success malformed: none recorded", True,
                   {**healthy().to_hash(), "last_success": "yesterday"}, "never"),
        LatestCase("a hash with no version yet", True, {"last_error": FAILURE}, "failed"),
    ]  # fmt: skip
    return cases


def python_verdict(case: LatestCase) -> dict[str, Any]:
    """What the Python rule says of `case`, in the form the probes of the other clients
    answer: {"latest", "reason", "message"}."""
    held = PublishedVersion(
        version=WAVersion.parse(str((case.held or HELD)["string"])),
        seq=int((case.held or HELD)["seq"]),
        epoch=int((case.held or HELD)["epoch"]),
        changed_at="",
        source="",
    )
    stored = None if case.hash is None else readable_state(case.hash)
    verdict = judge_latest(held, synced=case.synced, stored=stored, now=NOW, max_age=case.max_age)
    return {"latest": verdict.is_latest, "reason": verdict.reason, "message": verdict.error}
