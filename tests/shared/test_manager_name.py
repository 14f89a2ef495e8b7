"""The connection name a subscriber sets for the fleet: exact shape both ways."""

from __future__ import annotations

import os

import pytest

from shared.fleet import build_fleet, fleet_metrics
from wa_version_client.contract import ConfigError, ManagerName, WAVersion, default_manager_id
from wa_version_client.deployment import NamedClient

VERSION = WAVersion(2, 3000, 1012345678)


def test_a_name_encodes_and_parses_back() -> None:
    name = ManagerName("gw-eu.7_a", "node", VERSION)
    assert name.encode() == "wav1:gw-eu.7_a:node:2.3000.1012345678"
    assert ManagerName.parse(name.encode()) == name


def test_a_manager_holding_no_version_yet_is_named_with_a_dash() -> None:
    assert ManagerName("m1", "go", None).encode() == "wav1:m1:go:-"
    assert ManagerName.parse("wav1:m1:go:-") == ManagerName("m1", "go", None)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "hello",
        "wav1:m1:python",  # no version
        "wav2:m1:python:2.3000.1",  # another format
        "wav1:m1:ruby:2.3000.1",  # an unknown client
        "wav1::python:2.3000.1",  # an empty id
        "wav1:m/1:python:2.3000.1",  # a character outside the set
        f"wav1:{'x' * 65}:python:2.3000.1",  # an id too long
        "wav1:m1:python:2.3000.01",  # a leading zero
        "wav1:m1:python:2.3000.4294967296",  # beyond a uint32
        "wav1:m1:python:2.3000.1:extra",
        "wav1:m1:python:2.3000.1\n",
        "x" * 10_000,
    ],
)
def test_anything_else_does_not_parse(garbage: str) -> None:
    assert ManagerName.parse(garbage) is None


def test_a_name_that_is_no_string_does_not_parse() -> None:
    assert ManagerName.parse(b"wav1:m1:python:2.3000.1") is None
    assert ManagerName.parse(None) is None


@pytest.mark.parametrize("bad", ["", "has space", "a:b", "é", "x" * 65])
def test_a_manager_id_that_cannot_be_named_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="manager id"):
        ManagerName(bad, "python", VERSION)


def test_an_unknown_client_is_refused() -> None:
    with pytest.raises(ConfigError, match="client must be one of"):
        ManagerName("m1", "ruby", VERSION)


def test_the_default_id_is_the_host_and_pid_and_always_valid() -> None:
    manager_id = default_manager_id()
    assert ManagerName.parse(ManagerName(manager_id, "python", None).encode()) is not None
    assert manager_id.endswith(f"-{os.getpid()}")


def test_the_fleet_groups_by_version_and_counts_those_behind() -> None:
    """Older versions and none yet are behind; a newer one (a pin rolled back) is not."""
    names = ["wav1:a:python:2.3000.9", "wav1:b:go:2.3000.10", "wav1:c:node:2.3000.11"]
    clients = [NamedClient(name, 5) for name in [*names, "wav1:d:watcher:-", "wav1:x\ufffd"]]
    fleet = build_fleet([("127.0.0.1:6379", clients)], "now")
    assert fleet.by_version() == {"2.3000.10": 1, "2.3000.11": 1, "2.3000.9": 1, "none": 1}
    assert fleet.behind(WAVersion(2, 3000, 10)) == 2
    assert fleet.behind(None) == 0
    # Other names never reach it (tests/clients/python/test_client_list.py).
    assert fleet.ignored == 1
    assert fleet.to_json()["managers"][0] == {
        "id": "d", "client": "watcher", "version": None, "server": "127.0.0.1:6379",
        "connected_for": 5,
    }  # fmt: skip


def test_servers_that_could_not_be_listed_are_shown_and_counted() -> None:
    fleet = build_fleet([("10.0.0.1:6379", [])], "now", unlisted=["10.0.0.2:6379"])
    assert fleet.to_json()["unlisted"] == ["10.0.0.2:6379"]
    (unlisted,) = [m for m in fleet_metrics(fleet, None) if m.name.endswith("unlisted_servers")]
    assert [sample.value for sample in unlisted.samples] == [1]
