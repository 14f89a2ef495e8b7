"""Rows of `python -m bench` measured by the standalone scripts (bench.fleet,
bench.event_delay), each in deployments of its own: kept here so the suite's `run()`
stays one readable script. Each function returns the rows it measured, as
(figure, measured, compared with, goal)."""

from __future__ import annotations

import statistics

from bench import event_delay, fleet

Row = tuple[str, str, str, str]
DEPLOYMENTS = {"single": "one server", "cluster": "a cluster of 3 primaries + 3 replicas"}


def fleet_rows(managers: int, runs: int) -> list[Row]:
    """GET /admin/whatsapp/fleet's build on a cache miss, on one server and on a cluster."""
    rows = []
    for deployment, described in DEPLOYMENTS.items():
        figures = fleet.measure_on(deployment, managers, runs)
        rows.append(
            (
                f"fleet of {managers:,} named managers built on {described}, "
                "build / event loop stall / Redis CPU",
                f"{figures['build_ms_median']} ms / {figures['loop_stall_ms_median']} ms / "
                f"{figures['redis_cpu_ms_median']} ms",
                f"CLIENT LIST and its parse {figures['client_list_ms_median']} ms of the "
                f"build; {figures['managers']:,} found; median of {runs} run(s)",
                "≤ 1 s / ≤ 50 ms / ≤ 50 ms at 10,000",
            )
        )
    return rows


def event_delay_rows(streams: int, changes: int, repeats: int) -> list[Row]:
    """A version change to the event of every open stream, median over `repeats` runs."""
    runs = [event_delay.measure_streams(streams, changes) for _ in range(repeats)]

    def median(name: str) -> float:
        return statistics.median(run[name] for run in runs)

    return [
        (
            f"change → SSE event, {streams:,} streams open, p50 / p99",
            f"{median('from_redis_p50_ms'):.1f} / {median('from_redis_p99_ms'):.1f} ms",
            f"from the refresh request {median('from_request_p50_ms'):.1f} / "
            f"{median('from_request_p99_ms'):.1f} ms; {changes} changes a run",
            "p99 ≤ 100 ms",
        )
    ]
