"""A Redis Cluster named by one URL, read strictly; the prefix must keep every key in one
slot."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.cluster import LoadBalancingStrategy
from redis.crc import key_slot

from shared.errors import ConfigError
from shared.keys import ServiceKeys
from shared.settings import Settings
from wa_version_client import VersionSubscriber
from wa_version_client._cluster import require_hash_tag
from wa_version_client._cluster_url import ClusterTarget, parse_cluster_url
from wa_version_client.deployment import connect, connect_server, redis_url_from_env, url_secrets

TAGGED = {"REDIS_URL": "redis+cluster://h:7000", "REDIS_PREFIX": "{whatsapp}", "ADMIN_SECRET": "x"}


def test_nodes_and_credentials_are_read() -> None:
    target = parse_cluster_url("redis+cluster://app:p%40ss@10.0.0.1:7000,[::1]:7001/0")
    assert target == ClusterTarget(
        nodes=(("10.0.0.1", 7000), ("::1", 7001)), username="app", password="p@ss"
    )


def test_tls_and_its_options() -> None:
    target = parse_cluster_url("rediss+cluster://:pw@h:7000?ssl_cert_reqs=none")
    assert (target.tls, target.password, target.ssl_cert_reqs) == (True, "pw", "none")


def test_the_environment_adds_the_tls_options() -> None:
    env = {"REDIS_URL": "rediss+cluster://h:7000", "REDIS_SSL_CERT_REQS": "none"}
    assert parse_cluster_url(redis_url_from_env(env)).ssl_cert_reqs == "none"


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://h",  # no port
        "redis+cluster://h:7000/1",  # a cluster has db 0 only
        "redis+cluster://h:7000/service",  # a Sentinel-style path
        "redis+cluster://h:7000?sentinel_password=x",  # an option clusters do not take
        "redis+cluster://h:7000,",  # an empty host
        "redis+cluster://bad host:7000",  # a space in a host
        "redis+cluster://h:0",  # not a port
    ],
)
def test_a_malformed_url_is_a_config_error_at_start(url: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({**TAGGED, "REDIS_URL": url})


@pytest.mark.parametrize(
    "url",
    ["redis+cluster://user:1234?secretTAIL@h:7000", "redis+cluster://u:1234?ssl_cert_reqs=s@h:1"],
)
def test_a_raw_question_mark_in_a_password_is_refused_without_quoting_it(url: str) -> None:
    """Read as the start of the options, a password's tail would be quoted back in the
    error, or the password taken for a host and port and so never masked."""
    with pytest.raises(ConfigError, match="%3F") as refused:
        Settings.from_env({**TAGGED, "REDIS_URL": url})
    assert "secret" not in str(refused.value)
    assert "1234" not in str(refused.value)


def test_the_suggested_prefix_is_itself_accepted() -> None:
    """The refusal names a prefix that works: the old one without braces, in braces."""
    for prefix in ["}{", "}{}", "whatsapp", "x" * 100]:
        with pytest.raises(ConfigError) as refused:
            require_hash_tag(prefix)
        suggested = str(refused.value).split("REDIS_PREFIX=")[1].split(" ")[0]
        require_hash_tag(suggested)


def test_the_password_is_a_secret_the_logs_mask() -> None:
    url = "redis+cluster://:data-pw@h:7000"
    assert url_secrets(url) == ("data-pw",)
    assert "data-pw" in Settings(redis_url=url, redis_prefix="{w}").secrets()


@pytest.mark.parametrize("prefix", ["{whatsapp}", "app:{whatsapp}", "{w}x"])
def test_a_hash_tagged_prefix_puts_every_key_in_one_slot(prefix: str) -> None:
    require_hash_tag(prefix)
    keys = ServiceKeys(prefix)
    names = [keys.version, keys.version_changed, keys.history, keys.refresh_jobs,
             keys.dead_letter, keys.refresh_results, keys.refresh_result("j1"),
             keys.outdated_report, keys.auth_failures("10.0.0.1"), keys.auto_refresh,
             keys.metrics, keys.worker_heartbeats, keys.worker_lease]  # fmt: skip
    assert len({key_slot(name.encode()) for name in names}) == 1


@pytest.mark.parametrize("prefix", ["whatsapp", "{}whatsapp", "whats}app{", "{whatsapp"])
def test_a_prefix_without_a_hash_tag_is_refused_on_a_cluster(prefix: str) -> None:
    with pytest.raises(ConfigError, match=r"REDIS_PREFIX=\{"):
        Settings.from_env({**TAGGED, "REDIS_PREFIX": prefix})
    with pytest.raises(ConfigError):
        VersionSubscriber("redis+cluster://h:7000", prefix=prefix)


def test_the_default_prefix_still_serves_a_single_server() -> None:
    assert Settings.from_env({"ADMIN_SECRET": "x"}).redis_prefix == "whatsapp"


def test_waiting_for_replicas_is_refused_on_a_cluster() -> None:
    with pytest.raises(ConfigError, match="REDIS_WAIT_REPLICAS"):
        Settings.from_env({**TAGGED, "REDIS_WAIT_REPLICAS": "1"})


async def test_a_cluster_url_connects_a_cluster_client_that_reads_replicas_when_asked() -> None:
    primary = connect("redis+cluster://h.invalid:7000", max_connections=4)
    reader = connect("redis+cluster://h.invalid:7000", max_connections=4, replica=True)
    try:
        assert isinstance(primary, RedisCluster)
        assert isinstance(reader, RedisCluster)
        assert primary.load_balancing_strategy is None
        assert reader.load_balancing_strategy is LoadBalancingStrategy.RANDOM_REPLICA
    finally:
        await primary.aclose()
        await reader.aclose()
    with pytest.raises(ConfigError):
        connect_server("redis+cluster://h.invalid:7000")
