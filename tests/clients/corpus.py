"""Version-changed messages with the Python library's verdict on each, for the Node client
to agree with (clients/node/test/wire.test.js, clients/go/waversion/follow_test.go): the
same bytes must be accepted, or refused, by every language.

Two differences are known and left out: `"seq": 7.0` or `7e0`, or `2.0` in the array
(Python and Go refuse a float; Node's JSON.parse cannot tell 7.0 from 7 and reads 7),
and an epoch or seq above 2**53 (Python and Go read up to an int64; a JavaScript number
cannot hold it exactly, so Node refuses it). The service writes neither.
"""

from __future__ import annotations

import json
from typing import Any

from wa_version_client.contract import MessageError, PublishedVersion

GOOD: dict[str, Any] = {
    "array": [2, 3000, 1026131876],
    "string": "2.3000.1026131876",
    "previous": {"array": [2, 3000, 1026131875], "string": "2.3000.1026131875"},
    "seq": 7,
    "epoch": 1_760_000_000_000,
    "changed_at": "2026-11-26T10:00:00.000Z",
    "source": "https://web.whatsapp.com/sw.js",
    "kind": "fetch",
}


def _with(**changes: Any) -> str:
    return json.dumps({**GOOD, **changes})


def _without(name: str) -> str:
    return json.dumps({key: value for key, value in GOOD.items() if key != name})


CASES: list[str] = [
    json.dumps(GOOD),
    _with(previous=None),
    _with(kind="pin"),
    _with(kind="unpin"),
    _without("kind"),  # messages from before pins existed
    _with(extra={"ignored": True}),
    _with(array=[2, 3000, 4294967295], string="2.3000.4294967295"),
    _with(array=[0, 0, 0], string="0.0.0"),
    _with(kind="rollback"),
    _with(kind=None),
    _with(array=[2, 3000, 1], seq=8),  # the array and the string disagree
    _with(array=[2, 3000, "1026131876"]),
    _with(array=[True, 3000, 5], string="1.3000.5"),  # true is not 1
    _with(array=[None, 3000, 5], string="0.3000.5"),  # nor null 0
    _with(array=[2, 3000]),
    _with(array=None),
    _with(string="2.3000.01026131876"),  # a leading zero
    _with(string="2.3000.4294967296", array=[2, 3000, 4294967296]),  # beyond a uint32
    _with(string="2.3000." + "9" * 5000),
    _with(string=" 2.3000.1026131876"),
    _with(string="2.3000.1026131876\n"),
    _with(string="\uff12.3000.1026131876"),  # a full-width digit two
    _with(string=2),
    _with(seq=0),
    _with(seq=-1),
    _with(seq="7"),
    _with(seq=True),
    _with(seq=None),
    _with(epoch=0),
    _with(epoch="1760000000000"),
    _with(changed_at=None),
    _with(source=7),
    _with(previous="2.3000.1"),
    _with(previous={"array": [2, 3000, 1]}),
    _with(previous={"string": "2.3000.x"}),
    _without("seq"),
    _without("epoch"),
    _without("string"),
    _without("changed_at"),
    _without("source"),
    _without("previous"),
    "[]",
    "null",
    '"2.3000.1026131876"',
    "{",
    "not json",
    "[" * 100_000,
    _with(seq=float("nan")),  # NaN, which JSON does not allow
    _with(seq=float("inf")),  # Infinity, likewise
    # previous is read from its string alone
    _with(previous={"array": [2, 3000, 1], "string": "2.3000.5"}),
]


def verdicts() -> list[dict[str, Any]]:
    """Each case with whether the Python library accepts it, and what it reads if so."""
    out: list[dict[str, Any]] = []
    for text in CASES:
        try:
            published = PublishedVersion.decode(text)
        except MessageError:
            out.append({"text": text, "accepted": False})
            continue
        fields = {
            "array": published.array,
            "seq": published.seq,
            "epoch": published.epoch,
            "kind": published.kind,
            "previous": None if published.previous is None else published.previous.array,
        }
        out.append({"text": text, "accepted": True, "fields": fields})
    return out
