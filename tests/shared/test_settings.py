"""Settings read from the environment, and durations as people write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.settings import DEFAULT_VERSION_URLS, Settings
from wa_version_client import VersionSubscriber
from wa_version_client.deployment import DEFAULT_REDIS_URL, connect_server
from wa_version_client.runtime import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("30s", 30.0), ("10m", 600.0), ("1h", 3600.0), ("250ms", 0.25), ("0", 0.0)],
)
def test_durations_accept_seconds_and_units(text: str, seconds: float) -> None:
    """A bare number is seconds; ms, s, m and h are understood."""
    assert parse_duration("X", text) == seconds


@pytest.mark.parametrize("text", ["ten", "-5", "5d", "1h30", ""])
def test_bad_durations_name_the_setting(text: str) -> None:
    """A malformed duration is a ConfigError that says which setting is wrong."""
    with pytest.raises(ConfigError, match="REFRESH_MIN_INTERVAL"):
        parse_duration("REFRESH_MIN_INTERVAL", text)


def test_defaults_without_environment() -> None:
    """With nothing set: local Redis, WhatsApp's sw.js then home page, a 10 minute interval."""
    settings = Settings.from_env({})
    assert settings.redis_url == DEFAULT_REDIS_URL
    assert settings.version_urls == DEFAULT_VERSION_URLS
    assert settings.refresh_min_interval == 600
    assert settings.redis_prefix == "whatsapp"


def test_reads_every_documented_variable() -> None:
    """The environment variables map onto the settings."""
    settings = Settings.from_env(
        {
            "REDIS_URL": "rediss://:pw@example.invalid:6380/0",
            "ADMIN_SECRET": "s3cret",
            "WA_VERSION_URL": " https://a.invalid/sw.js , file:///srv/sw.js ",
            "REFRESH_MIN_INTERVAL": "30s",
            "REDIS_PREFIX": "wa",
        }
    )
    assert settings.redis_url == "rediss://:pw@example.invalid:6380/0"
    assert settings.admin_secret == "s3cret"
    assert settings.version_urls == ("https://a.invalid/sw.js", "file:///srv/sw.js")
    assert settings.refresh_min_interval == 30
    assert settings.redis_prefix == "wa"


def test_the_web_limits_are_read() -> None:
    """The web's deadlines, connection bounds and Redis pool: documented defaults, and
    the environment's values."""
    defaults = Settings.from_env({})
    assert (defaults.header_timeout, defaults.body_timeout) == (10, 10)
    assert (defaults.max_connections, defaults.max_connections_per_address) == (2000, 100)
    assert defaults.web_redis_connections == 16
    settings = Settings.from_env(
        {
            "HEADER_TIMEOUT": "2s",
            "BODY_TIMEOUT": "500ms",
            "MAX_CONNECTIONS": "50",
            "MAX_CONNECTIONS_PER_ADDRESS": "0",
            "WEB_REDIS_CONNECTIONS": "4",
        }
    )
    assert (settings.header_timeout, settings.body_timeout) == (2, 0.5)
    assert (settings.max_connections, settings.max_connections_per_address) == (50, 0)
    assert settings.web_redis_connections == 4


def test_redis_tls_url_is_the_fallback() -> None:
    """Heroku sets REDIS_TLS_URL on some plans; it is used when REDIS_URL is absent."""
    settings = Settings.from_env({"REDIS_TLS_URL": "rediss://h.invalid:1/0"})
    assert settings.redis_url == "rediss://h.invalid:1/0"


def test_secret_is_not_in_the_repr() -> None:
    """Printing the settings (in a log or traceback) never shows the admin secret."""
    assert "s3cret" not in repr(Settings.from_env({"ADMIN_SECRET": "s3cret"}))


def test_the_session_key_follows_the_admin_secret_unless_given() -> None:
    """Derived: the same in every process, another after a rotation, never the secret
    itself; SESSION_SECRET, when set, is used as it is, hidden like the others."""
    one = Settings.from_env({"ADMIN_SECRET": "s3cret"}).session_key()
    assert one == Settings.from_env({"ADMIN_SECRET": "s3cret"}).session_key()
    assert one != Settings.from_env({"ADMIN_SECRET": "other"}).session_key()
    assert "s3cret" not in one
    given = Settings.from_env({"ADMIN_SECRET": "s3cret", "SESSION_SECRET": "signing"})
    assert given.session_key() == "signing"
    assert "signing" in given.secrets()
    assert "signing" not in repr(given)


def test_missing_secret_is_refused_for_the_web_process() -> None:
    """require_admin_secret explains what is missing."""
    with pytest.raises(ConfigError, match="ADMIN_SECRET is not set"):
        Settings.from_env({}).require_admin_secret()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WA_VERSION_URL": "ftp://x/sw.js"}, "not http"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"REFRESH_DEADLINE": "40s"}, "REFRESH_WAIT must be longer"),
        ({"FETCH_ATTEMPTS": "0"}, "FETCH_ATTEMPTS"),
        ({"BODY_TIMEOUT": "0"}, "BODY_TIMEOUT"),
        ({"MAX_CONNECTIONS": "0"}, "MAX_CONNECTIONS"),
        ({"WEB_REDIS_CONNECTIONS": "0"}, "WEB_REDIS_CONNECTIONS"),
    ],
)
def test_impossible_settings_are_refused(env: dict[str, str], message: str) -> None:
    """Settings that cannot work stop the process with a message naming the setting."""
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rediss://:pw@h.invalid:6380", "rediss://:pw@h.invalid:6380?ssl_cert_reqs=none"),
        ("rediss://h.invalid:6380/0?db=1", "rediss://h.invalid:6380/0?db=1&ssl_cert_reqs=none"),
        ("rediss://h.invalid?ssl_cert_reqs=required", "rediss://h.invalid?ssl_cert_reqs=required"),
        ("redis://h.invalid:6379", "redis://h.invalid:6379"),
    ],
)
def test_heroku_tls_certificate_check_can_be_relaxed(url: str, expected: str) -> None:
    """REDIS_SSL_CERT_REQS=none accepts Heroku's self-signed certificate on rediss:// URLs."""
    settings = Settings.from_env({"REDIS_URL": url, "REDIS_SSL_CERT_REQS": "none"})
    assert settings.redis_url == expected


def test_redis_py_reads_the_certificate_check_from_the_url() -> None:
    """ssl_cert_reqs=none in the URL reaches the connections redis-py makes."""
    client = connect_server("rediss://h.invalid:6380/0?ssl_cert_reqs=none")
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["ssl_cert_reqs"] == "none"
    assert client.connection_pool.connection_class.__name__ == "SSLConnection"


def test_a_ca_bundle_is_added_to_a_tls_url(tmp_path: Path) -> None:
    """REDIS_SSL_CA_CERTS names the bundle redis-py verifies the server against."""
    bundle = tmp_path / "ca bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"REDIS_TLS_URL": "rediss://:pw@h.invalid:6380", "REDIS_SSL_CA_CERTS": str(bundle)}
    url = Settings.from_env(env).redis_url
    assert url == f"rediss://:pw@h.invalid:6380?ssl_ca_certs={str(bundle).replace(' ', '%20')}"
    kwargs = connect_server(url).connection_pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == str(bundle)


def test_a_missing_ca_bundle_is_refused_at_start(tmp_path: Path) -> None:
    env = {"REDIS_URL": "rediss://h.invalid", "REDIS_SSL_CA_CERTS": str(tmp_path / "none.pem")}
    with pytest.raises(ConfigError, match=r"REDIS_SSL_CA_CERTS=.* is not a readable file"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "env",
    [{"JOB_STREAM_MAXLEN": "ten"}, {"REFRESH_WAIT": "soon"}, {"REFRESH_MIN_INTERVAL": "-1"}],
)
def test_the_subscriber_refuses_what_the_service_refuses(env: dict[str, str]) -> None:
    """VersionSubscriber.from_env reads the variables it shares with the service as the
    service does: a malformed value is a ConfigError naming it, not a silent default."""
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env(env)
    with pytest.raises(ConfigError, match=next(iter(env))):
        VersionSubscriber.from_env(env)
