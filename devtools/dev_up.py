"""What `./dev up` checks and writes down before it starts honcho.

The ports. A port already taken is one line and exit status 1, before any process
starts: the embedded server's own refusal would come after its banner, and by then web
and worker would be running, possibly against whatever server holds that port.

Where its Redis is. `./dev up` embeds a server on a free port (unless
`EMBEDDED_REDIS_PORT` names one) and writes its URL, with the web port, to
`.dev/up.env` in the checkout; `./dev refresh` and `./dev redis-cli` read it there, with
`.env`, as honcho gives the processes their environment. A file rather than a fixed
default port: several checkouts (and the test suite) run `./dev up` side by side on one
machine, and any fixed port would clash between them. The file stays after `./dev up`
ends; a command that reads it then says Redis could not be reached.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from devtools.embedded import port_taken

UP_ENV = Path(".dev") / "up.env"


def clash(web_port: int, redis_port: int | None) -> str | None:
    """The line that says which port is taken, or None when both are free."""
    if redis_port is not None and port_taken(redis_port):
        return (
            f"dev: 127.0.0.1:{redis_port} is taken (EMBEDDED_REDIS_PORT={redis_port}): name"
            " another port, or unset EMBEDDED_REDIS_PORT to get a free one"
        )
    if web_port and port_taken(web_port, "0.0.0.0"):  # web listens on every interface
        return (
            f"dev: port {web_port} is taken (PORT={web_port}): another ./dev up? Set PORT to"
            " another port to run beside it"
        )
    return None


def record(path: Path, redis_url: str, web_port: int) -> None:
    """Write where this `./dev up` runs, as lines honcho reads (`-e`); readable by its
    owner alone, since a REDIS_URL given by hand may hold a password."""
    path.parent.mkdir(exist_ok=True)
    lines = [f"REDIS_URL={shlex.quote(redis_url)}", f"PORT={web_port}"]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dev_up")
    parser.add_argument("--web-port", type=int, required=True)
    parser.add_argument("--redis-port", type=int, help="the embedded server's, if embedded")
    args = parser.parse_args(argv)
    if (message := clash(args.web_port, args.redis_port)) is not None:
        print(message, file=sys.stderr)
        return 1
    record(UP_ENV, os.environ["REDIS_URL"], args.web_port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
