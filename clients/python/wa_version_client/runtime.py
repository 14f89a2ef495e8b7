"""What a long-running program beside the service needs, as the client itself uses it.

- `Backoff` and `Trouble`: how a loop that talks to Redis waits before trying again, and
  how it logs an outage (first failure, each change of cause, the recovery);
  `set_testing(True)` cuts every such wait short, for a test suite (never on by default);
- `cancel_and_wait`: stopping background tasks for sure (redis-py can swallow a cancel);
- `EnvReader` and `parse_duration`: settings from environment variables, strictly;
- `setup_logging`, `JsonFormatter` and `hide`: JSON log lines with secrets masked;
- the defaults of the settings the service and its clients share.

The watcher (`python -m wa_version_client.watch`) is built from these; so is the service.
"""

from wa_version_client._backoff import Backoff, Trouble, set_testing
from wa_version_client._defaults import (
    JOB_STREAM_MAXLEN,
    PREFIX,
    REFRESH_MIN_INTERVAL,
    REFRESH_WAIT,
)
from wa_version_client._durations import parse_duration
from wa_version_client._env import EnvReader
from wa_version_client._logs import MASK, JsonFormatter, hide, setup_logging
from wa_version_client._tasks import cancel_and_wait

__all__ = [
    "JOB_STREAM_MAXLEN",
    "MASK",
    "PREFIX",
    "REFRESH_MIN_INTERVAL",
    "REFRESH_WAIT",
    "Backoff",
    "EnvReader",
    "JsonFormatter",
    "Trouble",
    "cancel_and_wait",
    "hide",
    "parse_duration",
    "set_testing",
    "setup_logging",
]
