"""How the program writes a moment as text: UTC, to the second, with ``Z`` (``2026-12-07T21:58:53Z``).

One format for the JSON of ``d365sync status``, the state DB's timestamps, the claim on the mailbox record and
Dataverse filter literals; a naive value is taken as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def iso_z(value: datetime) -> str: ...
@overload
def iso_z(value: None) -> None: ...
@overload
def iso_z(value: datetime | None) -> str | None: ...
def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_z() -> str:
    """This moment, as :func:`iso_z` writes it."""
    return iso_z(datetime.now(UTC))


__all__ = ["iso_z", "now_z"]
