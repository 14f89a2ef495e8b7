"""BoundedDecoder alone: its bound on what it makes, whatever it is given."""

from __future__ import annotations

from devtools.hostile_upstream import gzipped_zeros
from worker.decoding import STEP, BoundedDecoder

CAP = 1 << 20


def test_the_decoder_never_makes_more_than_the_limit_plus_one() -> None:
    """A 64 MB bomb given whole: decoded in pieces of at most STEP bytes, limit + 1 in all
    (the byte that proves the body goes on), however much input is left."""
    decoder = BoundedDecoder("gzip", limit=CAP)
    pieces = [len(piece) for piece in decoder.decode(gzipped_zeros(64 << 20, layers=1))]
    assert max(pieces) <= STEP
    assert sum(pieces) == CAP + 1
