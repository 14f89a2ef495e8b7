"""Every README code block is run by a test, or says why none can (tests/readme_blocks.py)."""

from __future__ import annotations

from collections import Counter

from devtools.processes import ROOT
from tests.readme_blocks import VERDICTS, readme_blocks, terminal_steps


def test_every_readme_block_is_run_or_says_why() -> None:
    """One verdict per block: a block added, moved or removed without its verdict fails."""
    found = Counter((block.section, block.lang) for block in readme_blocks())
    listed = Counter({kind: len(verdicts) for kind, verdicts in VERDICTS.items()})
    assert found == listed, "give each README block a verdict in tests/readme_blocks.py"


def test_the_readme_procfile_is_the_procfile() -> None:
    """The Procfile the README shows under "Running in production" is the real one."""
    (shown,) = [b for b in readme_blocks() if b.section == "Running in production"]
    assert shown.text == (ROOT / "Procfile").read_text()


def test_terminal_steps_joins_continuation_lines() -> None:
    script = "# terminal 1: a\nrun one\n# terminal 2\n# more words\ncurl x \\\n  -H y\nls\n"
    assert terminal_steps(script) == [
        ("terminal 1", ["run one"]),
        ("terminal 2", ["curl x   -H y", "ls"]),
    ]
