"""The operator's actions, as both the JSON API and the admin page take them: each calls
the refresh client or commits one transition (shared/transitions.py), nothing more."""

from __future__ import annotations

from api.envelope import ApiError
from api.services import Services
from shared import transitions
from shared.errors import ResultTimeout
from shared.job_results import JobResult
from wa_version_client.contract import VersionState, WAVersion, utc_now


async def refresh(services: Services, *, force: bool) -> JobResult:
    """The worker's answer to a refresh, counted by outcome; 504 or 500 `ApiError` when
    no worker answered or the refresh failed."""
    outcomes = services.metrics.requests
    try:
        result = await services.refresh.refresh(force=force)
    except ResultTimeout as exc:
        outcomes.labels("timeout").inc()
        raise ApiError(504, str(exc)) from None
    if result.error:
        outcomes.labels("failed").inc()
        raise ApiError(500, result.error, message="Failed to refresh WhatsApp Web version")
    outcomes.labels("refreshed" if result.refreshed else "not_needed").inc()
    return result


async def pin(services: Services, version: WAVersion) -> VersionState:
    """Pin a version: applied and announced now; fetches stop applying until unpinned."""
    now = utc_now()
    applied = await services.store.commit(lambda state: transitions.pinned(state, version, now))
    return applied.state


async def unpin(services: Services) -> VersionState:
    """Unpin: the version upstream reported last applies, and a forced refresh is asked
    for (not awaited), so the state soon reflects upstream now."""
    now = utc_now()
    applied = await services.store.commit(lambda state: transitions.unpinned(state, now))
    await services.refresh.request(force=True)
    return applied.state
