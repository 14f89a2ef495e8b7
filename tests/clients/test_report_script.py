"""Python, Node and Go gateways share one rate limit on reports only while their report
scripts are the same text: each client ships its own copy (the Node and Go ones generated
from the Python library's by ./dev contract), so the copies are compared."""

from __future__ import annotations

from tests.e2e.processes import ROOT
from wa_version_client._reports import ONCE_PER_INTERVAL


def test_every_client_runs_the_same_report_script() -> None:
    script = ONCE_PER_INTERVAL.strip()
    assert script in (ROOT / "clients" / "node" / "src" / "contract.generated.js").read_text()
    assert script in (ROOT / "clients" / "go" / "waversion" / "contract_gen.go").read_text()
