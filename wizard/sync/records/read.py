"""Reading one record kind's changes: the CRM scope (the user's filters, FetchXML, change tracking) and the
mailbox listing, into what the planner merges.

- CRM side: the scope is the union of the user's active Outlook filters for the table (created from the
  defaults when the user has none; none active -> nothing of the kind). The user's filters are read once
  per run (shared by the kinds). The CRM cursor (:class:`~wizard.sync.cursors.CrmCursor`) keeps the
  Dataverse change token (``DataverseClient.read_changes``: change tracking, ``$deletedEntity`` rows), a
  digest of the active filters' FetchXML, the time of the last full read and the snapshot id -> ETag of the
  in-scope rows.

  * Incremental run (token valid, same filters, full read less than a day old): one delta read of the
    table's ids -- a run with nothing changed costs exactly that one request. Changed ids (plus last run's
    failures) are checked against the filters by running each filter's FetchXML with an extra
    ``<condition attribute="<pk>" operator="in">`` (chunked; filters directly under an entity are AND-ed,
    so the user's conditions still decide); the in-scope ones are read (chunked ``In`` queries) and
    reach the planner if their ETag differs from the snapshot. A changed row the filters no longer match,
    and a ``$deletedEntity`` id, is checked for existence if we knew it: deleted vs. out of scope (a
    series in ``recurringappointmentmasters`` counts as existing).
  * Full read (no token, token expired, filters changed, tracking off -- the ``modifiedon`` fallback
    cannot see deletions --, or the daily safety read, since a filter on time or on related rows can move
    a row in or out of scope without the row changing): a fresh token first (so what changes meanwhile
    comes back next run), then the whole scope with the filters' FetchXML and the rows, compared with the
    snapshot exactly as before. A cursor in the old format (a bare snapshot) leads to a full read.
- Mailbox side: ``MailboxStore.changes`` from the stored sync state, then ``get_many`` for what changed.
- Items whose operations failed last run come back: their CRM id was left out of the snapshot (so the row is
  listed as changed again) and their mailbox id is in the mailbox cursor's retry list.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wizard.crm.changes import ChangeSet
from wizard.crm.entities import QUERYTYPE_OUTLOOK
from wizard.crm.fetchxml import restrict_to_ids
from wizard.crm.filters import DEFAULT_OUTLOOK_FILTERS, TABLES, ensure_default_filters, list_filters
from wizard.errors import D365SyncError, Severity
from wizard.mailbox.base import (
    LISTING_PAGE,
    AppointmentItem,
    ContactItem,
    ItemNotFound,
    ProtocolError,
    TaskItem,
)
from wizard.odata.errors import ValidationError
from wizard.settings.enums import Kind
from wizard.sync import mapping
from wizard.sync.cursors import FULL_READ_EVERY, CrmCursor, MailboxCursor, parse_stamp
from wizard.sync.model import Fields, content_hash
from wizard.sync.planner import CrmChanges, Links, MailboxChanges, lookups
from wizard.sync.records import appointment_series as series
from wizard.sync.records.common import (
    CHUNK,
    FOLDERS,
    ID_COLUMN,
    READ_PAGE,
    SCOPE_CHUNK,
    TABLE,
    MailboxItem,
    chunks,
    in_filter,
    mailbox_view,
)
from wizard.sync.run import RunContext

log = logging.getLogger(__name__)

OPTIONAL_COLUMNS = frozenset({"modifiedon"})  # metadata a read can do without (see read_rows)
_MISSING_PROPERTY = re.compile(r"Could not find a property named '(\w+)'")
SERIES_INSTANCE_TYPES = (2, 3, 4)  # instancetypecode: occurrences/exceptions of a series (not synced alone)


@dataclass
class CrmRead:
    changed: dict[str, Fields]
    deleted: frozenset[str]
    out_of_scope: frozenset[str]
    full_resync: bool
    views: dict[str, Fields]  # the views of every row read this run (all in scope)
    cursor: CrmCursor  # the next cursor
    queries: list[str]  # the active filters' FetchXML
    reread: frozenset[str] = frozenset()  # waiting series with new instances: read their mailbox copy again


def filters_digest(queries: Sequence[str]) -> str:
    return hashlib.sha256("\x00".join(sorted(queries)).encode()).hexdigest()[:32]


@dataclass
class KindRead:
    crm: CrmChanges
    mailbox: MailboxChanges
    cursor: CrmCursor  # the next CRM cursor (versions: in-scope CRM id -> version)
    mailbox_state: str | None
    items: dict[str, MailboxItem]  # mailbox items fetched this run
    crm_rows: dict[str, Fields]  # every in-scope CRM row's view
    reread: frozenset[str] = frozenset()  # waiting series whose mailbox copy was read whole (series.ready)


def planned_view(
    kind: Kind, item: MailboxItem, mctx: mapping.MappingContext, waiting: Sequence[str] | None
) -> Fields:
    """The mailbox view the planner merges: a series' exceptions on ``waiting`` dates are left out, since
    Dynamics 365 has no occurrence there yet (they are written once it has; see :mod:`.appointment_series`)."""
    view = mailbox_view(kind, item, mctx)
    if waiting and view.get("recurrence") is not None:
        view["recurrence"] = series.without_exceptions(view["recurrence"], waiting)
    return view


class KindReader:
    """Reads one kind (contacts, appointments or tasks) from both sides for the planner."""

    def __init__(self, kind: Kind) -> None:
        self.record_kind: Kind = kind
        self.folder = FOLDERS[kind]

    def read_rows(
        self, ctx: RunContext, ids: Sequence[str], *, table_rows: int | None = None
    ) -> list[dict[str, Any]]:
        """The rows of ``ids`` with the columns the mapping needs (all pages of :meth:`row_pages`)."""
        return [row for page in self.row_pages(ctx, ids, table_rows=table_rows) for row in page]

    def row_pages(
        self, ctx: RunContext, ids: Sequence[str], *, table_rows: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows of ``ids`` with the columns the mapping needs, a page (at most READ_PAGE rows) at a time.

        By id (``In`` queries of CHUNK ids), or -- when ``table_rows`` (the table's size, known after a
        full change read) says that costs fewer requests -- the whole table in pages of READ_PAGE rows,
        keeping the rows asked for: an initial sync of N rows costs N/5,000 requests instead of N/50.
        """
        kind = self.record_kind
        entity_set = TABLES[TABLE[kind]][0]
        select = mapping.crm_select(kind, all_addresses=ctx.options.sync_all_addresses)
        if kind == Kind.CONTACTS:
            select = list(dict.fromkeys([*select, "_parentcustomerid_value"]))
        expand = mapping.crm_expand() if kind == Kind.APPOINTMENTS else None
        select = [c for c in select if c not in ctx.missing_columns]
        key = ID_COLUMN[kind]
        wanted = {i.lower() for i in ids}
        if not wanted:
            return
        paged = table_rows is not None and -(-max(table_rows, 1) // READ_PAGE) < -(-len(wanted) // CHUNK)
        parts: list[Sequence[str] | None] = [None] if paged else list(chunks(sorted(wanted)))
        page: list[dict[str, Any]] = []
        for chunk in parts:
            while True:
                given = 0  # rows of this query handed out already (a retry must not repeat them)
                try:
                    if chunk is None:
                        for row in ctx.crm.query(
                            entity_set, select=select, expand=expand, page_size=READ_PAGE
                        ):
                            if str(row.get(key) or "").lower() in wanted:
                                page.append(row)
                                if len(page) >= READ_PAGE:
                                    given += len(page)
                                    yield page
                                    page = []
                    else:
                        page.extend(
                            ctx.crm.query(
                                entity_set, select=select, filter=in_filter(key, chunk), expand=expand
                            )
                        )
                        if len(page) >= READ_PAGE:
                            yield page
                            page = []
                    break
                except ValidationError as error:
                    missing = _MISSING_PROPERTY.search(error.message or "")
                    if (
                        given
                        or missing is None
                        or missing.group(1) not in OPTIONAL_COLUMNS
                        or missing.group(1) not in select
                    ):
                        raise
                    # e.g. an environment whose activity tables lack modifiedon: "newest wins" then has no
                    # time to compare and falls back to Dynamics 365 wins, as the merge documents.
                    log.warning(
                        "%s: %s has no column %s; reading without it", kind, entity_set, missing.group(1)
                    )
                    ctx.missing_columns.add(missing.group(1))
                    select = [c for c in select if c != missing.group(1)]
                    if chunk is None:
                        page = []  # the whole table is read again
        if page:
            yield page

    def existing(self, ctx: RunContext, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` still exist in Dynamics 365 (the rest was deleted)."""
        kind = self.record_kind
        sets = [TABLES[TABLE[kind]][0]]
        if kind == Kind.APPOINTMENTS:
            sets.append("recurringappointmentmasters")  # a series is never mistaken for a deleted row
        found: set[str] = set()
        for entity_set in sets:
            for chunk in chunks(sorted({i.lower() for i in ids} - found)):
                for row in ctx.crm.query(
                    entity_set, select=[ID_COLUMN[kind]], filter=in_filter(ID_COLUMN[kind], chunk)
                ):
                    found.add(str(row[ID_COLUMN[kind]]).lower())
        return found

    def _account_names(
        self, ctx: RunContext, rows: Iterable[Mapping[str, Any]], known: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The names of the accounts ``rows`` name as their company (those not in ``known`` already)."""
        ids = sorted(
            {str(r["_parentcustomerid_value"]).lower() for r in rows if r.get("_parentcustomerid_value")}
            - set(known or ())
        )
        names: dict[str, str] = {}
        for chunk in chunks(ids):
            for row in ctx.crm.query(
                "accounts", select=["accountid", "name"], filter=in_filter("accountid", chunk)
            ):
                names[str(row["accountid"]).lower()] = str(row.get("name") or "")
        return names

    def _queries(self, ctx: RunContext, *, create_defaults: bool) -> list[str]:
        """The active filters' FetchXML for this kind; the user's filters are read once per run."""
        table = TABLE[self.record_kind]
        if ctx.outlook_filters is None:
            if create_defaults:
                ctx.outlook_filters = ensure_default_filters(
                    ctx.crm, QUERYTYPE_OUTLOOK, before_create=ctx.before_writes
                )
            else:
                ctx.outlook_filters = list_filters(ctx.crm, QUERYTYPE_OUTLOOK)
        filters = ctx.outlook_filters
        if not filters and not create_defaults:  # a dry run only evaluates the defaults
            return [d.fetchxml for d in DEFAULT_OUTLOOK_FILTERS if d.table == table]
        return [f.fetchxml for f in filters if f.active and f.returnedtypecode == table]

    def _in_scope(self, ctx: RunContext, queries: Sequence[str], ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` the filters match (the union), asking with the ids as a condition."""
        entity_set, key = TABLES[TABLE[self.record_kind]]
        wanted = sorted({i.lower() for i in ids})
        found: set[str] = set()
        for fetchxml in queries:
            for chunk in chunks([i for i in wanted if i not in found], SCOPE_CHUNK):
                for row in ctx.crm.fetch(entity_set, restrict_to_ids(fetchxml, key, chunk)):
                    if row.get(key):
                        found.add(str(row[key]).lower())
        return found

    def _views(
        self, ctx: RunContext, mctx: mapping.MappingContext, rows: Iterable[Mapping[str, Any]]
    ) -> tuple[dict[str, Fields], dict[str, str]]:
        kind = self.record_kind
        views: dict[str, Fields] = {}
        versions: dict[str, str] = {}
        for row in rows:
            if kind == Kind.APPOINTMENTS and row.get("instancetypecode") in SERIES_INSTANCE_TYPES:
                # an occurrence is part of its series (read by .appointment_series): its change marks the series
                if row.get("_seriesid_value"):
                    ctx.series_touched.add(str(row["_seriesid_value"]).lower())
                continue
            cid = str(row[ID_COLUMN[kind]]).lower()
            # the field names shared by every view (a mapping may build them anew for each row)
            views[cid] = {
                sys.intern(name): value for name, value in mapping.crm_view(kind, row, mctx).items()
            }
            versions[cid] = str(row.get("@odata.etag") or row.get("modifiedon") or content_hash(views[cid]))
        return views, versions

    def _scoped_views(
        self, ctx: RunContext, mctx: mapping.MappingContext, ids: Iterable[str], queries: Sequence[str]
    ) -> tuple[dict[str, Fields], dict[str, str]]:
        """Views and versions of those of ``ids`` that are in scope (read fresh)."""
        in_scope = self._in_scope(ctx, queries, ids) if queries else set()
        rows = self.read_rows(ctx, sorted(in_scope)) if in_scope else []
        if self.record_kind == Kind.CONTACTS and mctx.sync_contact_company and rows:
            mctx.account_names = {**mctx.account_names, **self._account_names(ctx, rows)}
        return self._views(ctx, mctx, rows)

    def _read_crm(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        links: Links,
        *,
        create_defaults: bool,
    ) -> CrmRead:
        """What changed on the CRM side since the cursor; see the module docstring."""
        kind = self.record_kind
        entity_set, key = TABLES[TABLE[kind]]
        previous = CrmCursor.load(ctx.state.cursor(kind, "crm"))
        queries = self._queries(ctx, create_defaults=create_defaults)
        digest = filters_digest(queries)
        full_at = parse_stamp(previous.full_at)
        try:
            due = full_at is None or ctx.now - full_at >= FULL_READ_EVERY or ctx.now < full_at
        except TypeError:  # naive vs. aware (a clock that changed kind): read in full once
            due = True
        needs_full = previous.token is None or previous.versions is None or previous.filters != digest or due
        changes: ChangeSet | None
        try:
            changes = ctx.crm.read_changes(entity_set, [key], None if needs_full else previous.token)
        except D365SyncError as error:
            if error.severity >= Severity.ACCOUNT:
                raise
            log.warning("%s: reading the changes failed (%s); reading the whole scope", kind, error)
            changes = None
        if changes is not None and changes.notices:
            for notice in changes.notices:
                log.info("%s: %s", kind, notice)
        incremental = (
            changes is not None and not needs_full and not changes.full_read and changes.deletes_detected
        )
        token = changes.next_token if changes is not None else None
        if not incremental:
            # A full change read listed the whole table: its size decides how the scope's rows are read.
            table_rows = len(changes.rows) if changes is not None and changes.full_read else None
            changes = None  # its rows (every id of the table) are not needed for the full read: let them go
            return self._read_crm_full(ctx, mctx, links, previous, queries, digest, token, table_rows)
        assert changes is not None and previous.versions is not None
        touched = {str(row[key]).lower() for row in changes.rows if row.get(key)} | set(previous.retry)
        removed = {str(i).lower() for i in changes.deleted_ids} - touched
        versions = dict(previous.versions)
        views: dict[str, Fields] = {}
        if touched:
            views, fresh = self._scoped_views(ctx, mctx, touched, queries)
            versions.update(fresh)
        # the ids this engine knows (snapshot or link) among those that were removed or no longer match
        unseen = (touched - set(views)) | removed
        known = set(previous.versions) | {k.lower() for k in links} if unseen else set()
        left = (touched - set(views)) & known  # changed and no longer matched (or a series now)
        gone = (removed & known) | left
        existing = self.existing(ctx, gone) if gone else set()
        # a series row (recurringappointmentmasters) counts as existing: it left the synced kind's scope
        deleted = frozenset(gone - existing)
        out_of_scope = frozenset(gone & existing)
        for cid in gone:
            versions.pop(cid, None)
        changed = {cid: v for cid, v in views.items() if previous.versions.get(cid) != versions[cid]}
        changed.update({cid: views[cid] for cid in previous.retry if cid in views})
        cursor = replace(previous, token=token, versions=versions, retry=[])
        return CrmRead(changed, deleted, out_of_scope, False, views, cursor, queries)

    def _read_crm_full(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        links: Links,
        previous: CrmCursor,
        queries: Sequence[str],
        digest: str,
        token: str | None,
        table_rows: int | None = None,
    ) -> CrmRead:
        """Read the whole scope (the filters' FetchXML, then the rows) and compare with the snapshot.

        Both reads go in pages of READ_PAGE rows (the rows by id instead when the scope is small next to
        the table ``table_rows``: see :meth:`read_rows`).
        """
        kind = self.record_kind
        entity_set, key = TABLES[TABLE[kind]]
        ids: set[str] = set()
        for fetchxml in queries:
            for row in ctx.crm.fetch(entity_set, fetchxml, page_size=READ_PAGE):
                if row.get(key):
                    ids.add(str(row[key]).lower())
        # A page of rows at a time: only the views (smaller than the rows) of the whole scope are kept.
        views: dict[str, Fields] = {}
        versions: dict[str, str] = {}
        if kind == Kind.CONTACTS and mctx.sync_contact_company:
            mctx.account_names = {}
        for page in self.row_pages(ctx, sorted(ids), table_rows=table_rows):
            if kind == Kind.CONTACTS and mctx.sync_contact_company:
                mctx.account_names = {
                    **mctx.account_names,
                    **self._account_names(ctx, page, mctx.account_names),
                }
            page_views, page_versions = self._views(ctx, mctx, page)
            views.update(page_views)
            versions.update(page_versions)
        del ids
        snapshot = previous.versions
        full = snapshot is None
        changed = {cid: v for cid, v in views.items() if full or snapshot.get(cid) != versions[cid]}  # type: ignore[union-attr]
        gone = (set(snapshot or {}) | {k.lower() for k in links}) - set(views)
        existing = self.existing(ctx, gone) if gone else set()
        cursor = CrmCursor(token, digest, ctx.now.isoformat(), versions, [])
        return CrmRead(
            changed,
            frozenset(gone - existing),
            frozenset(gone & existing),
            full,
            views,
            cursor,
            list(queries),
        )

    def read(self, ctx: RunContext, mctx: mapping.MappingContext, *, create_defaults: bool) -> KindRead:
        kind, state = self.record_kind, ctx.state
        links = state.link_table(kind)  # ids looked up when needed; no merge base is read here
        previous_crm = CrmCursor.load(state.cursor(kind, "crm")) if kind == Kind.APPOINTMENTS else None
        crm = self._read_crm(ctx, mctx, links, create_defaults=create_defaults)
        if previous_crm is not None:
            crm = self._with_series(ctx, mctx, links, crm, previous_crm)
        changed, deleted, out_of_scope = crm.changed, crm.deleted, crm.out_of_scope
        views, versions = crm.views, crm.cursor.versions or {}

        # Mailbox: what changed since the stored sync state (+ last run's failures).
        cursor = MailboxCursor.load(state.cursor(kind, "mailbox"))
        created: set[str] = set()
        updated: set[str] = set(cursor.retry) | {mid for mid in links.linked(crm.reread).values() if mid}
        removed: set[str] = set(cursor.deleted)
        new_state = cursor.state
        mailbox_full = cursor.state is None
        for batch in ctx.mailbox.changes(self.folder, cursor.state, LISTING_PAGE):
            created.update(batch.created)
            updated.update(batch.updated)
            removed.update(batch.deleted)
            new_state = batch.cursor or new_state
            mailbox_full = mailbox_full or batch.full_resync
        wanted = sorted((created | updated) - removed)
        items = self.get_items(ctx, wanted, removed)
        crm_changes = CrmChanges(
            changed, deleted, out_of_scope, full_resync=crm.full_resync, total=len(versions)
        )
        waiting_dates = state.waiting_dates(kind)  # crm id -> dates, read without the merge bases
        waiting = {
            mid: waiting_dates[cid]
            for cid, mid in links.linked([c for c in waiting_dates if c not in crm.reread]).items()
        }
        mailbox_changes = MailboxChanges(
            {mid: planned_view(kind, item, mctx, waiting.get(mid)) for mid, item in items.items()},
            frozenset(removed),
            full_resync=mailbox_full,
            total=len(items) if mailbox_full else None,
        )

        # Lookups so that relinking sees what it needs (planner.lookups).
        need = lookups(links, crm_changes, mailbox_changes)
        if need.mailbox_items_for and ctx.mailbox.capabilities.named_properties:
            extra: dict[str, Fields] = dict(mailbox_changes.changed)
            for found_items in self.find_by_crmids(ctx, need.mailbox_items_for).values():
                for found in found_items:
                    if found.id not in removed:
                        items[found.id] = found
                        extra[found.id] = mailbox_view(kind, found, mctx)
            mailbox_changes = replace(mailbox_changes, changed=extra)
        if need.crm_rows:
            more = dict(crm_changes.changed)
            unknown = [cid for cid in need.crm_rows if cid.lower() not in views]
            if unknown and not crm.full_resync:
                # Only the changed rows were read: an unchanged row may still be in scope.
                views.update(self._scoped_views(ctx, mctx, unknown, crm.queries)[0])
                unknown = [cid for cid in unknown if cid.lower() not in views]
            for cid in need.crm_rows:
                if cid.lower() in views:
                    more[cid.lower()] = views[cid.lower()]
            alive = self.existing(ctx, unknown) if unknown else set()
            crm_changes = replace(
                crm_changes,
                changed=more,
                out_of_scope=crm_changes.out_of_scope | {c.lower() for c in unknown if c.lower() in alive},
                deleted=crm_changes.deleted | {c.lower() for c in unknown if c.lower() not in alive},
            )
        return KindRead(crm_changes, mailbox_changes, crm.cursor, new_state, items, views, crm.reread)

    def _with_series(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        links: Links,
        crm: CrmRead,
        previous: CrmCursor,
    ) -> CrmRead:
        """Add the recurring series (``recurringappointmentmasters``) to the appointments' CRM read.

        The appointment read cannot see them (it calls a linked series out of scope); :mod:`.appointment_series`
        decides about every series id instead. See that module for what is read when.
        """
        touched = set(ctx.series_touched) | {c.lower() for c in previous.retry}
        ctx.series_touched.clear()  # taken: the next kind's run starts without them
        linked = ctx.state.series_links(self.record_kind)  # without reading their merge bases
        got = series.read(
            ctx.crm,
            mctx,
            crm.queries,
            previous=previous.versions or {},
            linked=linked,
            touched=touched,
            full=crm.cursor.full_at != previous.full_at or previous.versions is None,
        )
        # An id the appointment read found is an appointment now (a series turned back into one).
        handled = got.handled - set(crm.views)
        # Our own writes touch a series too: only a waiting date that has an occurrence now is worth a read.
        waiting_dates = ctx.state.waiting_dates(self.record_kind)
        waiting = {cid: waiting_dates.get(cid, []) for cid in touched & set(got.views) if cid in links}
        reread = frozenset(series.ready(ctx.crm, mctx, {cid: d for cid, d in waiting.items() if d}))
        versions = {cid: v for cid, v in (crm.cursor.versions or {}).items() if cid not in handled}
        versions.update(got.versions)
        return replace(
            crm,
            changed={**{k: v for k, v in crm.changed.items() if k not in handled}, **got.changed},
            deleted=frozenset((crm.deleted - handled) | (got.deleted - set(crm.views))),
            out_of_scope=frozenset((crm.out_of_scope - handled) | (got.out_of_scope - set(crm.views))),
            views={**crm.views, **got.views},
            cursor=replace(crm.cursor, versions=versions),
            reread=reread,
        )

    def find_by_crmids(self, ctx: RunContext, crm_ids: Sequence[str]) -> dict[str, list[MailboxItem]]:
        """Mailbox items that carry each of ``crm_ids`` in their crmid named property.

        Asks the store per id; if the store's search fails on the protocol level (not auth, network or
        throttling), the folder is listed once instead and the properties compared here, so relinking
        never depends on the server's search working.
        """
        out: dict[str, list[MailboxItem]] = {}
        for position, cid in enumerate(crm_ids):
            try:
                found = ctx.mailbox.find_by_crmid(self.folder, cid)
            except (ProtocolError, ItemNotFound) as error:
                log.warning(
                    "%s: searching the mailbox by crmid failed (%s); listing the folder",
                    self.record_kind,
                    error,
                )
                out.update(self._scan_for(ctx, crm_ids[position:]))
                return out
            out[cid] = [f for f in found if isinstance(f, ContactItem | AppointmentItem | TaskItem)]
        return out

    def _scan_for(self, ctx: RunContext, crm_ids: Sequence[str]) -> dict[str, list[MailboxItem]]:
        wanted = {c.lower(): c for c in crm_ids}
        out: dict[str, list[MailboxItem]] = {c: [] for c in crm_ids}
        ids = [
            i
            for batch in ctx.mailbox.changes(self.folder, None, LISTING_PAGE)
            for i in (*batch.created, *batch.updated)
        ]
        for item in self.get_items(ctx, ids, set()).values():
            crmid = (item.props.crmid or "").lower()
            if crmid in wanted:
                out[wanted[crmid]].append(item)
        return out

    def get_items(self, ctx: RunContext, ids: Sequence[str], removed: set[str]) -> dict[str, MailboxItem]:
        items: dict[str, MailboxItem] = {}
        for chunk in chunks(list(ids), 100):
            for wanted_id, result in zip(chunk, ctx.mailbox.get_many(self.folder, chunk), strict=False):
                if result.ok and isinstance(result.value, ContactItem | AppointmentItem | TaskItem):
                    items[result.value.id or wanted_id] = result.value
                elif isinstance(result.error, ItemNotFound):
                    removed.add(wanted_id)
                elif result.error is not None:
                    log.warning("%s: could not read mailbox item: %s", self.record_kind, result.error)
        return items
