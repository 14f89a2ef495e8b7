"""Log lines stay short whatever value reaches them: the one formatter cuts every value."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from shared.logs import setup_logging
from wa_version_client.runtime import hide

BIG = "v" * 20_000_000


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The JSON lines of this process, as the service's processes write them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    setup_logging(stream=out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


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


def test_list_fields_are_cut_in_items_and_length(lines: io.StringIO) -> None:
    ids = [BIG, *(f"id-{i}" for i in range(10_000))]
    logging.getLogger("t").info("answered", extra={"job_ids": ids, "request_ids": [BIG]})
    line = logged(lines)
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
