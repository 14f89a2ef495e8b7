"""`python -m bench.job_flood --jobs N`: a job stream flooded with N queued refresh jobs.

Starts redis-server (REDIS_SERVER names which) and the stub upstream, XADDs N forced jobs
straight into the stream (as N callers at once would, or a backlog a stopped worker left),
then starts one Procfile worker and measures, from its start, the time until every job is
read and none is pending, the upstream fetches it made (the stub counts them) and the jobs
it counted as answered. `--upstream-delay S` makes each fetch take S seconds (WhatsApp
takes 0.3 to 1 s; the stub answers at once by default). Every job is queued before the
worker's first fetch begins, so each of them may be answered by that fetch (README: a
forced refresh gets a fetch that ended after it arrived).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

from bench.harness import System
from shared.keys import ServiceKeys
from wa_version_client.contract import RefreshJob, epoch_ms

PIPELINE = 10_000  # XADDs per round trip while flooding
WITHIN = 3600.0  # seconds the worker gets before the run counts as failed


def flood(redis: Redis, keys: ServiceKeys, jobs: int) -> None:
    """XADD `jobs` forced jobs that stay wanted for the whole run."""
    deadline = epoch_ms() + int(WITHIN * 1000)
    for start in range(0, jobs, PIPELINE):
        pipe = redis.pipeline(transaction=False)
        for _ in range(min(PIPELINE, jobs - start)):
            fields: Any = RefreshJob.new(force=True, deadline_ms=deadline).to_fields()
            pipe.xadd(keys.refresh_jobs, fields)
        pipe.execute()


def drained(redis: Redis, keys: ServiceKeys) -> bool:
    """Whether the workers' group has read every job and left none pending."""
    try:
        groups: Any = redis.xinfo_groups(keys.refresh_jobs)
    except ResponseError:
        return False
    newest: Any = redis.xrevrange(keys.refresh_jobs, count=1)
    return (
        bool(groups)
        and groups[0]["last-delivered-id"] == newest[0][0]
        and not int(groups[0]["pending"])
    )


def run(jobs: int, upstream_delay: float = 0.0) -> dict[str, float]:
    keys = ServiceKeys("whatsapp")
    with System() as system:
        system.configure_stub(delay=upstream_delay)
        redis = Redis.from_url(system.redis.url, decode_responses=True)
        flood(redis, keys, jobs)
        started = time.monotonic()
        worker = system.start("worker")
        while not drained(redis, keys):
            if worker.popen.poll() is not None:
                raise SystemExit(f"the worker exited:\n{worker.output[-4000:]}")
            if time.monotonic() - started > WITHIN:
                raise SystemExit(f"not drained within {WITHIN:g}s")
            time.sleep(0.05)  # polling the stream's state, bounded by WITHIN
        seconds = time.monotonic() - started
        counted = redis.hgetall(keys.metrics)
        answered = int(counted.get("jobs_fetched", 0)) + int(counted.get("jobs_coalesced", 0))
        figures = {
            "jobs": jobs,
            "fetches": system.fetches,
            "seconds": round(seconds, 1),
            "answered": answered,
            "dead_letters": redis.xlen(keys.dead_letter),
        }
        redis.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.job_flood", description=__doc__)
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs queued before the worker")
    parser.add_argument(
        "--upstream-delay", type=float, default=0.0, help="seconds the stub takes per fetch"
    )
    args = parser.parse_args()
    figures = run(args.jobs, args.upstream_delay)
    print(" ".join(f"{name}={value}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
