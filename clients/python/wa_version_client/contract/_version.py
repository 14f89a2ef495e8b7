"""The WhatsApp Web version: `[2, 3000, N]`, written `2.3000.N`.

whatsmeow stores each part as a uint32, so every part must fit one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wa_version_client.contract._errors import InvalidVersion

UINT32_MAX = 2**32 - 1

# Every WhatsApp Web version seen so far is 2.3000.N; only N (the client revision) moves.
WEB_MAJOR = 2
WEB_MINOR = 3000


# Three ASCII decimals without leading zeros (a zero alone is fine), dot-separated; at
# most 10 digits each, as a uint32 has (the range is checked after).
VERSION_TEXT = re.compile(r"(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})")


@dataclass(frozen=True, order=True, slots=True)
class WAVersion:
    """A version as three uint32 parts; ordered, so `a < b` means a is older."""

    major: int
    minor: int
    patch: int

    def __post_init__(self) -> None:
        for part in (self.major, self.minor, self.patch):
            # bool is an int in Python; a version of True parts is a bug, not a version.
            if type(part) is not int or not 0 <= part <= UINT32_MAX:
                raise InvalidVersion(f"version part {part!r} is not a uint32")

    @classmethod
    def from_revision(cls, revision: int) -> WAVersion:
        """Build the version WhatsApp Web serves for a `client_revision`."""
        if revision > UINT32_MAX:
            raise InvalidVersion(f"client_revision {revision} does not fit a uint32")
        return cls(WEB_MAJOR, WEB_MINOR, revision)

    @classmethod
    def parse(cls, text: str) -> WAVersion:
        """Parse `2.3000.N`."""
        parts = VERSION_TEXT.fullmatch(text)
        if parts is None:
            raise InvalidVersion(f"{text[:40]!r} is not a version like 2.3000.1012345678")
        major, minor, patch = parts.groups()
        return cls(int(major), int(minor), int(patch))

    @classmethod
    def from_array(cls, array: Sequence[object]) -> WAVersion:
        """Build from `[2, 3000, N]`."""
        ints = [p for p in array if isinstance(p, int) and not isinstance(p, bool)]
        if len(array) != 3 or len(ints) != 3:
            raise InvalidVersion(f"{list(array)!r} is not a version array of three integers")
        return cls(*ints)

    @classmethod
    def of(cls, held: object) -> WAVersion:
        """The version in what a connection manager holds: a WAVersion, `"2.3000.N"`,
        `[2, 3000, N]` (Baileys' and whatsmeow's form, a list or a tuple), or anything whose
        `.version` is a WAVersion (a PublishedVersion)."""
        if isinstance(held, WAVersion):
            return held
        if isinstance(held, str):
            return cls.parse(held)
        if isinstance(held, Sequence):
            return cls.from_array(held)
        inner = getattr(held, "version", None)
        if isinstance(inner, WAVersion):
            return inner
        raise InvalidVersion(f"{held!r:.60} is not a version, a 2.3000.N string or an array")

    @property
    def array(self) -> list[int]:
        return [self.major, self.minor, self.patch]

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"
