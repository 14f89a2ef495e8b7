"""The README's fenced code blocks, and what the suite does with each of them.

Every block is either run (or, where running needs WhatsApp itself, parsed or built) by
a named test, or listed with the reason no test can run it: VERDICTS holds one entry per
block, by the heading it sits under and its language, in order. A block added without
one fails tests/test_readme.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from devtools.processes import ROOT

README = ROOT / "README.md"
DEMO = "Try it against a local stand-in for WhatsApp Web"
PYTHON_CLIENT = "Python: the client, `wa_version_client`"
WAHA = "WAHA (NOWEB engine)"
EVOLUTION = "Evolution API 2.3"
BOT = "A Baileys bot"

_DEMO_TEST = "run step by step: tests/e2e/test_readme_demo.py::test_the_quick_start_demo"
_RECIPES = "tests/e2e/test_gateway_recipes.py::"
VERDICTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Quick start", "sh"): (
        "not run as written: `./dev test` is the suite this test belongs to; `./dev up` is"
        " started by the demo test and tests/e2e/test_dev_up.py",
    ),
    (DEMO, "sh"): (_DEMO_TEST, _DEMO_TEST),
    (DEMO, "json"): (
        "compared with the refresh's answer: " + _DEMO_TEST,
        "compared with the subscriber's message: " + _DEMO_TEST,
    ),
    ("Baileys: change one import", "js"): (
        "parsed (node --check) by tests/clients/test_node.py; running it needs Baileys and"
        " a WhatsApp socket",
    )
    * 3,
    (PYTHON_CLIENT, "sh"): (
        "run line by line, offline (the wheelhouse as the index, a git repository on disk as"
        " the URL): tests/e2e/test_python_client_docs.py",
    ),
    (PYTHON_CLIENT, "python"): (
        "run against a worker and the stub:"
        " tests/e2e/test_python_client_docs.py::test_the_python_client_example_runs_as_pasted",
    ),
    ("Go: whatsmeow", "sh"): (
        "run as written (the module proxy a file:// one serving the checkout, the clone the"
        " checkout): tests/clients/test_go.py",
    ),
    ("Go: whatsmeow", "go"): (
        "built and vetted in a module of its own, against a stand-in for whatsmeow, by"
        " tests/clients/test_go.py; running it needs whatsmeow and a WhatsApp socket",
    ),
    (WAHA, "dockerfile"): (
        "not built: it needs Docker and WAHA's image; the tarball it installs is the one"
        " `npm pack` makes (" + _RECIPES + "test_the_waha_dockerfile_installs_the_tarball"
        "_npm_pack_makes), and the entrypoint it installs is run below",
    ),
    (WAHA, "sh"): (
        "run with `wa-version` linked as `npm install --global` links it and a stand-in"
        " `waha` printing the variables: " + _RECIPES + "test_the_waha_entrypoint_starts_it"
        "_on_the_version_held, test_waha_starts_on_its_own_version_when_redis_is_down",
        "run as the watcher's command line, with a stand-in `docker` that runs the"
        " entrypoint again: " + _RECIPES + "test_the_watcher_restarts_waha_on_a_change_only",
    ),
    (EVOLUTION, "ts"): (
        "type-checked with Evolution's callers under its tsconfig, compiled and run: "
        + _RECIPES
        + "test_evolution_with_the_recipe_type_checks_and_answers_from_memory",
    ),
    (BOT, "js"): (
        "run with a stand-in `baileys` whose makeWASocket prints its version: "
        + _RECIPES
        + "test_the_baileys_bot_connects_with_the_version_held",
    )
    * 2,
    ("Running in production", ""): (
        "compared with the Procfile:"
        " tests/test_readme.py::test_the_readme_procfile_is_the_procfile",
    ),
}


@dataclass(frozen=True)
class Block:
    section: str  # the heading it sits under, without the #s
    lang: str  # what follows the opening ```, "" for none
    text: str
    line: int  # of the opening fence, from 1


def readme_blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README, in order."""
    lines = (README.read_text() if text is None else text).splitlines()
    blocks: list[Block] = []
    section, index = "", 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        elif line.startswith("```"):
            end = next(at for at in range(index + 1, len(lines)) if lines[at].startswith("```"))
            body = "\n".join(lines[index + 1 : end]) + "\n"
            blocks.append(Block(section, line[3:].strip(), body, index + 1))
            index = end
        index += 1
    return blocks


def section_blocks(section: str, lang: str) -> list[Block]:
    return [b for b in readme_blocks() if (b.section, b.lang) == (section, lang)]


def terminal_steps(script: str) -> list[tuple[str, list[str]]]:
    """The steps of a shell block written as `# terminal N: what` comments, each followed
    by its command lines: (the terminal, its commands), continuation lines joined."""
    steps: list[tuple[str, list[str]]] = []
    pending = ""
    for line in script.splitlines():
        if line.startswith("# terminal"):
            steps.append((line[2:].split(":")[0], []))
        elif line.strip() and not line.startswith("#"):
            pending += line.removesuffix("\\").rstrip() + " " if line.endswith("\\") else line
            if not line.endswith("\\"):
                steps[-1][1].append(pending)
                pending = ""
    return steps
