"""The conflicts the engine logged for the synchronizing organization: list them, name them, decide one.

Deciding is choosing the value both sides keep: "crm" or "mailbox" (the engine applies that side's value to
the other side, under the profile's engine lock, and stores it as the merge base, so both sides are equal
afterwards). There is no third choice. A conflict the policy decided ("Dynamics 365 wins", "mailbox wins",
"newest wins", a one-way field) has the winning value on both sides already: it is logged resolved and
nothing needs to be done, and choosing the other side applies the losing value instead. A conflict left to
the user ("Ask me") has nothing applied yet, so there is nothing to "keep": the two sides differ until one
value is chosen (the conflict card and ``conflicts resolve`` offer just the two values).

Naming: :func:`conflict_title` says which record and field a conflict is about ("Contacts · Jörg Bär — Job
Title"), with the field's display name from the Synchronization Fields table (English; the GUI translates it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Literal

from wizard.app.factory import Factory
from wizard.errors import D365SyncError
from wizard.settings.enums import RECORD_KINDS, Kind
from wizard.sync.mapping import field_specs
from wizard.sync.state import ConflictRecord, StateDB

Use = Literal["crm", "mailbox"]
USES: tuple[Use, ...] = ("crm", "mailbox")

WHOLE_RECORD = "*"
"""The field of a whole-record conflict (deleted on one side while edited on the other)."""
WHOLE_RECORD_LABEL = "Whole record"

KIND_LABELS: dict[str, str] = {
    Kind.CONTACTS: "Contacts",
    Kind.APPOINTMENTS: "Appointments",
    Kind.TASKS: "Tasks",
}


def _short(label: str) -> str:
    """A spec's label without its explanation: "Job Title"; "Start (part of Appointment Time)" -> "Start"."""
    return re.sub(r"\s*\(.*\)\s*$", "", label).strip() or label


@cache
def _labels() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for kind in RECORD_KINDS:
        for spec in field_specs(kind, all_addresses=True):
            out[(str(kind), spec.name)] = _short(spec.label or spec.name)
    return out


def field_label(kind: str, field: str) -> str:
    """The display name of a synced field ("department" -> "Department"), as the Synchronization Fields table
    names it; "Whole record" for a whole-record conflict; the logical name when the table does not know it."""
    if field == WHOLE_RECORD:
        return WHOLE_RECORD_LABEL
    return _labels().get((kind, field), field)


def field_labels() -> dict[tuple[str, str], str]:
    """(kind, field) -> display name, for every synced field (the GUI checks its translations against this)."""
    return dict(_labels())


def conflict_title(record: ConflictRecord) -> str:
    """ "Contacts · Jörg Bär — Job Title" (the record's name is left out when the log does not know it)."""
    what = KIND_LABELS.get(record.kind, str(record.kind).title())
    if record.item:
        what += f" · {record.item}"
    return f"{what} — {field_label(record.kind, record.field)}"


def list_conflicts(factory: Factory, *, unresolved_only: bool = False) -> list[ConflictRecord]:
    """The logged conflicts, oldest first (none when the organization never synchronized: the state DB is not
    created for it)."""
    state_db = factory.where.state_db
    if not state_db.exists():
        return []
    with StateDB.open(state_db) as state:
        return state.conflicts(unresolved_only=unresolved_only)


def resolve_conflict(
    factory: Factory,
    conflict_id: int,
    use: str,
    *,
    not_sync_computer: Callable[[], D365SyncError] | None = None,
) -> str:
    """Decide conflict ``conflict_id``: ``use`` ("crm" or "mailbox") names the value both sides get; says what
    was done ("Contacts · Jörg Bär — Job Title: Dynamics 365 and the mailbox now both have ...").

    Raises KeyError for an unknown id and ValueError for another ``use`` (there is no "keep": see the module
    docstring); with ``not_sync_computer`` it first checks that this computer synchronizes and raises the
    error it makes when not."""
    if use not in USES:
        raise ValueError(f"use must be one of {', '.join(USES)}, not {use!r}")
    with factory.engine() as engine:
        if not_sync_computer is not None and not engine.is_sync_computer():
            raise not_sync_computer()
        done = engine.resolve_conflict(conflict_id, use)
    record = next((c for c in list_conflicts(factory) if c.id == conflict_id), None)
    return f"{conflict_title(record)}: {done}" if record is not None else done
