"""The README's Quick start demo, followed step by step in a copy of the checkout (its
Python client example runs in tests/e2e/test_python_client_docs.py).

The demo's commands are read from the README's blocks (tests/readme_blocks.py) and run as
written, with two changes so tests can run side by side: the stub's port (8081) and the
web port (8000, set through PORT) are free ports of the test's own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.embedded import free_port
from tests.e2e.dev_checkout import Terminal, copy_checkout, run, shell_env, terminals
from tests.readme_blocks import DEMO, section_blocks, terminal_steps

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

# What differs from one run to the next: times, and the epoch (when the hash was made).
VARYING = {"last_refreshed", "last_success", "changed_at", "upstream_seen_at", "epoch"}


def comparable(value: Any) -> Any:
    """`value` with what varies between runs replaced by a placeholder."""
    if isinstance(value, dict):
        return {k: "<varies>" if k in VARYING else comparable(v) for k, v in value.items()}
    return value


def messages(subscriber: Terminal) -> list[str]:
    """What `redis-cli subscribe` printed as messages (its output is not a terminal: for
    each, the word `message`, the channel, then the message itself)."""
    lines = subscriber.output.splitlines()
    return [lines[at + 2] for at, line in enumerate(lines[:-2]) if line == "message"]


def watcher_printed(output: str, seq: int) -> bool:
    """Whether the watcher's lines in honcho's output hold the version of `seq`."""
    return any("watcher.1" in line and f'"seq":{seq},' in line for line in output.splitlines())


def test_the_quick_start_demo(tmp_path: Path) -> None:
    """Stub, `./dev up`, a subscriber, the stub moved on and a refresh: the answer and the
    subscriber's message are the README's; then `./dev refresh` changes nothing and the
    subscriber prints nothing more."""
    checkout = copy_checkout(tmp_path / "clone")
    stub_port, web_port = free_port(), free_port()

    def as_here(text: str) -> str:
        return text.replace("8081", str(stub_port)).replace(":8000", f":{web_port}")

    (demo, again) = (as_here(b.text) for b in section_blocks(DEMO, "sh"))
    shown = [json.loads(as_here(block.text)) for block in section_blocks(DEMO, "json")]
    answer_shown, message_shown = shown
    steps = terminal_steps(demo)
    assert [name for name, _ in steps] == [f"terminal {n}" for n in (1, 2, 3, 4)]
    (stub_line,), (up_line,), (subscribe_line,), changes = (lines for _, lines in steps)
    env = shell_env(PORT=str(web_port))
    with terminals(checkout, env) as terminal:
        terminal(stub_line).wait_for(lambda out: "stub upstream on" in out)
        up = terminal(up_line)
        # The worker's refresh at start: the watcher prints seq 1 before terminal 3 opens.
        up.wait_for(lambda out: watcher_printed(out, seq=1))
        subscriber = terminal(subscribe_line)
        confirmation = ["subscribe", "whatsapp:version-changed", "1"]
        subscriber.wait_for(lambda out: out.splitlines()[:3] == confirmation)
        outcomes = [run(checkout, line, env) for line in changes]
        assert [o.returncode for o in outcomes] == [0] * len(changes), outcomes
        assert comparable(json.loads(outcomes[-1].stdout)) == comparable(answer_shown)
        subscriber.wait_for(lambda _: bool(messages(subscriber)))
        assert [comparable(json.loads(m)) for m in messages(subscriber)] == [
            comparable(message_shown)
        ]
        up.wait_for(lambda out: watcher_printed(out, seq=2))  # "as does the watcher"

        ((_, (refresh_line,)),) = terminal_steps(again)
        refreshed = run(checkout, refresh_line, env)
        assert refreshed.returncode == 0, refreshed.stderr
        state = json.loads(refreshed.stdout)
        assert (state["refreshed"], state["seq"]) == (True, 2)
        # Nothing was announced: a marker published after it is the next message heard.
        marker = run(checkout, "./dev redis-cli publish whatsapp:version-changed marker", env)
        assert marker.returncode == 0, marker.stderr
        subscriber.wait_for(lambda _: "marker" in messages(subscriber))
        assert messages(subscriber)[1:] == ["marker"]
