"""What the Node and Go clients take from the model besides the message: the Redis names
(Keys), the fields of the job a report writes (RefreshJob), the report script, and what
"latest" means (its default maximum age and its reasons), and the connection name a
subscriber sets for the fleet and how long after a change it renames it
(contract/_manager_name.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from devtools.contract.common import hash_fields
from wa_version_client._reports import ONCE_PER_INTERVAL
from wa_version_client.contract import DEFAULT_MAX_AGE, REASONS, Keys, RefreshJob
from wa_version_client.contract import _manager_name as manager_name
from wa_version_client.contract._codec import REQUIRED

PREFIX = "{prefix}"


@dataclass(frozen=True)
class Key:
    """A public Redis name: `<prefix>:<suffix>`."""

    attr: str
    suffix: str
    doc: str


def keys() -> list[Key]:
    """Every name Keys declares (its properties), in order."""
    found = []
    named = Keys(PREFIX)
    for attr, value in vars(Keys).items():
        if isinstance(value, property):
            name = getattr(named, attr)
            assert name.startswith(PREFIX + ":"), name
            found.append(
                Key(attr, name.removeprefix(PREFIX + ":"), " ".join((value.__doc__ or "").split()))
            )
    return found


@dataclass(frozen=True)
class JobField:
    """A field of the job a report writes; `default` is its text, or None if it has none."""

    name: str
    default: str | None


def job_fields() -> list[JobField]:
    found = []
    for field in hash_fields(RefreshJob):
        assert field.hash_name is not None
        default = None if field.default is REQUIRED else field.wire.type.write_text(field.default)
        found.append(JobField(field.hash_name, default))
    return found


def report_script() -> str:
    """The Lua script every client's report runs (wa_version_client/_reports.py)."""
    script = ONCE_PER_INTERVAL.strip("\n") + "\n"
    if "`" in script or "${" in script:
        raise ValueError("the report script must fit a JavaScript and a Go raw string")
    return script


def latest_max_age_ms() -> int:
    """The default maximum age of the service's last success, in ms (contract/_latest.py)."""
    return round(DEFAULT_MAX_AGE * 1000)


def latest_reasons() -> dict[str, str]:
    """Why a held version is not the latest, by reason (contract/_latest.py)."""
    return dict(REASONS)


def manager_name_parts(client: str) -> dict[str, str | int]:
    """What `client`'s connection name is made of: `<prefix>:<id>:<client>:<version>`,
    the id's pattern, the character class and length a default id is cut to (a host
    name's other characters become `_`, as default_manager_id does), the mark of no
    version yet (contract/_manager_name.py)."""
    assert client in manager_name.CLIENTS, client
    character = manager_name.ID_TEXT.pattern.removesuffix(f"{{1,{manager_name.ID_MAX_LENGTH}}}")
    assert re.fullmatch(r"\[[^\]]+\]", character), manager_name.ID_TEXT.pattern
    return {
        "prefix": manager_name.PREFIX,
        "client": client,
        "idPattern": f"^{manager_name.ID_TEXT.pattern}$",
        "idCharacter": character,
        "idMaxLength": manager_name.ID_MAX_LENGTH,
        "noVersion": manager_name.NO_VERSION,
    }


def rename_delay_ms() -> dict[str, int]:
    """How long after a change a subscriber renames its connection, in ms: a random delay
    from `min` up to `max` (RENAME_DELAY_MIN/MAX, contract/_manager_name.py)."""
    delays = {"min": manager_name.RENAME_DELAY_MIN, "max": manager_name.RENAME_DELAY_MAX}
    found = {name: round(seconds * 1000) for name, seconds in delays.items()}
    assert all(found[name] == seconds * 1000 for name, seconds in delays.items()), delays
    assert 0 < found["min"] < found["max"], delays
    return found
