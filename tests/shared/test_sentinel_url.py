"""A Sentinel deployment named by one URL, read strictly."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.settings import Settings
from wa_version_client._sentinel_url import SentinelTarget, parse_sentinel_url
from wa_version_client.deployment import redis_url_from_env, url_secrets


def test_hosts_service_db_and_credentials_are_read() -> None:
    target = parse_sentinel_url("redis+sentinel://app:p%40ss@10.0.0.1:26379,[::1]:26380/main/2")
    assert target == SentinelTarget(
        sentinels=(("10.0.0.1", 26379), ("::1", 26380)),
        service="main",
        db=2,
        username="app",
        password="p@ss",
    )


def test_tls_and_the_sentinels_own_credentials() -> None:
    url = "rediss+sentinel://:pw@h:1/s?sentinel_password=sp&ssl_cert_reqs=none"
    target = parse_sentinel_url(url)
    assert (target.tls, target.password, target.sentinel_password) == (True, "pw", "sp")
    assert target.ssl_cert_reqs == "none"


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h:26379",  # no service
        "redis+sentinel://h:26379/s/x",  # db not a number
        "redis+sentinel://h/s",  # no port
        "redis+sentinel://h:99999/s",  # not a port
        "redis+sentinel://h:1/s/0/extra",
        "redis+sentinel://h:1/s?sentinel_pasword=typo",  # an unknown option is not ignored
    ],
)
def test_a_malformed_url_is_a_config_error_at_start(url: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"REDIS_URL": url, "ADMIN_SECRET": "x"})


def test_the_environment_adds_the_sentinel_password_and_tls_options() -> None:
    env = {
        "REDIS_URL": "rediss+sentinel://:pw@h:1/s",
        "REDIS_SENTINEL_PASSWORD": "s p&",
        "REDIS_SSL_CERT_REQS": "none",
    }
    target = parse_sentinel_url(redis_url_from_env(env))
    assert (target.sentinel_password, target.ssl_cert_reqs) == ("s p&", "none")


def test_both_passwords_are_secrets_the_logs_mask() -> None:
    url = "redis+sentinel://:data-pw@h:1/s?sentinel_password=sentinel-pw"
    assert set(url_secrets(url)) == {"data-pw", "sentinel-pw"}
    assert {"data-pw", "sentinel-pw"} <= set(Settings(redis_url=url).secrets())


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://:top/secret@h/s",  # no port
        "redis+sentinel://:top@secret@h:1/s/x",
        "redis+sentinel://user:top:secret@h/s",
    ],
)
def test_a_malformed_url_is_refused_without_quoting_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_sentinel_url(url)
    assert "secret" not in str(refused.value)
    assert "top" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://:secret:h1:26379/s",  # the '@' forgotten: no host named ':secret:h1'
        "redis+sentinel://h:1/s#frag",
        "redis+sentinel://h:1/s?sentinel_password=a&sentinel_password=b",
    ],
)
def test_ambiguous_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_sentinel_url(url)


def test_a_slash_in_a_password_before_the_at_stays_in_the_password() -> None:
    target = parse_sentinel_url("redis+sentinel://:pa/ss@h:1/s/3")
    assert (target.password, target.sentinels, target.service, target.db) == (
        "pa/ss",
        (("h", 1),),
        "s",
        3,
    )
