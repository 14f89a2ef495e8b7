"""The lower bound of any queued design: the same refresh done in the request handler.

`python -m bench.baseline --port P` serves `POST /refresh`, which fetches and records
the version in-process (the worker's own Refresher: the same fetch and the same write)
and answers like the real API. No stream, no worker, no result channel.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.keys import ServiceKeys
from shared.plan import NO_REPLY
from shared.settings import Settings
from shared.store import StateStore
from wa_version_client.deployment import connect
from worker.fetch import VersionFetcher
from worker.refresher import Refresher


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Refresher]]:
        redis = connect(settings.redis_url)
        async with httpx.AsyncClient(timeout=settings.fetch_timeout) as http:
            fetcher = VersionFetcher(settings, http)
            store = StateStore(redis, ServiceKeys(settings.redis_prefix))
            yield {"refresher": Refresher(store, fetcher, 0)}
        await redis.aclose()

    async def refresh(request: Request) -> JSONResponse:
        refresher: Refresher = request.state.refresher
        # The worker's own steps, for a batch of no jobs: fetch, then record (one write).
        result = await refresher.record(await refresher.fetch(), NO_REPLY)
        data = {"refreshed": True, **result.state.to_json()}
        return JSONResponse({"status": True, "code": 200, "message": "ok", "data": data})

    return Starlette(routes=[Route("/refresh", refresh, methods=["POST"])], lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description="In-process refresh behind one HTTP hop.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(Settings.from_env())
    # The same logging as the Procfile's web (uvicorn's default: an access line per request).
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
