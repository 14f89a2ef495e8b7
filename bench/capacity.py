"""A capacity model, on paper, from the costs `python -m bench` measured in the same run.

What one Redis server (a primary, or a replica that subscribers read from) spends on
each connection manager, and so how many it serves and what a fleet of 100,000 needs.
Every figure below is computed from the run's measurements; the assumptions are stated
in the text, so the arithmetic can be checked and redone with other budgets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from bench.fanout import Figures

STORM_BUDGET_S = 2.0  # a restarted server absorbs the whole fleet's reconnection in this
CORE_SHARE = 1.0  # of one core: Redis runs commands on one thread
FLEET = 100_000


def model(fleet: Sequence[Figures], idle: Mapping[str, float]) -> str:
    """The capacity section of BENCHMARKS.md, from the fan-out runs and the footprint."""
    # The most expensive size measured, per subscriber: the conservative figure.
    reconnect_us = max(f.restart.redis_cpu_ms * 1000 / f.subscribers for f in fleet)
    message_us = max(f.ours.redis_cpu_ms * 1000 / f.subscribers for f in fleet)
    idle_kb, fresh_kb = idle["redis_kb"], idle["fresh_kb"]
    per_server = int(STORM_BUDGET_S * CORE_SHARE * 1e6 / reconnect_us)
    per_server = 1000 * (per_server // 1000)  # rounded down to a thousand
    servers = math.ceil(FLEET / per_server)
    largest = max(fleet, key=lambda f: f.subscribers)
    return f"""
## Capacity model

Measured in this run, per connection manager (one subscriber, one connection):

| cost on the Redis side | figure | from |
|---|---|---|
| memory, idle connection | {idle_kb:.1f} KB | footprint: `INFO memory` added / connections |
| memory, just (re)connected | {fresh_kb:.1f} KB | the same, before the reply buffer shrinks |
| CPU per change delivered | {message_us:.1f} µs | fan-out: Redis's CPU per change / subscribers |
| CPU per reconnection | {reconnect_us:.0f} µs | restart: Redis's CPU to converge / subscribers |

Assumptions: a change is rare (WhatsApp Web moves a few times a day), so delivery is
cheap ({message_us:.1f} µs x {FLEET:,} = {message_us * FLEET / 1000:.0f} ms of CPU per
change, shared by the servers the fleet is spread over); what limits a server is the
fleet coming back after it restarts, when every manager reconnects, subscribes and
reads the hash at once. The budget: a server
absorbs that within {STORM_BUDGET_S:.0f} s of one core (Redis executes commands on one
thread), with memory for every connection at its just-connected size.

- **One server (primary or replica) serves about {per_server:,} managers**:
  {STORM_BUDGET_S:.0f} s / {reconnect_us:.0f} µs per reconnection, rounded down. Their
  connections hold {per_server * idle_kb / 1024:.0f} MB idle and up to
  {per_server * fresh_kb / 1024:.0f} MB during the reconnection. Raise `maxclients`
  (10,000 by default) and the server's open-file limit to match.
- **Subscribers on replicas.** A replica receives every PUBLISH through replication and
  serves the hash, so managers reading from replicas (`REDIS_READ_FROM=replica` or
  `REDIS_REPLICA_URL`) add nothing to the primary but the rare 405 report. Each replica
  serves the same {per_server:,}.
- **A fleet of {FLEET:,} managers** needs {servers} servers' worth of subscribers: for
  instance a primary (which also serves the web and worker) and {servers} replicas with
  the managers spread over the replicas, or over a cluster's primaries and replicas (a
  cluster's PUBLISH reaches every node). Idle, that is
  {FLEET * idle_kb / 1024:.0f} MB of connections in all.
- The model is linear, and was measured up to {largest.subscribers:,} subscribers on
  one server (on this 2-core machine, where the subscribers' processes compete with
  Redis for the cores; a real fleet's managers run elsewhere). A budget of 5 s instead of
  {STORM_BUDGET_S:.0f} s serves 2.5 times as many per server.
"""
