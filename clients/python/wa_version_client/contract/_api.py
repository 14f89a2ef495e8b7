"""The API's answers as other programs read them, for its OpenAPI document.

The state is VersionState's JSON form (`to_json`) and each history entry a version-changed
message (PublishedVersion); what is left of the answers' shapes is declared here.
`./dev contract` makes the document's components from all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from wa_version_client.contract._model import Const, Flag, Integer, Text, Wire


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What a refresh answers: the state's fields, and beside them whether this call fetched."""

    refreshed: Annotated[bool, Wire(Flag(), "Whether this call fetched.")]


@dataclass(frozen=True, slots=True)
class ApiFailure:
    """The envelope of every failed call (every success is `status: true`, `code: 200`)."""

    status: Annotated[bool, Wire(Const(False), "Always false: the call failed.")]
    code: Annotated[int, Wire(Integer(minimum=400, maximum=599), "The HTTP status.")]
    message: Annotated[str, Wire(Text(), "The status in words, e.g. `Bad request`.")]
    error: Annotated[str, Wire(Text(), "What went wrong, for the person reading it.")]
