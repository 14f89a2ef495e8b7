"""Metrics: the workers' counters live in Redis; any web process renders them all.

Workers add to the hash `<prefix>:metrics` inside the same script that writes the state
(no extra round trip), so the figures are cluster-wide totals, whichever worker did the
work and whichever web process Prometheus scrapes. Each web process adds its own
counters (requests by outcome, its subscription's reconnects) from its own registry.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from shared.fleet import Fleet, fleet_metrics
from shared.keys import ServiceKeys
from shared.persistence import UNKNOWN, VERDICTS
from wa_version_client.contract import VersionState
from wa_version_client.deployment import RedisClient, read_state

log = logging.getLogger(__name__)

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class Counts:
    """Additions to the counters hash, made by the write they count (see shared/plan.py)."""

    whole: tuple[tuple[str, int], ...] = ()  # HINCRBY field by
    sums: tuple[tuple[str, float], ...] = ()  # HINCRBYFLOAT field by

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.whole + other.whole, self.sums + other.sums)


NO_COUNTS = Counts()


def fetch_counts(*, ok: bool, seconds: float) -> Counts:
    """One upstream fetch and its duration."""
    bucket = next((f"{le:g}" for le in FETCH_BUCKETS if seconds <= le), "+Inf")
    whole = (("fetches_ok" if ok else "fetches_error", 1), (f"fetch_bucket:{bucket}", 1))
    return Counts(whole, (("fetch_seconds_sum", seconds),))


# A fetch that found an older build than the stored one (a rollout under way).
OLDER_UPSTREAM = Counts((("fetches_older", 1),))


def jobs_counts(answered: str, count: int) -> Counts:
    """Jobs answered: "fetched" (by their own fetch), "coalesced" (by a fetch made for
    another job), or "not_needed" (inside the min interval)."""
    return Counts(((f"jobs_{answered}", count),)) if count else NO_COUNTS


class WebMetrics:
    """This web process's own counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "wa_refresh_requests",
            "Refresh requests answered by this web process, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        # Read when scraped (api/app.py points it at the process's VersionEvents).
        self.event_streams = Gauge(
            "wa_web_event_streams",
            "Event streams this web process serves now (at most MAX_EVENT_STREAMS).",
            registry=self.registry,
        )


async def render(
    redis: RedisClient,
    keys: ServiceKeys,
    web: WebMetrics,
    subscription_losses: int,
    persistence: str = UNKNOWN,
    fleet: Fleet | None = None,
) -> bytes:
    """The Prometheus text: this process's counters and the cluster's, read now;
    `persistence`, what this process last found a Redis restart does to the state;
    `fleet`, the managers as last listed (shared/fleet.py), if they could be."""
    fields: dict[str, str] = await redis.hgetall(keys.metrics)  # type: ignore[assignment]  # decoded
    state = await read_state(redis, keys)
    pending = await _pending(redis, keys)
    dead = await redis.xlen(keys.dead_letter)
    registry = CollectorRegistry(auto_describe=False)
    metrics = _cluster(fields, state, pending, dead, subscription_losses)
    managers = [] if fleet is None else fleet_metrics(fleet, state.version)
    registry.register(_Fixed([*metrics, _persistence(persistence), *managers]))
    return generate_latest(web.registry) + generate_latest(registry)


async def _pending(redis: RedisClient, keys: ServiceKeys) -> int:
    if not await redis.exists(keys.refresh_jobs):
        return 0
    try:
        summary = await redis.xpending(keys.refresh_jobs, keys.workers_group)
    except Exception:
        return 0
    return int(summary["pending"])


def _cluster(
    fields: Mapping[str, str], state: VersionState, pending: int, dead: int, losses: int
) -> list[Metric]:
    number = _reader(fields)
    return [
        *_upstream(number),
        *_jobs(number, pending, dead),
        *_version(state),
        CounterMetricFamily(
            "wa_subscription_reconnects",
            "Times this web process's result subscription lost Redis and reconnected.",
            losses,
        ),
    ]


def _reader(fields: Mapping[str, str]) -> Callable[[str], float]:
    """A reader of the counters hash; a field that is no number is logged and read as 0."""

    def number(name: str) -> float:
        raw = fields.get(name) or "0"
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value):
            log.warning("the metrics hash holds %s=%r, not a number: read as 0", name, raw[:20])
            return 0.0
        return value

    return number


def _upstream(number: Callable[[str], float]) -> list[Metric]:
    fetches = CounterMetricFamily(
        "wa_upstream_fetches", "Upstream fetches by all workers, by outcome.", labels=["outcome"]
    )
    fetches.add_metric(["ok"], number("fetches_ok"))
    fetches.add_metric(["error"], number("fetches_error"))
    older = CounterMetricFamily(
        "wa_upstream_older",
        "Successful fetches that found an older build than the stored version (a rollout "
        "serving builds back to back); the stored version was kept.",
        number("fetches_older"),
    )
    buckets, total = [], 0.0
    for le in [*(f"{b:g}" for b in FETCH_BUCKETS), "+Inf"]:
        total += number(f"fetch_bucket:{le}")
        buckets.append((le, total))
    latency = HistogramMetricFamily(
        "wa_upstream_fetch_seconds",
        "How long upstream fetches took, retries included.",
        buckets=buckets,
        sum_value=number("fetch_seconds_sum"),
    )
    return [fetches, older, latency]


def _jobs(number: Callable[[str], float], pending: int, dead: int) -> list[Metric]:
    jobs = CounterMetricFamily(
        "wa_refresh_jobs",
        "Refresh jobs answered by all workers: by their own fetch, by a fetch made for "
        "another job (coalesced), or without one (inside the min interval).",
        labels=["answered"],
    )
    for answered in ("fetched", "coalesced", "not_needed"):
        jobs.add_metric([answered], number(f"jobs_{answered}"))
    waiting = GaugeMetricFamily(
        "wa_refresh_jobs_pending", "Jobs delivered to a worker and not yet answered.", pending
    )
    dead_letters = GaugeMetricFamily(
        "wa_refresh_jobs_dead", "Jobs set aside after too many deliveries.", dead
    )
    return [jobs, waiting, dead_letters]


def _version(state: VersionState) -> list[Metric]:
    info = InfoMetricFamily("wa_version", "The version new connections use.")
    version = "" if state.version is None else str(state.version)
    info.add_metric([], {"version": version, "pinned": "true" if state.pinned else "false"})
    seq = GaugeMetricFamily("wa_version_seq", "Changes of the version in this epoch.", state.seq)
    return [info, seq]


def _persistence(verdict: str) -> Metric:
    """One of the states is 1 (the enum pattern): alert on `wa_redis_persistence{state=
    "lost"} == 1`."""
    gauge = GaugeMetricFamily(
        "wa_redis_persistence",
        "What a restart of the Redis server holding the state does to it (and to a pin),"
        " as this web process last checked (at start and after each reconnect): kept (AOF"
        " or RDB save points), lost (neither), unknown (CONFIG refused and AOF off, or not"
        " checked yet). The state it is in is 1.",
        labels=["state"],
    )
    for state in VERDICTS:
        gauge.add_metric([state], 1.0 if state == verdict else 0.0)
    return gauge


class _Fixed(Collector):
    def __init__(self, metrics: Sequence[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self._metrics
