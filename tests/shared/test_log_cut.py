"""Log lines stay short whatever value reaches them: the one formatter cuts every value."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from shared import logs
from wa_version_client import runtime
from wa_version_client.runtime import hide

BIG = "v" * 20_000_000


@contextlib.contextmanager
def logging_to(setup: Callable[..., None]) -> Iterator[io.StringIO]:
    """The JSON lines of this process as `setup` makes them, the logging of before put back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    setup(stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture(params=[logs.setup_logging, runtime.setup_logging], ids=["service", "client"])
def lines(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """As the service's processes write them, and as the Python client's (the watcher)."""
    with logging_to(request.param) as out:
        yield out


@pytest.fixture
def service_lines() -> Iterator[io.StringIO]:
    """As the service's processes write them (with the job fields)."""
    with logging_to(logs.setup_logging) as out:
        yield out


def logged(out: io.StringIO) -> dict[str, object]:
    text = out.getvalue()
    assert len(text) < 4096, f"a line of {len(text)} characters"
    line: dict[str, object] = json.loads(text)
    return line


def test_an_argument_is_cut_and_says_how_long_it_was(lines: io.StringIO) -> None:
    logging.getLogger("t").warning("job %s failed: %r", BIG, BIG.encode())
    event = str(logged(lines)["event"])
    assert "…[cut, 20000000 chars]" in event
    assert event.startswith("job vvv")


def test_a_message_built_before_logging_is_cut(lines: io.StringIO) -> None:
    logging.getLogger("t").warning(f"fetch failed: {BIG}")  # what is tested
    assert str(logged(lines)["event"]).endswith("…[cut, 20000014 chars]")


def test_list_fields_are_cut_in_items_and_length(service_lines: io.StringIO) -> None:
    ids = [BIG, *(f"id-{i}" for i in range(10_000))]
    logging.getLogger("t").info("answered", extra={"job_ids": ids, "request_ids": [BIG]})
    line = logged(service_lines)
    assert isinstance(line["job_ids"], list)
    assert line["job_ids"][0] == "v" * 300 + "…[cut, 20000000 chars]"
    assert line["job_ids"][-1] == "…[cut, 10001 items]"
    assert len(line["job_ids"]) == 51


def test_a_traceback_quoting_a_value_is_cut(lines: io.StringIO) -> None:
    try:
        raise ValueError(BIG)
    except ValueError:
        logging.getLogger("t").exception("handling failed")
    assert "…[cut, " in str(logged(lines)["traceback"])


def test_a_secret_is_masked_before_a_cut_could_keep_part_of_it(lines: io.StringIO) -> None:
    secret = "s3cret-" + "k" * 400
    hide(secret)
    logging.getLogger("t").warning("%s", "x" * 100 + secret)
    assert "s3cret" not in lines.getvalue()
