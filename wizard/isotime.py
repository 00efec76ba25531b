"""How the program writes a moment as text: UTC with ``Z`` (``2026-12-07T21:58:53Z``).

One format for the JSON of the command line, the claim on the mailbox record and Dataverse's date-time
columns; a naive value is taken as UTC. ``precise=True`` keeps the fraction of a second where the value has
one (the start and end of a run: a quick run must not measure 0 s).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def iso_z(value: datetime, *, precise: bool = False) -> str: ...
@overload
def iso_z(value: None, *, precise: bool = False) -> None: ...
@overload
def iso_z(value: datetime | None, *, precise: bool = False) -> str | None: ...
def iso_z(value: datetime | None, *, precise: bool = False) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if precise and value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def now_z() -> str:
    """This moment, as :func:`iso_z` writes it."""
    return iso_z(datetime.now(UTC))


__all__ = ["iso_z", "now_z"]
