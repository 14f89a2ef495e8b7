"""WAVersion: parsing, formatting, ordering and the uint32 bound."""

from __future__ import annotations

import pytest

from shared.errors import InvalidVersion
from wa_version_client.contract import UINT32_MAX, WAVersion


def test_parses_and_formats_the_dotted_form() -> None:
    """`2.3000.N` round-trips through parse and str."""
    version = WAVersion.parse("2.3000.1012345678")
    assert version == WAVersion(2, 3000, 1012345678)
    assert str(version) == "2.3000.1012345678"
    assert version.array == [2, 3000, 1012345678]


def test_revision_becomes_a_web_version() -> None:
    """A client_revision N is the version [2, 3000, N]."""
    assert WAVersion.from_revision(1045818043).array == [2, 3000, 1045818043]


def test_revision_above_uint32_is_rejected() -> None:
    """whatsmeow stores uint32 parts, so a larger revision is an error, not a wrap-around."""
    assert WAVersion.from_revision(UINT32_MAX).patch == UINT32_MAX
    with pytest.raises(InvalidVersion, match="does not fit a uint32"):
        WAVersion.from_revision(UINT32_MAX + 1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2.3000",
        "2.3000.1.4",
        "2.3000.-1",
        "2.3000.x",
        "v2.3000.1",
        "2.3000.١٢",
        "2.03000.1",
        " 2.3000.1",
        "2.3000.1\n",
        "2.3000.4294967296",
        "2.3000." + "9" * 5000,  # past Python's 4,300-digit int() limit: a ValueError once
    ],
)
def test_malformed_text_is_rejected(text: str) -> None:
    """Anything but three ASCII decimal parts is not a version."""
    with pytest.raises(InvalidVersion):
        WAVersion.parse(text)


@pytest.mark.parametrize("array", [[2, 3000], [2, 3000, "1"], [2, 3000, True], [2, 3000, 1.5]])
def test_malformed_arrays_are_rejected(array: list[object]) -> None:
    """An array must hold exactly three integers (booleans are not integers here)."""
    with pytest.raises(InvalidVersion):
        WAVersion.from_array(array)


def test_versions_order_by_their_parts() -> None:
    """A higher revision is newer; major and minor weigh more than the revision."""
    assert WAVersion(2, 3000, 1) < WAVersion(2, 3000, 2) < WAVersion(2, 3001, 0)
