"""`python -m worker refresh [--no-force]`: one refresh from a shell or a scheduler.

It enqueues a job for the running workers and waits for their answer, as the API does,
and prints the answer as JSON on stdout. Exit status: 0 refreshed (or recent enough),
1 the refresh failed, 2 a setting is wrong, 3 no worker answered in time, 4 Redis could
not be reached (or refused); each failure is one line on stderr.
"""

from __future__ import annotations

import json
import sys

from redis.exceptions import RedisError

from shared.errors import ResultTimeout
from shared.keys import ServiceKeys
from shared.refresh_client import refresh_client
from shared.settings import Settings
from wa_version_client.deployment import connect, describe


async def refresh_once(settings: Settings, *, force: bool) -> int:
    redis = connect(settings.redis_url)
    keys = ServiceKeys(settings.redis_prefix)
    try:
        async with refresh_client(redis, keys, settings) as client:
            result = await client.refresh(force=force)
    except ResultTimeout as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 3
    except RedisError as exc:
        print(json.dumps({"error": f"Redis: {describe(exc)}"}), file=sys.stderr)
        return 4
    finally:
        await redis.aclose()
    print(
        json.dumps({"refreshed": result.refreshed, "error": result.error, **result.state.to_json()})
    )
    return 1 if result.error else 0
