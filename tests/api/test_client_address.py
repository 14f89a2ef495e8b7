"""The client address the brake counts by: one a client cannot choose, of bounded size."""

from __future__ import annotations

import pytest

from api.client_address import INVALID, bucket, client_bucket

PEER = "10.0.0.1"


def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    """TRUSTED_PROXY_HOPS=0: whatever X-Forwarded-For says, the TCP peer counts."""
    assert client_bucket(PEER, ["192.0.2.99"], hops=0) == PEER


def test_one_hop_takes_the_entry_the_proxy_appended() -> None:
    """Behind one proxy (Heroku's router) the right-most entry is the one it wrote; the
    client's own entries to its left count for nothing."""
    assert client_bucket(PEER, ["192.0.2.99, 198.51.100.7"], hops=1) == "198.51.100.7"
    assert client_bucket(PEER, ["192.0.2.99", "198.51.100.7"], hops=1) == "198.51.100.7"


def test_two_hops_skip_the_inner_proxy() -> None:
    chain = ["192.0.2.99, 198.51.100.7, 10.1.1.1"]
    assert client_bucket(PEER, chain, hops=2) == "198.51.100.7"


def test_a_chain_shorter_than_the_hops_falls_back_to_the_peer() -> None:
    """A request that did not pass every proxy we run: only the peer is known."""
    assert client_bucket(PEER, [], hops=1) == PEER
    assert client_bucket(PEER, ["198.51.100.7"], hops=2) == PEER


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("203.0.113.7:4431", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2::9]:443", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", INVALID),
        ("", INVALID),
        ("x" * 15_000, INVALID),
        ("999.1.1.1", INVALID),
    ],
)
def test_addresses_are_validated_and_bucketed(address: str, expected: str) -> None:
    """IPv4 as is, IPv6 by its /64, a v4-mapped address as IPv4, anything else `invalid`:
    no string a client sends becomes a key of its own."""
    assert bucket(address) == expected
