"""The user's decision on a record going online held back: a conflict left to them or a duplicate.

Two choices, as the messaging conflicts have: ``local`` (my offline change) or ``server`` (what Dynamics 365 has).

| held because | ``local`` | ``server`` |
|---|---|---|
| a field changed on both sides, policy "ask me" | the offline value is sent at the next go-online | the field takes the server's value |
| deleted in Dynamics 365, edited offline (``*``) | created again with the same id | the record leaves the store |
| edited in Dynamics 365, deleted offline (``*``) | deleted whatever the server's version | the server's record comes back |
| a duplicate the service found | created anyway (duplicate detection off for it) | the new record is discarded |

The decision is logged on the conflict (resolved, winner); nothing is sent here: the next go-online sends
what is queued.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from wizard.offline.store import OfflineStore

Use = Literal["local", "server"]
USES: tuple[Use, ...] = ("local", "server")
CREATE_ANYWAY = "create-anyway"

Fetch = Callable[[str, str], Mapping[str, Any] | None]
"""``(table, id)`` -> the server's row (None: it does not exist there)."""


def decide(store: OfflineStore, conflict_id: int, use: str, fetch: Fetch) -> str:
    """Apply the user's choice; says what will happen. KeyError: no such open conflict; ValueError: ``use``."""
    if use not in USES:
        raise ValueError(f"use must be one of {', '.join(USES)}, not {use!r}")
    conflict = store.conflict(conflict_id)
    if conflict is None or conflict.resolved:
        raise KeyError(conflict_id)
    table, row_id = conflict.table, conflict.row_id
    if conflict.reason == "duplicate":
        if use == "local":
            store.release(table, row_id, note=CREATE_ANYWAY)
            done = "it will be created at the next go-online although it looks like a duplicate"
        else:
            store.drop_changes(table, row_id, None)
            done = "the new record was discarded"
    elif conflict.field == "*" and conflict.reason == "deleted_on_server":
        if use == "local":
            store.requeue_as_create(table, row_id)
            done = "it will be created again at the next go-online"
        else:
            store.drop_changes(table, row_id, None)
            done = "your offline changes were dropped; the record was deleted in Dynamics 365"
    elif conflict.field == "*":
        if use == "local":
            store.release(table, row_id, any_version=True)
            done = "it will be deleted at the next go-online"
        else:
            store.drop_changes(table, row_id, fetch(table, row_id))
            done = "the record from Dynamics 365 is back"
    else:
        if use == "local":
            store.release(table, row_id)
            done = "your offline value will be sent at the next go-online"
        else:
            store.drop_fields(table, row_id, [conflict.field])
            remaining = [c for c in store.queue() if c.table == table and c.id == row_id]
            if remaining:
                store.release(table, row_id)
            done = "the value from Dynamics 365 is kept"
    store.resolve_conflict(conflict_id, use)
    return done
