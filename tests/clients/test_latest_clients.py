"""The Node and Go clients say what the Python one says of every case of the table
(tests/latest_cases.py): whether the version held is the latest, the reason, and the
error's text, word for word (its wording is the contract's, generated for them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.clients.go_module import go
from tests.clients.test_contract_clients import go_probe, probe_answers
from tests.clients.test_node import NODE_CLIENT, node
from tests.latest_cases import latest_cases, python_verdict

pytestmark = pytest.mark.slow

CASES = latest_cases()

# Reads the cases (JSON) on stdin; writes what judgeLatest says of each.
NODE_PROBE = """
import { readFileSync } from 'node:fs';
import { PublishedVersion, parseVersion } from './src/index.js';
import { judgeLatest, refreshesFromHash } from './src/latest.js';
const verdicts = JSON.parse(readFileSync(0, 'utf8')).map((q) => {
  const held = new PublishedVersion({
    array: parseVersion(q.held.string), seq: q.held.seq, epoch: q.held.epoch,
    changedAt: '', source: '',
  });
  const refreshes = q.hash === null ? null : refreshesFromHash(q.hash);
  const v = judgeLatest(held, {
    synced: q.synced, refreshes, nowMs: Date.parse(q.now), maxAgeMs: q.max_age * 1000,
  });
  return { latest: v.isLatest, reason: v.reason ?? '', message: v.message ?? '' };
});
process.stdout.write(JSON.stringify(verdicts));
"""

# Beside the package's sources, in the package: judgeLatest is not exported.
GO_EXPORT = """package waversion

import "time"

// ProbeLatest is judgeLatest for the probe: the reason ("" when latest) and the text.
func ProbeLatest(version string, epoch, seq int64, synced bool, hash map[string]string,
	now time.Time, maxAge time.Duration) (string, string) {
	held := newPublished()
	held.String, held.Epoch, held.Seq = version, epoch, seq
	held.Array, _ = parseVersion(version)
	var last *refreshes
	if hash != nil {
		r := refreshesFromHash(hash)
		last = &r
	}
	if err := judgeLatest(held, synced, last, now, maxAge); err != nil {
		return err.(*NotLatest).Reason, err.Error()
	}
	return "", ""
}
"""

GO_PROBE = """package main

import (
	"encoding/json"
	"os"
	"time"

	"{module}/waversion"
)

type question struct {
	Synced bool              `json:"synced"`
	Hash   map[string]string `json:"hash"`
	Held   struct {
		String string `json:"string"`
		Epoch  int64  `json:"epoch"`
		Seq    int64  `json:"seq"`
	} `json:"held"`
	Now    time.Time `json:"now"`
	MaxAge float64   `json:"max_age"`
}

func main() {
	var questions []question
	if err := json.NewDecoder(os.Stdin).Decode(&questions); err != nil {
		panic(err)
	}
	answers := make([]map[string]interface{}, len(questions))
	for i, q := range questions {
		maxAge := time.Duration(q.MaxAge * float64(time.Second))
		reason, message := waversion.ProbeLatest(
			q.Held.String, q.Held.Epoch, q.Held.Seq, q.Synced, q.Hash, q.Now, maxAge)
		answers[i] = map[string]interface{}{
			"latest": reason == "", "reason": reason, "message": message}
	}
	if err := json.NewEncoder(os.Stdout).Encode(answers); err != nil {
		panic(err)
	}
}
"""


def test_the_node_client_judges_as_the_python_one() -> None:
    said = answers([node(), "--input-type=module", "-e", NODE_PROBE], NODE_CLIENT)
    for case, verdict in zip(CASES, said, strict=True):
        assert verdict == python_verdict(case), case.label


def test_the_go_client_judges_as_the_python_one(tmp_path: Path) -> None:
    probe, env = go_probe(tmp_path, GO_PROBE, **{"probe_export.go": GO_EXPORT})
    for case, verdict in zip(CASES, answers([go(), "run", "."], probe, env), strict=True):
        assert verdict == python_verdict(case), case.label


def test_the_cases_cover_every_reason() -> None:
    assert {case.expected for case in CASES} == {
        "",
        "unsynced",
        "failed",
        "never",
        "stale",
        "behind",
    }


def answers(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> list[Any]:
    """What the probe `command` said of each case."""
    return probe_answers(command, cwd, [case.as_json() for case in CASES], env)
