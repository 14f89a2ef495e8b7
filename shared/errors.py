"""The exceptions the service raises on purpose, under the contract's.

```
ServiceError                      (wa_version_client.contract.errors)
├── ConfigError, InvalidVersion, MessageError   (the contract's)
├── FetchError             the upstream did not give a usable version
│   └── TransientFetchError   ...but trying again may help (timeouts, 429, 5xx)
├── ResultTimeout          no worker answered a refresh job in time
└── StateConflict          the stored state kept changing under our writes; gave up

redis.exceptions.ConnectionError
└── NotReplicated          a write was not acknowledged by enough replicas in time
```

`NotReplicated` is a Redis ConnectionError on purpose: a write that may not survive a
failover is treated like a Redis that cannot be reached (503, retried, jobs kept pending).
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError

from wa_version_client.contract import ConfigError, InvalidVersion, MessageError, ServiceError

__all__ = [
    "ConfigError",
    "FetchError",
    "InvalidVersion",
    "MessageError",
    "NotReplicated",
    "ResultTimeout",
    "ServiceError",
    "StateConflict",
    "TransientFetchError",
]


class FetchError(ServiceError):
    """The upstream did not give a usable version; retrying will not help."""


class TransientFetchError(FetchError):
    """The upstream failed in a way that may pass: a timeout, a 429 or a 5xx.

    `retry_after` carries the upstream's `Retry-After`, in seconds, when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ResultTimeout(ServiceError):
    """No worker answered a refresh job before its deadline."""


class StateConflict(ServiceError):
    """The stored state changed under every one of a bounded number of writes."""


class NotReplicated(RedisConnectionError):
    """Fewer replicas than REDIS_WAIT_REPLICAS acknowledged a write within its timeout."""
