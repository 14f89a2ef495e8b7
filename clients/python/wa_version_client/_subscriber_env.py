"""What VersionSubscriber.from_env reads from the environment, as constructor options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wa_version_client import _defaults as defaults
from wa_version_client._env import EnvReader
from wa_version_client._from_url import read_from, redis_url_from_env, replica_url_from_env


def options_from_env(env: Mapping[str, str], given: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor's options from `env`; those `given` (a command's flags) win."""
    read = EnvReader(env)
    return {
        "redis_url": redis_url_from_env(read.env),
        "prefix": read.text("REDIS_PREFIX", defaults.PREFIX),
        "report_interval": read.duration("REFRESH_MIN_INTERVAL", defaults.REFRESH_MIN_INTERVAL),
        "refresh_wait": read.duration("REFRESH_WAIT", defaults.REFRESH_WAIT),
        "job_stream_maxlen": read.integer("JOB_STREAM_MAXLEN", defaults.JOB_STREAM_MAXLEN),
        "read_from_replica": read_from(read.text("REDIS_READ_FROM", "primary")),
        "replica_url": replica_url_from_env(read.env),
        "manager_id": read.text("WA_MANAGER_ID") or None,
        **given,
    }
