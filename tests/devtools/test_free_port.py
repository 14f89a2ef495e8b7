"""The ports servers get: never one the kernel may hand to another socket meanwhile, so
a server restarted on its port finds it free; never the same one twice."""

from __future__ import annotations

from devtools.embedded import LOWEST_PORT, ephemeral_ports, free_port, port_taken


def test_a_port_below_the_ephemeral_range_that_nothing_holds() -> None:
    port = free_port()
    assert LOWEST_PORT <= port < ephemeral_ports().start
    assert not port_taken(port)


def test_no_port_is_handed_out_twice() -> None:
    """200 draws from about 22,000 ports would repeat one more often than not (the
    birthday bound) without the claims."""
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
