"""1,000 unauthenticated requests at once: the web's Redis connections and the time each
request takes.

    python -m bench.unauthenticated_flood [--requests 1000] [--rounds 3] [--pool N]

Starts redis-server and a Procfile web process behind one trusted proxy
(TRUSTED_PROXY_HOPS=1, as on Heroku), then sends --requests wrong guesses at once, each
on a connection of its own and forwarded for an address of its own, so that the brake
counts every one in Redis (devtools/flood.py). Redis's connected_clients is sampled
every few milliseconds meanwhile; the peak is reported with the connections Redis
accepted during the round. --pool sets WEB_REDIS_CONNECTIONS (unset: the default).
Prints one line per round and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter

from bench.harness import System, percentile, raise_open_files_limit
from devtools.flood import flood
from wa_version_client.deployment import connect_server


async def one_round(redis_url: str, port: int, requests: int) -> dict[str, object]:
    redis = connect_server(redis_url, max_connections=1)
    try:
        before = int((await redis.info("stats"))["total_connections_received"])
        base = int((await redis.info("clients"))["connected_clients"])
        peak = base
        started = time.perf_counter()
        sending = asyncio.create_task(flood(port, requests))
        while not sending.done():
            peak = max(peak, int((await redis.info("clients"))["connected_clients"]))
            await asyncio.sleep(0.005)  # sampling, for as long as the flood lasts
        answers = sending.result()
        wall = time.perf_counter() - started
        accepted = int((await redis.info("stats"))["total_connections_received"]) - before
    finally:
        await redis.aclose()
    seconds = [s for _, s in answers]
    return {
        "statuses": {str(k): v for k, v in Counter(s for s, _ in answers).items()},
        "redis_clients_peak": peak,
        "redis_clients_before": base,
        "redis_connections_opened": accepted,
        "request_p50_ms": round(percentile(seconds, 0.5) * 1000, 1),
        "request_p99_ms": round(percentile(seconds, 0.99) * 1000, 1),
        "request_max_ms": round(max(seconds) * 1000, 1),
        "wall_ms_per_request": round(wall * 1000 / requests, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=0)
    args = parser.parse_args()
    raise_open_files_limit()
    pool = {"WEB_REDIS_CONNECTIONS": str(args.pool)} if args.pool else {}
    rounds = []
    with System() as system:
        _, base = system.start_web(TRUSTED_PROXY_HOPS="1", **pool)
        port = int(base.rsplit(":", 1)[1])
        for number in range(args.rounds):
            figures = asyncio.run(one_round(system.redis.url, port, args.requests))
            print(f"round {number + 1}: {figures}")
            rounds.append(figures)
    summary = {
        "requests": args.requests,
        "redis_clients_peak": max(int(str(r["redis_clients_peak"])) for r in rounds),
        "request_p50_ms": round(
            statistics.median(float(str(r["request_p50_ms"])) for r in rounds), 1
        ),
        "request_p99_ms": round(
            statistics.median(float(str(r["request_p99_ms"])) for r in rounds), 1
        ),
        "wall_ms_per_request": statistics.median(
            float(str(r["wall_ms_per_request"])) for r in rounds
        ),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
