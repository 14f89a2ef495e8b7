"""GET /metrics: Prometheus text that the prometheus client parses, with the cluster's figures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.conftest import SECRET, SettingsFactory
from tests.support import AUTH, REFRESH, app_client, assert_failure, running_worker

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    parsed: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


@pytest.fixture
async def api(make_settings: SettingsFactory) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(metrics_token="scrape-token")
    async with running_worker(settings), app_client(settings) as client:
        yield client


@pytest.mark.server_sensitive
async def test_metrics_count_requests_fetches_jobs_and_show_the_version(
    api: httpx.AsyncClient, upstream: StubUpstream
) -> None:
    await api.post(REFRESH, headers=AUTH)
    await api.post(REFRESH, params={"force": "false"}, headers=AUTH)
    upstream.configure(status=404)
    await api.post(REFRESH, headers=AUTH)
    response = await api.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("wa_refresh_requests_total", (("outcome", "refreshed"),))] == 1
    assert found[("wa_refresh_requests_total", (("outcome", "not_needed"),))] == 1
    assert found[("wa_refresh_requests_total", (("outcome", "failed"),))] == 1
    assert found[("wa_upstream_fetches_total", (("outcome", "ok"),))] == 1
    assert found[("wa_upstream_fetches_total", (("outcome", "error"),))] == 1
    assert found[("wa_upstream_fetch_seconds_count", ())] == 2
    assert found[("wa_upstream_fetch_seconds_bucket", (("le", "+Inf"),))] == 2
    assert found[("wa_refresh_jobs_total", (("answered", "fetched"),))] == 2
    version = (("pinned", "false"), ("version", "2.3000.1026131876"))
    assert found[("wa_version_info", version)] == 1
    assert found[("wa_refresh_jobs_pending", ())] == 0
    assert SECRET not in response.text


async def test_a_bearer_token_is_enough_for_metrics(api: httpx.AsyncClient) -> None:
    """Prometheus can scrape with METRICS_TOKEN instead of the admin secret."""
    response = await api.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert response.status_code == 200
    assert "wa_upstream_fetches_total" in response.text


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_metrics_need_a_secret(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await api.get("/metrics", headers=headers)
    assert_failure(response, 401, "Unauthorized", "Invalid or missing authentication")


async def test_the_token_opens_nothing_but_metrics(api: httpx.AsyncClient) -> None:
    response = await api.post(REFRESH, headers={"Authorization": "Bearer scrape-token"})
    assert response.status_code == 401


async def test_a_garbled_counter_is_read_as_zero_not_a_500(
    api: httpx.AsyncClient, redis: Redis, keys: ServiceKeys
) -> None:
    """A counters hash holding text (a hand-typed HSET): /metrics still answers, that
    counter as 0 and the others as they are."""
    await redis.hset(keys.metrics, mapping={"fetches_ok": "lots", "fetches_error": "3"})
    response = await api.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert 'wa_upstream_fetches_total{outcome="ok"} 0.0' in response.text
    assert 'wa_upstream_fetches_total{outcome="error"} 3.0' in response.text
