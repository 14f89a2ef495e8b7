"""The Python rule of what "latest" means (contract/_latest.py) on the shared table of
cases (tests/latest_cases.py): the reason each case expects, and an error that says it."""

from __future__ import annotations

import pytest

from tests.latest_cases import FAILURE, LatestCase, latest_cases, python_verdict


@pytest.mark.parametrize("case", latest_cases(), ids=lambda case: case.label)
def test_the_python_rule_gives_the_expected_reason(case: LatestCase) -> None:
    verdict = python_verdict(case)
    assert verdict["reason"] == case.expected
    assert verdict["latest"] == (case.expected == "")
    assert bool(verdict["message"]) == (case.expected != "")


def test_a_failed_attempt_is_named_with_its_error_and_time() -> None:
    (case,) = [case for case in latest_cases() if case.label == "the last attempt failed"]
    message = python_verdict(case)["message"]
    assert FAILURE in message
    assert "2026-12-03T11:59:00Z" in message


def test_a_stale_success_names_its_time_and_the_max_age() -> None:
    (case,) = [case for case in latest_cases() if case.label == "last success 3 h ago"]
    message = python_verdict(case)["message"]
    assert "2026-12-03T09:00:00Z" in message
    assert "(7200 s)" in message
