"""The exceptions of the contract: what reading or writing its data can raise.

```
ServiceError               (shared/errors.py adds the service's own under it)
├── ConfigError            a setting is missing or malformed; the process refuses to start
├── InvalidVersion         a value is not a WhatsApp Web version (also a ValueError)
└── MessageError           something read from Redis does not decode (also a ValueError)
```

Every message is written for the person who reads the envelope or the log: it says what
failed and never contains a secret.
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
