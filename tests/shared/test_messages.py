"""Every cross-process message decodes to what was encoded, and garbage is a MessageError."""

from __future__ import annotations

import json

import pytest

from shared.errors import MessageError
from shared.job_results import BatchResult, JobResult
from wa_version_client.contract import PublishedVersion, RefreshJob, VersionState, WAVersion


def test_refresh_job_round_trip() -> None:
    """A job survives the stream's string fields."""
    job = RefreshJob.new(force=False, deadline_ms=1_700_000_000_000)
    fields = job.to_fields()
    assert all(isinstance(v, str) for v in fields.values())
    assert RefreshJob.from_fields(fields) == job


@pytest.mark.parametrize("force", ["", "true", "2", " 1", "01", "yes"])
def test_a_job_whose_force_is_not_0_or_1_is_malformed(force: str) -> None:
    """`force` is strict like every other field: anything but 0 or 1 does not decode
    (it used to be read as false, silently)."""
    fields = RefreshJob.new(force=True, deadline_ms=1).to_fields() | {"force": force}
    with pytest.raises(MessageError, match="force"):
        RefreshJob.from_fields(fields)


def test_new_jobs_get_distinct_ids() -> None:
    """Job ids are unique, so answers never reach the wrong caller."""
    assert len({RefreshJob.new(force=True, deadline_ms=0).job_id for _ in range(1000)}) == 1000


def test_batch_result_round_trip() -> None:
    """One batch message carries every job id and the shared result."""
    result = JobResult(True, "", VersionState(version=WAVersion(2, 3000, 7), seq=1))
    batch = BatchResult(("a", "b"), result)
    assert BatchResult.decode(batch.encode()) == batch
    assert JobResult.decode(result.encode()) == result


def test_version_changed_carries_array_string_previous_and_seq() -> None:
    """Subscribers in any language read array, string, previous and seq from the JSON."""
    message = PublishedVersion(
        version=WAVersion(2, 3000, 8),
        previous=WAVersion(2, 3000, 7),
        seq=2,
        epoch=1766313000000,
        changed_at="2025-12-21T10:30:00Z",
        source="https://web.whatsapp.com/sw.js",
    )
    data = json.loads(message.encode())
    assert data["array"] == [2, 3000, 8]
    assert data["string"] == "2.3000.8"
    assert data["previous"] == {"array": [2, 3000, 7], "string": "2.3000.7"}
    assert data["seq"] == 2
    assert data["epoch"] == 1766313000000
    assert PublishedVersion.decode(message.encode()) == message


GOOD = (
    '{"array":[2,3000,5],"string":"2.3000.5","previous":null,"seq":3,"epoch":7,'
    '"changed_at":"","source":"","kind":"fetch"}'
)


@pytest.mark.parametrize(
    ("decode", "text"),
    [
        (BatchResult.decode, "not json"),
        (BatchResult.decode, '{"job_ids": ["a"]}'),
        (JobResult.decode, "[]"),
        (PublishedVersion.decode, '{"string": "2.3000.x", "seq": 1}'),
        (PublishedVersion.decode, GOOD.replace('"string":"2.3000.5"', '"string":5')),
        (PublishedVersion.decode, GOOD.replace('"string":"2.3000.5"', '"string":null')),
        (PublishedVersion.decode, GOOD.replace('"seq":3', '"seq":Infinity')),
        (PublishedVersion.decode, GOOD.replace('"seq":3', '"seq":NaN')),
        (PublishedVersion.decode, GOOD.replace('"seq":3', '"seq":3.0')),
        (PublishedVersion.decode, GOOD.replace('"seq":3', '"seq":true')),
        (PublishedVersion.decode, GOOD.replace('"seq":3', '"seq":0')),
        (PublishedVersion.decode, GOOD.replace('"epoch":7', '"epoch":-5')),
        (PublishedVersion.decode, GOOD.replace('"epoch":7', f'"epoch":{2**64}')),
        (PublishedVersion.decode, GOOD.replace("[2,3000,5]", "[2,3000,6]")),
        (PublishedVersion.decode, GOOD.replace('"kind":"fetch"', '"kind":"evil"')),
        (PublishedVersion.decode, GOOD.replace('"previous":null', '"previous":7')),
        (PublishedVersion.decode, "[" * 100_000),
        (PublishedVersion.decode, b"\xff\xfe"),
        (BatchResult.decode, '{"job_ids": [1], "result": {}}'),
        (JobResult.decode, '{"refreshed": "yes", "error": "", "state": {}}'),
    ],
)
def test_garbage_is_a_message_error(decode: object, text: str | bytes) -> None:
    """Malformed messages raise MessageError, never KeyError, TypeError, OverflowError or
    RecursionError: wrong types, NaN and Infinity, floats and bools for integers, seq 0, a
    negative or out-of-range epoch, an array that disagrees with the string, an unknown
    kind, deep nesting, bytes that are not UTF-8."""
    assert callable(decode)
    with pytest.raises(MessageError):
        decode(text)


def test_the_good_message_those_are_made_from_decodes() -> None:
    """The base of the garbage cases is itself a valid message."""
    assert PublishedVersion.decode(GOOD).order == (7, 3)


def test_job_with_missing_fields_is_a_message_error() -> None:
    """A stream entry written by something else is reported, not crashed on."""
    with pytest.raises(MessageError):
        RefreshJob.from_fields({"job_id": "x"})


def _published(seq: int, epoch: int) -> PublishedVersion:
    return PublishedVersion(WAVersion(2, 3000, seq), seq, epoch, "2025-12-21T10:30:00Z", "s")


def test_announcements_order_by_epoch_then_seq() -> None:
    """A higher seq is newer; a new epoch (Redis lost its data) is newer whatever its seq."""
    assert _published(2, epoch=10).newer_than(_published(1, epoch=10))
    assert not _published(1, epoch=10).newer_than(_published(1, epoch=10))
    assert not _published(1, epoch=10).newer_than(_published(2, epoch=10))
    assert _published(1, epoch=11).newer_than(_published(9, epoch=10))
    assert _published(1, epoch=10).newer_than(None)


def test_stored_state_announces_its_version() -> None:
    """from_state gives what a subscriber reading the hash should hold; nothing before a version."""
    state = VersionState(version=WAVersion(2, 3000, 9), seq=4, epoch=77, source="s")
    published = PublishedVersion.from_state(state)
    assert published is not None
    assert (published.string, published.order, published.source) == ("2.3000.9", (77, 4), "s")
    assert PublishedVersion.from_state(VersionState()) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("job_id", "j" * 129), ("job_id", "has space"), ("job_id", ""), ("request_id", "r" * 129)],
)
def test_a_job_whose_ids_break_the_bound_is_a_message_error(field: str, value: str) -> None:
    """job_id and request_id are 1 to 128 characters of A-Z a-z 0-9 . _ : - (request_id
    may be empty): anything else is malformed, and the error quotes only a little of it."""
    good = RefreshJob.new(force=True, deadline_ms=1, request_id="req-1").to_fields()
    assert RefreshJob.from_fields(good).request_id == "req-1"
    with pytest.raises(MessageError, match=field) as raised:
        RefreshJob.from_fields({**good, field: value})
    assert len(str(raised.value)) < 300
