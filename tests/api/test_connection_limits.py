"""The connection guard's arithmetic: counted per peer bucket and in all, released on close;
the limits as the settings give them."""

from __future__ import annotations

import resource

import pytest

from api.connection_limits import ConnectionGuard, ConnectionLimits
from shared.settings import Settings


def test_each_address_is_bounded_and_released() -> None:
    guard = ConnectionGuard(ConnectionLimits(max_connections=10, max_per_address=2))
    first, second = guard.admit("127.0.0.2"), guard.admit("127.0.0.2")
    assert first == second == "127.0.0.2"
    assert guard.admit("127.0.0.2") is None
    assert guard.refusal("127.0.0.2") == "127.0.0.2 holds 2 connections, the limit per address"
    assert guard.admit("127.0.0.3") == "127.0.0.3"
    guard.release("127.0.0.2")
    assert guard.admit("127.0.0.2") == "127.0.0.2"
    assert guard.held == 3


def test_an_ipv6_subnet_is_one_address() -> None:
    """Bucketed as the brake buckets it: rotating through a /64 changes nothing."""
    guard = ConnectionGuard(ConnectionLimits(max_per_address=1))
    assert guard.admit("2001:db8::1") == "2001:db8::/64"
    assert guard.admit("2001:db8::2") is None


def test_the_total_is_bounded() -> None:
    guard = ConnectionGuard(ConnectionLimits(max_connections=2, max_per_address=0))
    assert guard.admit("127.0.0.2") == "127.0.0.2"
    assert guard.admit("127.0.0.3") == "127.0.0.3"
    assert guard.admit("127.0.0.4") is None
    assert guard.refusal("127.0.0.4") == "the server holds 2 connections, its limit"


def test_behind_trusted_proxies_only_the_total_applies() -> None:
    """The peers are then the proxies, each carrying many clients."""
    proxied = ConnectionLimits.for_settings(Settings(trusted_proxy_hops=1))
    direct = ConnectionLimits.for_settings(Settings())
    assert (proxied.max_per_address, direct.max_per_address) == (0, 100)


def test_the_total_fits_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_CONNECTIONS over the open-file limit would fail every connection past it: the
    total is lowered, leaving room for the process's own files."""
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    assert ConnectionLimits.for_settings(Settings()).max_connections == 1024 - 100
    assert ConnectionLimits.for_settings(Settings(max_connections=500)).max_connections == 500


def test_refusals_are_logged_now_and_then(caplog: pytest.LogCaptureFixture) -> None:
    """The first refusal at once, then one line per LOG_REFUSALS_EVERY with the count."""
    guard = ConnectionGuard(ConnectionLimits(max_connections=1))
    guard.admit("127.0.0.2")
    for _ in range(500):
        guard.refusal("127.0.0.3")
    lines = [r.getMessage() for r in caplog.records if r.name == "api.connection_limits"]
    assert lines == ["refused 1 connection(s), the last: the server holds 1 connections, its limit"]
