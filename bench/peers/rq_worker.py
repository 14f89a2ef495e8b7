"""`python -m bench.peers.rq_worker REDIS_URL`: an rq SimpleWorker (jobs run in-process)."""

from __future__ import annotations

import sys

import redis
from rq import Queue, SimpleWorker

connection = redis.Redis.from_url(sys.argv[1])
SimpleWorker([Queue("bench", connection=connection)], connection=connection).work()
