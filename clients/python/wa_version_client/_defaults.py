"""The defaults the service and its clients share, so both read the same environment alike."""

from __future__ import annotations

PREFIX = "whatsapp"
# A force=false refresh inside this interval fetches nothing; reports are muted this long.
REFRESH_MIN_INTERVAL = 600.0
# How long a caller waits for a worker's answer.
REFRESH_WAIT = 25.0
# The job stream keeps about this many jobs.
JOB_STREAM_MAXLEN = 10_000
