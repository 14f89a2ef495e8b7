"""A fixture corpus of synthetic WhatsApp Web bodies: the cases the crawl facts call for.

The bodies come from `devtools.upstream_pages`, the generators the stub upstream serves
(one implementation); this module names the cases: home pages of 100 KB (2024),
300 KB (2025), 580 KB (2026) and 1.05 MB (the largest seen) with the first match at
19 KB and at 82 KB (the range seen) and 2 or 3 occurrences, sw.js in its escaped form,
the 6 KB "Sorry" page, the mobile page, and gzip'd variants.
"""

from __future__ import annotations

import gzip
import itertools
from dataclasses import dataclass

from devtools import upstream_pages as pages

HOME_REVISION = 1045818043
SW_REVISION = 1026131876
HOME_SIZES = (100_000, 300_000, 580_000, 1_050_827)
FIRST_MATCH_AT = (19_000, 82_000)


@dataclass(frozen=True)
class Case:
    """A body as the upstream sends it, and the revision it carries (None: none)."""

    name: str
    body: bytes
    revision: int | None
    gzip: bool = False
    # Home pages: where the first field starts and how many there are.
    first_at: int = 0
    occurrences: int = 0

    def __str__(self) -> str:
        return self.name

    def decoded(self) -> bytes:
        """The body once its Content-Encoding is undone."""
        return gzip.decompress(self.body) if self.gzip else self.body


def home_pages() -> list[Case]:
    """Every size by every first-match offset by 2 and 3 occurrences."""
    return [
        Case(
            f"home {size // 1000} KB, first at {at // 1000} KB, x{count}",
            pages.home_page(HOME_REVISION, size=size, first_at=at, occurrences=count),
            HOME_REVISION,
            first_at=at,
            occurrences=count,
        )
        for size, at, count in itertools.product(HOME_SIZES, FIRST_MATCH_AT, (2, 3))
    ]


def with_revision() -> list[Case]:
    """Every body that carries a revision, gzip'd variants included."""
    plain = [*home_pages(), Case("sw.js", pages.sw_js(SW_REVISION), SW_REVISION)]
    gzipped = [
        Case(f"{case.name}, gzip", pages.gzipped(case.body), case.revision, gzip=True)
        for case in (plain[-1], next(c for c in plain if "580 KB" in c.name))
    ]
    return plain + gzipped


def without_revision() -> list[Case]:
    """The answers that carry no revision: what the gate and a broken page give."""
    return [
        Case("sorry page (no browser headers)", pages.sorry_page(), None),
        Case("mobile page", pages.mobile_page(), None),
        Case("home page without the field", pages.home_page(None), None),
        Case("sw.js without the field", pages.sw_js(None), None),
        Case("sorry page, gzip", pages.gzipped(pages.sorry_page()), None, gzip=True),
    ]
