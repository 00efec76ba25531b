"""Go offline: download every table in scope into a new offline store, a page at a time, then swap it in.

Per table: the ids the user's offline filters select (plus the rows the tables downloaded before refer to:
see ``wizard.offline.scope``), then the table itself read with change tracking (``Prefer:
odata.track-changes``) one page at a time; the rows in scope are written to the new store page by page, so
no table is ever held in memory (only the set of ids in scope). The last page's ``@odata.deltaLink`` is the
table's change token for later refreshes (``wizard.offline.refresh``); a table with change tracking off is
read the same way without it and refreshed by ``modifiedon``. Progress is reported per table (rows done /
rows in scope); a cancel between pages deletes the new file and leaves the previous store as it was. A table
the user may not read (a privilege error) is left out with a notice. Table definitions read less than a day
ago are taken over from the previous store.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from wizard.crm.changes import is_tracking_not_enabled, make_token
from wizard.crm.client import DataverseClient
from wizard.crm.entities import UserQuery
from wizard.crm.metadata import TableDefinition, read_table
from wizard.errors import D365SyncError
from wizard.isotime import now_z
from wizard.odata.errors import NotFoundError, ODataError, PrivilegeError
from wizard.offline.scope import PAGE_SIZE, filter_ids, remember_filters
from wizard.offline.store import OfflineStore, now_text
from wizard.offline.tables import ANNOTATIONS, TABLES, OfflineTable
from wizard.sync.merge import parse_time

NEW_SUFFIX = ".download"
DEFINITIONS_MAX_AGE = timedelta(days=1)

Progress = Callable[[str, int, int], None]
"""``(table, rows done, rows in scope)``, called after every page."""


class CancelFlag(Protocol):
    """``threading.Event`` fits: the work stops at the next page when it is set."""

    def is_set(self) -> bool: ...


class Cancelled(D365SyncError):
    """The user cancelled; nothing was changed."""


class _Never:
    def is_set(self) -> bool:
        return False


@dataclass
class DownloadResult:
    counts: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def _pages(
    client: DataverseClient, spec: OfflineTable, *, tracked: bool, page_size: int
) -> Iterator[Mapping[str, Any]]:
    prefer = [ANNOTATIONS, *(["odata.track-changes"] if tracked else [])]
    return client.session.iter_pages(
        spec.entity_set, params=[("$select", ",".join(spec.select))], page_size=page_size, prefer=prefer
    )


def _latest(rows: Iterable[Mapping[str, Any]], current: str) -> str:
    for row in rows:
        stamp = str(row.get("modifiedon") or "")
        if stamp > current:
            current = stamp
    return current


def download_table(
    client: DataverseClient,
    store: OfflineStore,
    spec: OfflineTable,
    scope: set[str],
    *,
    progress: Progress,
    cancel: CancelFlag,
    page_size: int = PAGE_SIZE,
) -> int:
    """Write the rows of ``spec`` whose id is in ``scope`` into ``store``; record the change token."""
    total, done = len(scope), 0
    progress(spec.logical_name, 0, total)
    tracked = True
    try:
        pages = iter(_pages(client, spec, tracked=True, page_size=page_size))
        first = next(pages, None)
    except ODataError as error:
        if not is_tracking_not_enabled(error):
            raise
        tracked = False
        pages = iter(_pages(client, spec, tracked=False, page_size=page_size))
        first = next(pages, None)
    delta_link: str | None = None
    latest = "1900-01-01T00:00:00Z"
    document = first
    while document is not None:
        if cancel.is_set():
            raise Cancelled("cancelled", user_text="Going offline was cancelled; nothing was changed.")
        rows = [
            row
            for row in document.get("value") or []
            if isinstance(row, dict) and str(row.get(spec.primary_id) or "").lower() in scope
        ]
        done += store.put_server_rows(spec.logical_name, rows)
        latest = _latest(rows, latest)
        if document.get("@odata.deltaLink"):
            delta_link = client.session.checked_link(document["@odata.deltaLink"], "@odata.deltaLink")
        progress(spec.logical_name, done, total)
        document = next(pages, None)
    if tracked and delta_link:
        store.set_token(spec.logical_name, make_token("delta", delta_link))
    else:
        store.set_token(spec.logical_name, make_token("modifiedon", latest))
    return done


def scope_of(
    client: DataverseClient, store: OfflineStore, spec: OfflineTable, filters: Sequence[UserQuery]
) -> set[str]:
    """The ids in scope: what the filters select plus what the tables before ``spec`` refer to."""
    ids = filter_ids(client, spec.logical_name, filters)
    for earlier in TABLES:
        if earlier is spec:
            break
        ids |= store.referred_ids(earlier.logical_name, spec.logical_name)
    return ids


def go_offline(
    client: DataverseClient,
    path: Path,
    filters: Sequence[UserQuery],
    *,
    progress: Progress | None = None,
    cancel: CancelFlag | None = None,
    user_id: str = "",
    language: int = 1033,
    page_size: int = PAGE_SIZE,
) -> DownloadResult:
    """Download the tables in scope into a new store beside ``path`` and swap it in when all went well.

    The caller makes sure the store at ``path`` has no queued changes (they would be lost by the swap)."""
    report = progress or (lambda _table, _done, _total: None)
    flag = cancel or _Never()
    new_path = path.with_name(path.name + NEW_SUFFIX)
    _remove(new_path)
    result = DownloadResult()
    reuse, read_at = _fresh_definitions(path)
    try:
        with OfflineStore.open(new_path) as store:
            store.set_meta("definitions_at", read_at or now_z())
            store.set_meta("user_id", user_id)
            store.set_meta("language", str(language))
            remember_filters(store, filters)
            for spec in TABLES:
                if flag.is_set():
                    raise Cancelled(
                        "cancelled", user_text="Going offline was cancelled; nothing was changed."
                    )
                try:
                    known = reuse.get(spec.logical_name)
                    store.save_definition(known or read_table(client.session, spec.logical_name))
                except NotFoundError:  # a service without table definitions: records are checked by it alone
                    result.notices.append(f"No table definitions for {spec.logical_name}.")
                try:
                    scope = scope_of(client, store, spec, filters)
                    result.counts[spec.logical_name] = download_table(
                        client, store, spec, scope, progress=report, cancel=flag, page_size=page_size
                    )
                except PrivilegeError:  # a table the user may not read stays online (and empty here)
                    result.counts[spec.logical_name] = 0
                    result.notices.append(
                        f"You may not read {spec.entity_set} in Dynamics 365, so they were not taken offline."
                    )
            store.set_meta("downloaded_at", now_text())
            store.set_meta("refreshed_at", now_z())
            store.set_meta("mode", "offline")
    except BaseException:
        _remove(new_path)
        raise
    for stale in (
        Path(f"{path}-wal"),
        Path(f"{path}-shm"),
    ):  # the old store's, never to be applied to the new
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    os.replace(new_path, path)
    return result


def _fresh_definitions(path: Path) -> tuple[dict[str, TableDefinition], str | None]:
    """The table definitions of the store at ``path`` when they were read less than a day ago (they change
    rarely and cost six requests a table), with when they were read; nothing otherwise."""
    if not path.exists():
        return {}, None
    with OfflineStore.open(path) as old:
        read_at = old.get_meta("definitions_at")
        stamp = parse_time(read_at)
        if stamp is None or datetime.now(UTC) - stamp > DEFINITIONS_MAX_AGE:
            return {}, None
        found = {spec.logical_name: old.definition(spec.logical_name) for spec in TABLES}
    return {name: d for name, d in found.items() if d is not None}, read_at


def _remove(path: Path) -> None:
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()
