"""The conflicts the engine logged for the synchronizing organization: list them, decide one.

Deciding is "crm" or "mailbox" (the engine applies that side's value to the other side, under the profile's
engine lock) or "keep" (both sides stay as they are and the conflict stops asking; it is marked decided for the
side the policy kept, Dynamics 365 when none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from wizard.app.factory import Factory
from wizard.errors import D365SyncError
from wizard.sync.state import ConflictRecord, StateDB

Use = Literal["crm", "mailbox", "keep"]
KEPT = "both sides are kept as they are"


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
    """Decide conflict ``conflict_id`` (``use``: "crm", "mailbox" or "keep") and say what was done.

    "crm"/"mailbox" raise KeyError for an unknown id and ValueError for another ``use``; with
    ``not_sync_computer`` they first check that this computer synchronizes and raise the error it makes when
    not. "keep" only writes the state DB: an unknown or decided conflict is left alone."""
    if use == "keep":
        keep_conflict(factory, conflict_id)
        return KEPT
    with factory.engine() as engine:
        if not_sync_computer is not None and not engine.is_sync_computer():
            raise not_sync_computer()
        return engine.resolve_conflict(conflict_id, use)


def keep_conflict(factory: Factory, conflict_id: int) -> None:
    """Stop asking about a conflict without changing either side."""
    with StateDB.open(factory.where.state_db) as state:
        record = next((c for c in state.conflicts() if c.id == conflict_id), None)
        if record is not None and not record.resolved:
            state.resolve_conflict(conflict_id, "mailbox" if record.winner == "mailbox" else "crm")
