"""Redis over TLS with a password, as Heroku's Key-Value Store serves it, for the tests.

A self-signed certificate made here (no CA: the certificate is its own issuer, as
Heroku's is), a server with `requirepass` and an ACL user, and TLS in front of it: the
server's own when it is built with TLS (Debian's redis-7.0), else devtools/tls_proxy.py.
"""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devtools.embedded import RedisServer, chosen_server, free_port
from tests.e2e.processes import ROOT
from tests.support import wait_for_port

# The default user's password (Heroku's URLs carry only that: rediss://:password@host)
# and an ACL user's. Test values, on loopback only.
PASSWORD = "tls-test-password-7f3a"
ACL_USER, ACL_PASSWORD = "wa-service", "acl-test-password-c41e"
# Servers built with TLS: the others get the proxy in front.
BUILT_WITH_TLS = {"redis-7.0"}


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost signed by its own key; (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class TlsRedis:
    """A password-protected server reached over TLS on `port`."""

    port: int
    server: RedisServer
    certificate: Path  # the server's certificate: also the bundle that makes it trusted
    native: bool  # TLS by the server itself, not by the proxy

    def url(self, *, user: str = "", password: str = PASSWORD, query: str = "") -> str:
        """`rediss://[user]:password@127.0.0.1:port/0[?query]`."""
        return f"rediss://{user}:{password}@127.0.0.1:{self.port}/0" + (
            f"?{query}" if query else ""
        )

    @property
    def plain_url(self) -> str:
        """The server itself, without TLS, for the test's own checks."""
        return f"redis://:{PASSWORD}@127.0.0.1:{self.server.port}/0"


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    tls_port = free_port()
    auth = ("--requirepass", PASSWORD,
            "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all")  # fmt: skip
    native = chosen_server() in BUILT_WITH_TLS
    tls = ("--tls-port", str(tls_port), "--tls-cert-file", str(cert),
           "--tls-key-file", str(key), "--tls-auth-clients", "no")  # fmt: skip
    with RedisServer(None, *auth, *(tls if native else ())) as server:
        if native:
            yield TlsRedis(tls_port, server, cert, native=True)
            return
        proxy = subprocess.Popen(
            [sys.executable, "-m", "devtools.tls_proxy", "--port", str(tls_port),
             "--target", str(server.port), "--cert", str(cert), "--key", str(key)],
            cwd=ROOT, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(tls_port, proxy)
            yield TlsRedis(tls_port, server, cert, native=False)
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
