"""The named clients of one CLIENT LIST reply: the two fields the fleet reads, nothing else.

A reply holds one line per client, `id=… addr=… laddr=… fd=… name=… age=… idle=…`, and
10,000 clients make about 3 MB; redis-py's own parse builds a dict of ~25 fields per
line on the event loop (~100 ms). This reads the bytes as they came
(wa_version_client._redis_compat.raw_client_list) with one compiled pattern whose
literal start, ` name=wav`, the regex engine finds by a plain search: lines of other
names (unnamed, a sentinel's, another program's) cost no more than that search.

Names are untrusted: any client may set any name. Redis and Valkey refuse a name with a
space, a newline or any byte outside `!`..`~` (CLIENT SETNAME, HELLO's SETNAME), and set
no length limit; so a name is the run of bytes up to the next space, and the fields
after it are skipped whole up to `age=`. A name is decoded as UTF-8 with replacement,
as the service's clients decode every reply (a server that let other bytes through
would give U+FFFD, which no manager name holds). Only names of the fleet's scheme
(`wav…`) are returned: the fleet counts those that do not parse (shared/fleet.py).
"""

from __future__ import annotations

import re
from typing import NamedTuple

SCHEME = b"wav"  # how every manager name starts (`wav1:`, a later version's `wav2:`)

# ` name=wav…` (not `lib-name=`: a space before it), then field by field up to
# ` age=<digits>` (no field after the name holds a space; only addr and laddr may, a
# socket path the server's own configuration names). Redis 6.2 to 7.x and Valkey 8 put
# age right after name; the skip keeps a server that adds a field between them right.
_NAMED = re.compile(rb" name=(" + SCHEME + rb"[^ \n]*)(?: [^ \n]+)*? age=([0-9]+) ")


class NamedClient(NamedTuple):
    """A client named in the fleet's scheme, as CLIENT LIST shows it."""

    name: str
    age: int  # seconds connected, as the server counts them


def named_clients(reply: bytes) -> list[NamedClient]:
    """Every client of `reply` (CLIENT LIST's, unparsed) whose name starts `wav`."""
    # finditer, not findall: one match per step lets a thread running this hand the GIL
    # back to the event loop between two (findall holds it for the whole reply, ~10 ms).
    return [
        NamedClient(found[1].decode("utf-8", "replace"), int(found[2]))
        for found in _NAMED.finditer(reply)
    ]
