"""Refresh: bring the offline store up to date with Dynamics 365 through change tracking.

Per table one change read from the token the download (or the last refresh) recorded
(``wizard.crm.changes.read_changes``: delta links, with the ``modifiedon`` fallback and a full re-read when a
token expired). When nothing changed, that is the only request for the table. When something did, the
filters are run again for the table's scope (a row may have entered or left it); changed rows in scope are
stored, rows deleted on the server or out of scope leave the store. Rows with unsent offline changes are not
touched: go-online merges them against the row they were edited from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wizard.crm.client import DataverseClient
from wizard.crm.entities import UserQuery
from wizard.isotime import now_z
from wizard.offline.download import CancelFlag, Cancelled, Progress, scope_of
from wizard.offline.store import OfflineStore
from wizard.offline.tables import TABLES


@dataclass
class RefreshResult:
    changed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def refresh(
    client: DataverseClient,
    store: OfflineStore,
    filters: Sequence[UserQuery],
    *,
    progress: Progress | None = None,
    cancel: CancelFlag | None = None,
) -> RefreshResult:
    result = RefreshResult()
    for spec in TABLES:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled", user_text="The refresh was cancelled.")
        name = spec.logical_name
        token = store.token(name)
        if token is None:  # not taken offline (the user may not read the table)
            continue
        changes = client.read_changes(spec.entity_set, spec.select, token)
        result.notices.extend(changes.notices)
        changed = removed = 0
        if changes.rows or changes.deleted_ids or changes.full_read:
            scope = scope_of(client, store, spec, filters)
            rows = [r for r in changes.rows if str(r.get(spec.primary_id) or "").lower() in scope]
            changed = store.put_server_rows(name, rows)
            gone = {i.lower() for i in changes.deleted_ids}
            gone |= {str(r.get(spec.primary_id) or "").lower() for r in changes.rows} - scope
            if changes.full_read:
                gone |= store.ids(name) - scope
            removed = store.remove_server_rows(name, gone & store.ids(name))
        store.set_token(name, changes.next_token)
        result.changed[name], result.removed[name] = changed, removed
        if progress is not None:
            progress(name, changed, changed)
    store.set_meta("refreshed_at", now_z())
    return result
