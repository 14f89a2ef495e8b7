"""The exceptions this project raises on purpose.

```
ServiceError
├── ConfigError        a setting is missing or malformed; the process refuses to start
├── InvalidVersion     a value is not a WhatsApp Web version (also a ValueError)
├── MessageError       a message read from Redis does not decode (also a ValueError)
├── FetchError         the upstream did not give a usable version
│   └── TransientFetchError   ...but trying again may help (timeouts, 429, 5xx)
├── ResultTimeout      no worker answered a refresh job in time
└── StateConflict      the stored state kept changing under our writes; gave up
```

Every message is written for the person who reads the envelope or the log:
it says what failed and never contains a secret.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(ServiceError):
    """A setting is missing or malformed."""


class InvalidVersion(ServiceError, ValueError):
    """A value is not a WhatsApp Web version."""


class MessageError(ServiceError, ValueError):
    """A message or stored record does not decode."""


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
