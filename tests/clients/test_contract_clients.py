"""The Node and Go clients decode every field the contract model declares: the sample
message (tests/contract_samples.py, a value for each field) and its variants (each field
absent, each of a wrong kind) go through each client's decoder, which must refuse what the
Python library refuses and expose every field it reads, with the value it reads. Made from
the model, so a field added there is covered here with no new case."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devtools.contract.common import camel
from tests.clients.go_module import GO_MODULE, go, module_path, new_module, run_go
from tests.clients.test_node import NODE_CLIENT, node
from tests.contract_samples import Case, message_cases

pytestmark = pytest.mark.slow

# Reads a JSON list of messages on stdin; writes, for each, what decodeMessage read (its
# own properties) or null when it threw a MessageError.
NODE_PROBE = """
import { readFileSync } from 'node:fs';
import { MessageError, decodeMessage } from './src/index.js';
const decoded = JSON.parse(readFileSync(0, 'utf8')).map((text) => {
  try {
    return { ...decodeMessage(text) };
  } catch (error) {
    if (error instanceof MessageError) return null;
    throw error;
  }
});
process.stdout.write(JSON.stringify(decoded));
"""

# The same in Go: what DecodeMessage read (the Published struct, by its JSON names), or
# null when it refused the message.
GO_PROBE = """package main

import (
	"encoding/json"
	"os"

	"{module}/waversion"
)

func main() {
	var texts []string
	if err := json.NewDecoder(os.Stdin).Decode(&texts); err != nil {
		panic(err)
	}
	decoded := make([]interface{}, len(texts))
	for i, text := range texts {
		if p, ok := waversion.DecodeMessage([]byte(text)); ok {
			decoded[i] = p
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(decoded); err != nil {
		panic(err)
	}
}
"""

CASES = message_cases()


def test_the_node_client_reads_every_field_of_the_model() -> None:
    read = decoded_by([node(), "--input-type=module", "-e", NODE_PROBE], NODE_CLIENT)
    for case, decoded in zip(CASES, read, strict=True):
        # The Node client names a field in camelCase: changed_at is changedAt.
        expected = case.expected and {camel(name): v for name, v in case.expected.items()}
        assert decoded == expected, describe(case, decoded)


def test_the_go_client_reads_every_field_of_the_model(tmp_path: Path) -> None:
    probe, env = go_probe(tmp_path, GO_PROBE)
    for case, decoded in zip(CASES, decoded_by([go(), "run", "."], probe, env), strict=True):
        assert decoded == case.expected, describe(case, decoded)


def go_probe(tmp_path: Path, main: str, **more: str) -> tuple[Path, dict[str, str]]:
    """A Go program `main` (importing `{module}/waversion`) in a module of its own that
    requires a copy of the client's module, with `more` files added to its package by
    name: the program's directory, and the environment that builds it offline."""
    client = tmp_path / "client-module"
    shutil.copytree(GO_MODULE, client, ignore=shutil.ignore_patterns("*_test.go"))
    for name, text in more.items():
        (client / "waversion" / name).write_text(text)
    probe, env = new_module(tmp_path, "probe")
    module = module_path()
    run_go(["mod", "edit", f"-require={module}@v0.0.0", f"-replace={module}={client}"], probe, env)
    (probe / "main.go").write_text(main.replace("{module}", module))
    return probe, env


def decoded_by(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> list[Any]:
    """What the probe `command` read in each case's message."""
    return probe_answers(command, cwd, [case.text for case in CASES], env)


def probe_answers(
    command: list[str], cwd: Path, questions: list[Any], env: dict[str, str] | None = None
) -> list[Any]:
    """What the probe `command` answered to `questions` (JSON on its stdin and stdout)."""
    outcome = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        input=json.dumps(questions),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert outcome.returncode == 0, outcome.stderr
    answers: list[Any] = json.loads(outcome.stdout)
    return answers


def describe(case: Case, decoded: Any) -> str:
    verdict = "refuses" if case.expected is None else f"reads {case.expected}"
    return f"{case.label}: {case.text[:160]}\nPython {verdict}; this client read {decoded}"
