"""The executor for contacts, appointments and tasks: read both sides, plan, apply, record.

One :class:`RecordSync` per kind implements :class:`wizard.sync.engine.KindSync`. The pure planner decides;
this module does the I/O the planner's docstring asks for:

- CRM side: the scope is the union of the user's active Outlook filters for the table (created from the
  defaults when the user has none; none active -> nothing of the kind). The user's filters are read once
  per run (shared by the kinds). The CRM cursor (:class:`CrmCursor`) keeps the Dataverse change token
  (``DataverseClient.read_changes``: change tracking, ``$deletedEntity`` rows), a digest of the active
  filters' FetchXML, the time of the last full read and the snapshot id -> ETag of the in-scope rows.

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
- Items whose operations failed are retried on the next run: their CRM id is left out of the snapshot
  (so the row is listed as changed again) and their mailbox id goes into the mailbox cursor's retry list.
- Creates are journaled before they are sent; CRM rows get a client-chosen GUID so a crash between
  "created" and "linked" is resolved by ``StateDB.recover_creates`` (see the engine). CRM creates go in
  ``$batch`` requests of up to 1,000 (a refused row fails that item only), mailbox creates 100 a request.
- After writing to the mailbox the folder is listed once more (the catch-up); an item listed with the change
  key its link stored after our own write is skipped, so the next run reads nothing back.
- A plan that needs confirmation (mass delete) writes nothing and keeps both cursors.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

import defusedxml.ElementTree as SafeET

from wizard.crm.changes import ChangeSet
from wizard.crm.client import DataverseClient, guid, new_id, odata_string
from wizard.crm.entities import QUERYTYPE_OUTLOOK
from wizard.crm.filters import DEFAULT_OUTLOOK_FILTERS, TABLES, ensure_default_filters, list_filters
from wizard.errors import D365SyncError, Severity
from wizard.mailbox.base import (
    LISTING_PAGE,
    AppointmentItem,
    ChangeBatch,
    ContactItem,
    FolderKind,
    ItemNotFound,
    LinkState,
    MailboxError,
    NamedProps,
    NotSupported,
    ProtocolError,
    TaskItem,
)
from wizard.odata.errors import NotFoundError, ValidationError
from wizard.settings.enums import ConflictPolicy, Kind
from wizard.sync import mapping, series
from wizard.sync.engine import KindCounts, KindResult, RunContext
from wizard.sync.merge import canonical
from wizard.sync.model import Fields, content_hash
from wizard.sync.parties import PARTY_TABLES, PartyResolver
from wizard.sync.planner import (
    UNRESOLVED,
    WAITING,
    CreateInCrm,
    CreateInMailbox,
    CrmChanges,
    DeleteInCrm,
    DeleteInMailbox,
    ForgetLink,
    MailboxChanges,
    Operation,
    Plan,
    RecordConflict,
    Relink,
    Rules,
    Unlink,
    UpdateBase,
    UpdateCrm,
    UpdateMailbox,
    lookups,
    plan,
)
from wizard.sync.state import ConflictRecord, RunCounts, StateDB
from wizard.sync.timezones import local_zone_name

log = logging.getLogger(__name__)

FOLDERS: dict[Kind, FolderKind] = {
    Kind.CONTACTS: FolderKind.CONTACTS,
    Kind.APPOINTMENTS: FolderKind.CALENDAR,
    Kind.TASKS: FolderKind.TASKS,
}
TABLE: dict[Kind, str] = {Kind.CONTACTS: "contact", Kind.APPOINTMENTS: "appointment", Kind.TASKS: "task"}
ID_COLUMN: dict[Kind, str] = {
    Kind.CONTACTS: "contactid",
    Kind.APPOINTMENTS: "activityid",
    Kind.TASKS: "activityid",
}
CHUNK = 50  # ids per ``In`` query (a GET: the URL stays short)
READ_PAGE = 5000  # rows per page of a table read (odata.maxpagesize; the service maximum)
CREATE_BATCH = 1000  # CRM creates per $batch request (the service maximum)
SCOPE_CHUNK = 100  # ids per FetchXML scope check (a GET: the URL stays well below 32 KB)
OPTIONAL_COLUMNS = frozenset({"modifiedon"})  # metadata a read can do without (see _read_rows)
_MISSING_PROPERTY = re.compile(r"Could not find a property named '(\w+)'")
SERIES_INSTANCE_TYPES = (2, 3, 4)
SERIES_TOUCHED = "appointments:series_touched"  # run cache: series whose instances changed
_MAILBOX_WRITES = (
    CreateInMailbox,
    UpdateMailbox,
    DeleteInMailbox,
    Unlink,
    Relink,
    CreateInCrm,
)  # instancetypecode: occurrences/exceptions of a series (not synced alone)

MailboxItem = ContactItem | AppointmentItem | TaskItem


class KindAborted(D365SyncError):
    """Something failed that stops this kind only (the others go on)."""

    severity = Severity.KIND


# ------------------------------------------------------------------------------------- small helpers


def _in_filter(column: str, ids: Sequence[str]) -> str:
    values = ",".join(odata_string(guid(i)) for i in ids)
    return f"Microsoft.Dynamics.CRM.In(PropertyName='{column}',PropertyValues=[{values}])"


def _chunks(values: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def scope_ids(client: DataverseClient, table: str, *, create_defaults: bool) -> set[str]:
    """Ids in the user's sync scope for ``table``: the union of the active Outlook filters.

    The user's filters are created from the defaults when there are none (not on a dry run: then the
    defaults are only evaluated, nothing is written).
    """
    if create_defaults:
        filters = ensure_default_filters(client, QUERYTYPE_OUTLOOK)
        queries = [f.fetchxml for f in filters if f.active and f.returnedtypecode == table]
    else:
        filters = list_filters(client, QUERYTYPE_OUTLOOK)
        if filters:
            queries = [f.fetchxml for f in filters if f.active and f.returnedtypecode == table]
        else:
            queries = [d.fetchxml for d in DEFAULT_OUTLOOK_FILTERS if d.table == table]
    entity_set, key = TABLES[table]
    ids: set[str] = set()
    for fetchxml in queries:
        for row in client.fetch(entity_set, fetchxml):
            value = row.get(key)
            if value:
                ids.add(str(value).lower())
    return ids


class AttendeeResolver:
    """Address -> (logical name, id) for appointment parties: the documented order and ranking of
    :class:`wizard.sync.parties.PartyResolver` (shared with email tracking), over the tables an attendee can be
    (not queues); cached per run. A look-up that fails for another reason than a missing table fails the item."""

    def __init__(self, client: DataverseClient, user_id: str) -> None:
        tables = [t for t in PARTY_TABLES if t.logical_name != "queue"]
        self.parties = PartyResolver(client, user_id, tables)

    def __call__(self, address: str) -> tuple[str, str] | None:
        found = self.parties.lookup(address)
        return (found.logical_name, found.id) if found is not None else None


# ------------------------------------------------------------------------------------------ cursors


@dataclass
class MailboxCursor:
    """The mailbox sync state, plus ids to treat as changed (``retry``: failed last time, or changed while
    this engine wrote) and as deleted (``deleted``: seen deleted while catching up after our own writes)."""

    state: str | None = None
    retry: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, text: str | None) -> MailboxCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                data.get("state") or None,
                [str(i) for i in data.get("retry") or []],
                [str(i) for i in data.get("deleted") or []],
            )
        except (ValueError, AttributeError):
            return cls()

    def dump(self) -> str:
        return json.dumps(
            {"state": self.state, "retry": sorted(set(self.retry)), "deleted": sorted(set(self.deleted))}
        )


def _parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


CURSOR_VERSION = 2
FULL_READ_EVERY = timedelta(days=1)
"""A full read of the scope at least this often: filters on time ("next 7 days") or on related rows
(link-entity) can move a row in or out of scope without the row itself changing."""


@dataclass
class CrmCursor:
    """The CRM side's cursor: the change token, what the scope was computed with, and the in-scope rows.

    ``versions`` (in-scope id -> ETag) is the snapshot of the last run: a full read compares against it so
    only rows that really changed reach the planner, and the mass-delete guard knows the kind's size.
    ``filters`` is a digest of the active filters' FetchXML: when it changes, the scope is read in full.
    ``retry``: ids whose operations failed, treated as changed next run.
    """

    token: str | None = None
    filters: str | None = None
    full_at: str | None = None
    versions: dict[str, str] | None = None
    retry: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, text: str | None) -> CrmCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        if data.get("v") != CURSOR_VERSION:  # the old format: a bare id -> ETag snapshot
            return cls(versions={str(k): str(v) for k, v in data.items()})
        versions = data.get("versions")
        return cls(
            token=data.get("token") or None,
            filters=data.get("filters") or None,
            full_at=data.get("full_at") or None,
            versions={str(k): str(v) for k, v in versions.items()} if isinstance(versions, dict) else None,
            retry=[str(i) for i in data.get("retry") or []],
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "token": self.token,
                "filters": self.filters,
                "full_at": self.full_at,
                "versions": self.versions,
                "retry": sorted(set(self.retry)),
            },
            sort_keys=True,
        )


@dataclass
class _CrmRead:
    changed: dict[str, Fields]
    deleted: frozenset[str]
    out_of_scope: frozenset[str]
    full_resync: bool
    views: dict[str, Fields]  # the views of every row read this run (all in scope)
    cursor: CrmCursor  # the next cursor
    queries: list[str]  # the active filters' FetchXML
    reread: frozenset[str] = frozenset()  # waiting series with new instances: read their mailbox copy again


def _filters_digest(queries: Sequence[str]) -> str:
    return hashlib.sha256("\x00".join(sorted(queries)).encode()).hexdigest()[:32]


def restrict_to_ids(fetchxml: str, column: str, ids: Sequence[str]) -> str:
    """``fetchxml`` with an extra ``<filter>`` on the top entity: ``column in (ids)``, and no paging.

    Filters directly under an entity are AND-ed, so the filter's own conditions (whatever their shape)
    still decide; this only narrows the rows looked at.
    """
    root = SafeET.fromstring(fetchxml)
    entity = root.find("entity")
    if root.tag != "fetch" or entity is None:
        raise ValueError("FetchXML must have a <fetch> root with an <entity>")
    for attribute in ("page", "paging-cookie", "count", "top"):
        root.attrib.pop(attribute, None)
    extra = ET.SubElement(entity, "filter", {"type": "and"})
    condition = ET.SubElement(extra, "condition", {"attribute": column, "operator": "in"})
    for value in ids:
        ET.SubElement(condition, "value").text = guid(value)
    return ET.tostring(root, encoding="unicode")


# ---------------------------------------------------------------------------------------- the kind


@dataclass
class _Read:
    crm: CrmChanges
    mailbox: MailboxChanges
    cursor: CrmCursor  # the next CRM cursor (versions: in-scope CRM id -> version)
    mailbox_state: str | None
    items: dict[str, MailboxItem]  # mailbox items fetched this run
    crm_rows: dict[str, Fields]  # every in-scope CRM row's view
    reread: frozenset[str] = frozenset()  # waiting series whose mailbox copy was read whole (series.ready)


@dataclass
class _Tally:
    to_crm: RunCounts = field(default_factory=RunCounts)
    to_mailbox: RunCounts = field(default_factory=RunCounts)
    failed_crm: set[str] = field(default_factory=set)
    failed_mailbox: set[str] = field(default_factory=set)
    mailbox_writes: bool = False  # something was written to the mailbox folder this run
    recreated: set[str] = field(default_factory=set)  # CRM ids this plan creates in the mailbox (again)


@dataclass
class _Conversions:
    """:class:`series.Conversions` in the state DB's journal (recovered by the engine at start-up)."""

    state: StateDB
    kind: Kind
    mailbox_id: str

    def begin(self, crm_id: str, payload: Mapping[str, Any]) -> int:
        return self.state.journal_conversion(self.kind, crm_id, self.mailbox_id, payload).id

    def done(self, token: Any) -> None:
        self.state.journal_done(int(token), None)


class RecordSync:
    """Two-way sync of one kind (contacts, appointments or tasks) between Dynamics 365 and the mailbox."""

    def __init__(self, kind: Kind) -> None:
        self.kind: str = kind  # the KindSync protocol's name
        self.record_kind: Kind = kind
        self.folder = FOLDERS[kind]

    # -- the run -----------------------------------------------------------------------------------
    def run(self, ctx: RunContext, *, dry_run: bool, force: bool) -> KindResult:
        kind = self.record_kind
        caps = ctx.mailbox.capabilities
        if not caps.can_read(self.folder):
            return KindResult(kind, KindCounts(), KindCounts(), "skipped", f"This mailbox has no {kind}.")
        if any(entry.is_conversion for entry in ctx.state.pending_creates(kind)):
            # a row between two tables would read as deleted in Dynamics 365 (and be deleted in the mailbox)
            raise D365SyncError(
                f"{kind}: an interrupted conversion is still pending",
                user_text="A recurring appointment that was being changed when synchronization stopped could not "
                "be finished in Dynamics 365 yet, so appointments were not synchronized. It is tried again on "
                "the next run.",
                severity=Severity.KIND,
            )
        all_addresses = ctx.profile.sync.sync_all_addresses
        directions = mapping.directions(
            kind, ctx.profile.sync.field_directions.get(kind), all_addresses=all_addresses
        )
        policy = cast(ConflictPolicy, ctx.profile.sync.conflict_policy.get(kind, "crm_wins"))
        mctx = self._mapping_context(ctx, all_addresses)
        ctx.reporter.progress(kind, 0, None, "reading Dynamics 365 and the mailbox")
        read = self._read(ctx, mctx, create_defaults=not dry_run)
        links = ctx.state.links(kind)
        rules = Rules(directions, ctx.now, policy, ctx.user_id, force=force)
        the_plan = plan(kind, links, read.crm, read.mailbox, rules)
        if the_plan.needs_confirmation is not None:
            md = the_plan.needs_confirmation
            message = (
                f"{kind}: this run would delete {md.mailbox_deletes} of {md.mailbox_total} items in the mailbox "
                f"and {md.crm_deletes} of {md.crm_total} records in Dynamics 365. Nothing was changed. "
                "Run again with --yes to delete them."
            )
            ctx.planned.append(message)
            return KindResult(kind, KindCounts(), KindCounts(), "needs_confirmation", message)
        if dry_run:
            ctx.planned.extend(describe(the_plan))
            return KindResult(kind, *self._preview_counts(the_plan), status="ok")
        tally = _Tally(
            mailbox_writes=any(isinstance(op, _MAILBOX_WRITES) for op in the_plan.operations),
            recreated={op.crm_id for op in the_plan.operations if isinstance(op, CreateInMailbox)},
        )
        self._execute(ctx, mctx, the_plan, read, tally)
        self._save_cursors(ctx, read, tally)
        return KindResult(kind, _counts(tally.to_crm), _counts(tally.to_mailbox), "ok")

    def _mapping_context(self, ctx: RunContext, all_addresses: bool) -> mapping.MappingContext:
        settings = getattr(ctx.mailbox, "settings", None)
        zone = getattr(settings, "timezone", None) or local_zone_name()
        cache = ctx.cache
        if "synccontactcompany" not in cache:
            try:
                cache["synccontactcompany"] = ctx.crm.user_settings(ctx.user_id).synccontactcompany
            except D365SyncError as exc:
                if exc.severity >= Severity.ACCOUNT:
                    raise
                cache["synccontactcompany"] = True
        if "resolver" not in cache:
            cache["resolver"] = AttendeeResolver(ctx.crm, ctx.user_id)
        binding = ctx.profile.mailbox
        return mapping.MappingContext(
            user_id=ctx.user_id,
            org_id=ctx.org.id,
            mailbox_tz=zone,
            sync_contact_company=bool(cache["synccontactcompany"]),
            all_addresses=all_addresses,
            account_names={},
            now=ctx.now,
            mailbox_address=binding.address if binding else "",
            resolve_party=cache["resolver"],
        )

    # -- reading -----------------------------------------------------------------------------------
    def _read_rows(
        self, ctx: RunContext, ids: Sequence[str], *, table_rows: int | None = None
    ) -> list[dict[str, Any]]:
        """The rows of ``ids`` with the columns the mapping needs.

        By id (``In`` queries of CHUNK ids), or -- when ``table_rows`` (the table's size, known after a
        full change read) says that costs fewer requests -- the whole table in pages of READ_PAGE rows,
        keeping the rows asked for: an initial sync of N rows costs N/5,000 requests instead of N/50.
        """
        kind = self.record_kind
        entity_set = TABLES[TABLE[kind]][0]
        select = mapping.crm_select(kind, all_addresses=ctx.profile.sync.sync_all_addresses)
        if kind == "contacts":
            select = list(dict.fromkeys([*select, "_parentcustomerid_value"]))
        expand = mapping.crm_expand() if kind == "appointments" else None
        select = [c for c in select if c not in ctx.cache.setdefault("missing_columns", set())]
        key = ID_COLUMN[kind]
        wanted = {i.lower() for i in ids}
        if not wanted:
            return []
        paged = table_rows is not None and -(-max(table_rows, 1) // READ_PAGE) < -(-len(wanted) // CHUNK)
        rows: list[dict[str, Any]] = []
        parts: list[Sequence[str] | None] = [None] if paged else list(_chunks(sorted(wanted)))
        for chunk in parts:
            while True:
                try:
                    if chunk is None:
                        rows = [
                            row
                            for row in ctx.crm.query(
                                entity_set, select=select, expand=expand, page_size=READ_PAGE
                            )
                            if str(row.get(key) or "").lower() in wanted
                        ]
                    else:
                        rows.extend(
                            ctx.crm.query(
                                entity_set, select=select, filter=_in_filter(key, chunk), expand=expand
                            )
                        )
                    break
                except ValidationError as error:
                    missing = _MISSING_PROPERTY.search(error.message or "")
                    if (
                        missing is None
                        or missing.group(1) not in OPTIONAL_COLUMNS
                        or missing.group(1) not in select
                    ):
                        raise
                    # e.g. an environment whose activity tables lack modifiedon: "newest wins" then has no
                    # time to compare and falls back to Dynamics 365 wins, as the merge documents.
                    log.warning(
                        "%s: %s has no column %s; reading without it", kind, entity_set, missing.group(1)
                    )
                    ctx.cache["missing_columns"].add(missing.group(1))
                    select = [c for c in select if c != missing.group(1)]
        return rows

    def _existing(self, ctx: RunContext, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` still exist in Dynamics 365 (the rest was deleted)."""
        kind = self.record_kind
        sets = [TABLES[TABLE[kind]][0]]
        if kind == "appointments":
            sets.append("recurringappointmentmasters")  # a series is never mistaken for a deleted row
        found: set[str] = set()
        for entity_set in sets:
            for chunk in _chunks(sorted({i.lower() for i in ids} - found)):
                for row in ctx.crm.query(
                    entity_set, select=[ID_COLUMN[kind]], filter=_in_filter(ID_COLUMN[kind], chunk)
                ):
                    found.add(str(row[ID_COLUMN[kind]]).lower())
        return found

    def _account_names(self, ctx: RunContext, rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        ids = sorted(
            {str(r["_parentcustomerid_value"]).lower() for r in rows if r.get("_parentcustomerid_value")}
        )
        names: dict[str, str] = {}
        for chunk in _chunks(ids):
            for row in ctx.crm.query(
                "accounts", select=["accountid", "name"], filter=_in_filter("accountid", chunk)
            ):
                names[str(row["accountid"]).lower()] = str(row.get("name") or "")
        return names

    def _queries(self, ctx: RunContext, *, create_defaults: bool) -> list[str]:
        """The active filters' FetchXML for this kind; the user's filters are read once per run."""
        table = TABLE[self.record_kind]
        if "outlook_filters" not in ctx.cache:
            if create_defaults:
                ctx.cache["outlook_filters"] = ensure_default_filters(ctx.crm, QUERYTYPE_OUTLOOK)
            else:
                ctx.cache["outlook_filters"] = list_filters(ctx.crm, QUERYTYPE_OUTLOOK)
        filters = ctx.cache["outlook_filters"]
        if not filters and not create_defaults:  # a dry run only evaluates the defaults
            return [d.fetchxml for d in DEFAULT_OUTLOOK_FILTERS if d.table == table]
        return [f.fetchxml for f in filters if f.active and f.returnedtypecode == table]

    def _in_scope(self, ctx: RunContext, queries: Sequence[str], ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` the filters match (the union), asking with the ids as a condition."""
        entity_set, key = TABLES[TABLE[self.record_kind]]
        wanted = sorted({i.lower() for i in ids})
        found: set[str] = set()
        for fetchxml in queries:
            for chunk in _chunks([i for i in wanted if i not in found], SCOPE_CHUNK):
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
            if kind == "appointments" and row.get("instancetypecode") in SERIES_INSTANCE_TYPES:
                # an occurrence is part of its series (read by wizard.sync.series): its change marks the series
                if row.get("_seriesid_value"):
                    ctx.cache.setdefault(SERIES_TOUCHED, set()).add(str(row["_seriesid_value"]).lower())
                continue
            cid = str(row[ID_COLUMN[kind]]).lower()
            views[cid] = mapping.crm_view(kind, row, mctx)
            versions[cid] = str(row.get("@odata.etag") or row.get("modifiedon") or content_hash(views[cid]))
        return views, versions

    def _scoped_views(
        self, ctx: RunContext, mctx: mapping.MappingContext, ids: Iterable[str], queries: Sequence[str]
    ) -> tuple[dict[str, Fields], dict[str, str]]:
        """Views and versions of those of ``ids`` that are in scope (read fresh)."""
        in_scope = self._in_scope(ctx, queries, ids) if queries else set()
        rows = self._read_rows(ctx, sorted(in_scope)) if in_scope else []
        if self.record_kind == "contacts" and mctx.sync_contact_company and rows:
            mctx.account_names = {**mctx.account_names, **self._account_names(ctx, rows)}
        return self._views(ctx, mctx, rows)

    def _read_crm(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        links: Mapping[str, Any],
        *,
        create_defaults: bool,
    ) -> _CrmRead:
        """What changed on the CRM side since the cursor; see the module docstring."""
        kind = self.record_kind
        entity_set, key = TABLES[TABLE[kind]]
        previous = CrmCursor.load(ctx.state.cursor(kind, "crm"))
        queries = self._queries(ctx, create_defaults=create_defaults)
        digest = _filters_digest(queries)
        full_at = _parse_stamp(previous.full_at)
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
            return self._read_crm_full(ctx, mctx, links, previous, queries, digest, token, table_rows)
        assert changes is not None and previous.versions is not None
        known = set(previous.versions) | {k.lower() for k in links}
        touched = {str(row[key]).lower() for row in changes.rows if row.get(key)} | set(previous.retry)
        removed = {str(i).lower() for i in changes.deleted_ids} - touched
        versions = dict(previous.versions)
        views: dict[str, Fields] = {}
        if touched:
            views, fresh = self._scoped_views(ctx, mctx, touched, queries)
            versions.update(fresh)
        left = (touched - set(views)) & known  # changed and no longer matched (or a series now)
        gone = (removed & known) | left
        existing = self._existing(ctx, gone) if gone else set()
        # a series row (recurringappointmentmasters) counts as existing: it left the synced kind's scope
        deleted = frozenset(gone - existing)
        out_of_scope = frozenset(gone & existing)
        for cid in gone:
            versions.pop(cid, None)
        changed = {cid: v for cid, v in views.items() if previous.versions.get(cid) != versions[cid]}
        changed.update({cid: views[cid] for cid in previous.retry if cid in views})
        cursor = replace(previous, token=token, versions=versions, retry=[])
        return _CrmRead(changed, deleted, out_of_scope, False, views, cursor, queries)

    def _read_crm_full(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        links: Mapping[str, Any],
        previous: CrmCursor,
        queries: Sequence[str],
        digest: str,
        token: str | None,
        table_rows: int | None = None,
    ) -> _CrmRead:
        """Read the whole scope (the filters' FetchXML, then the rows) and compare with the snapshot.

        Both reads go in pages of READ_PAGE rows (the rows by id instead when the scope is small next to
        the table ``table_rows``: see :meth:`_read_rows`).
        """
        kind = self.record_kind
        entity_set, key = TABLES[TABLE[kind]]
        ids: set[str] = set()
        for fetchxml in queries:
            for row in ctx.crm.fetch(entity_set, fetchxml, page_size=READ_PAGE):
                if row.get(key):
                    ids.add(str(row[key]).lower())
        rows = self._read_rows(ctx, sorted(ids), table_rows=table_rows)
        if kind == "contacts" and mctx.sync_contact_company:
            mctx.account_names = self._account_names(ctx, rows)
        views, versions = self._views(ctx, mctx, rows)
        snapshot = previous.versions
        full = snapshot is None
        changed = {cid: v for cid, v in views.items() if full or snapshot.get(cid) != versions[cid]}  # type: ignore[union-attr]
        gone = (set(snapshot or {}) | {k.lower() for k in links}) - set(views)
        existing = self._existing(ctx, gone) if gone else set()
        cursor = CrmCursor(token, digest, ctx.now.isoformat(), versions, [])
        return _CrmRead(
            changed,
            frozenset(gone - existing),
            frozenset(gone & existing),
            full,
            views,
            cursor,
            list(queries),
        )

    def _read(self, ctx: RunContext, mctx: mapping.MappingContext, *, create_defaults: bool) -> _Read:
        kind, state = self.record_kind, ctx.state
        links = state.links(kind)
        previous_crm = CrmCursor.load(state.cursor(kind, "crm")) if kind == "appointments" else None
        crm = self._read_crm(ctx, mctx, links, create_defaults=create_defaults)
        if previous_crm is not None:
            crm = self._with_series(ctx, mctx, links, crm, previous_crm)
        changed, deleted, out_of_scope = crm.changed, crm.deleted, crm.out_of_scope
        views, versions = crm.views, crm.cursor.versions or {}

        # Mailbox: what changed since the stored sync state (+ last run's failures).
        cursor = MailboxCursor.load(state.cursor(kind, "mailbox"))
        created: set[str] = set()
        updated: set[str] = set(cursor.retry) | {
            links[cid].mailbox_id for cid in crm.reread if cid in links and links[cid].mailbox_id
        }
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
        items = self._get_items(ctx, wanted, removed)
        crm_changes = CrmChanges(
            changed, deleted, out_of_scope, full_resync=crm.full_resync, total=len(versions)
        )
        waiting = {
            link.mailbox_id: series.waiting_dates(link.base)
            for cid, link in links.items()
            if link.base and link.base.get(WAITING) and cid not in crm.reread
        }
        mailbox_changes = MailboxChanges(
            {mid: _planned_view(kind, item, mctx, waiting.get(mid)) for mid, item in items.items()},
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
                        extra[found.id] = _mailbox_view(kind, found, mctx)
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
            alive = self._existing(ctx, unknown) if unknown else set()
            crm_changes = replace(
                crm_changes,
                changed=more,
                out_of_scope=crm_changes.out_of_scope | {c.lower() for c in unknown if c.lower() in alive},
                deleted=crm_changes.deleted | {c.lower() for c in unknown if c.lower() not in alive},
            )
        return _Read(crm_changes, mailbox_changes, crm.cursor, new_state, items, views, crm.reread)

    def _with_series(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        links: Mapping[str, Any],
        crm: _CrmRead,
        previous: CrmCursor,
    ) -> _CrmRead:
        """Add the recurring series (``recurringappointmentmasters``) to the appointments' CRM read.

        The appointment read cannot see them (it calls a linked series out of scope); :mod:`.series`
        decides about every series id instead. See that module for what is read when.
        """
        touched = set(ctx.cache.pop(SERIES_TOUCHED, set())) | {c.lower() for c in previous.retry}
        linked = [cid for cid, link in links.items() if link.base and link.base.get("recurrence") is not None]
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
        waiting = {
            cid: series.waiting_dates(links[cid].base) for cid in touched & set(got.views) if cid in links
        }
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
                    "%s: searching the mailbox by crmid failed (%s); listing the folder", self.kind, error
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
        for item in self._get_items(ctx, ids, set()).values():
            crmid = (item.props.crmid or "").lower()
            if crmid in wanted:
                out[wanted[crmid]].append(item)
        return out

    def _get_items(self, ctx: RunContext, ids: Sequence[str], removed: set[str]) -> dict[str, MailboxItem]:
        items: dict[str, MailboxItem] = {}
        for chunk in _chunks(list(ids), 100):
            for wanted_id, result in zip(chunk, ctx.mailbox.get_many(self.folder, chunk), strict=False):
                if result.ok and isinstance(result.value, ContactItem | AppointmentItem | TaskItem):
                    items[result.value.id or wanted_id] = result.value
                elif isinstance(result.error, ItemNotFound):
                    removed.add(wanted_id)
                elif result.error is not None:
                    log.warning("%s: could not read mailbox item: %s", self.record_kind, result.error)
        return items

    # -- executing ---------------------------------------------------------------------------------
    def _execute(
        self, ctx: RunContext, mctx: mapping.MappingContext, the_plan: Plan, read: _Read, tally: _Tally
    ) -> None:
        groups = _groups(the_plan.operations)
        total = len(groups)
        creates = [op for g in groups if len(g) == 1 for op in g if isinstance(op, CreateInMailbox)]
        crm_creates = [op for g in groups if len(g) == 1 for op in g if isinstance(op, CreateInCrm)]
        done = 0
        # A contact deleted in the mailbox but edited in CRM: its link is forgotten and the row created in
        # the mailbox again. The forget must come first, or the new item cannot be linked ("already
        # linked") and every run would leave one more unlinked copy in the mailbox.
        recreated = {op.crm_id for op in creates}
        forgets = [
            g for g in groups if any(isinstance(op, ForgetLink) and op.crm_id in recreated for op in g)
        ]
        for group in forgets:
            self._run_group(ctx, mctx, group, read, tally)
        done += len(forgets)
        if creates:
            self._create_in_mailbox(ctx, mctx, creates, tally)
            done += len(creates)
            ctx.reporter.progress(self.record_kind, done, total)
        if crm_creates:  # independent of each other and of the rest: $batch (item errors stay per item)
            for op, error in self._create_in_crm_many(ctx, mctx, crm_creates, read, tally):
                self._fail(ctx, tally, error, None, op.mailbox_id, "crm")
            done += len(crm_creates)
            ctx.reporter.progress(self.record_kind, done, total)
        batched = self._update_many(ctx, mctx, groups, read, tally)
        if batched:
            done += len(batched)
            ctx.reporter.progress(self.record_kind, done, total)
        done_first = {id(g) for g in forgets}
        for group in groups:
            if len(group) == 1 and isinstance(group[0], CreateInMailbox | CreateInCrm):
                continue
            if id(group) in batched or id(group) in done_first:
                continue
            self._run_group(ctx, mctx, group, read, tally)
            done += 1
            if done % 25 == 0 or done == total:
                ctx.reporter.progress(self.record_kind, done, total)

    def _update_many(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        groups: list[list[Operation]],
        read: _Read,
        tally: _Tally,
    ) -> set[int]:
        """The common one-sided updates of many pairs at once: ``[UpdateCrm, UpdateBase]`` (a field changed in
        the mailbox) in one ``$batch``, ``[UpdateMailbox, UpdateBase]`` of items read this run (a field changed
        in Dynamics 365) in one ``update_many`` (EWS batches of 100). Same checks as one by one: If-Match on the
        row's ETag, the change key of the item read; a refused item fails alone. Series and everything else go
        through :meth:`_run_group`. Returns the ``id()`` of the groups done here."""
        kind = self.record_kind
        to_crm: list[tuple[list[Operation], UpdateCrm, UpdateBase, str, dict[str, Any]]] = []
        to_mailbox: list[tuple[list[Operation], UpdateMailbox, UpdateBase, MailboxItem, bool]] = []
        unread: list[tuple[list[Operation], UpdateMailbox, UpdateBase]] = []
        for group in groups:
            if len(group) != 2 or not isinstance(group[1], UpdateBase):
                continue
            first, base_op = group[0], group[1]
            if isinstance(first, UpdateCrm):
                link = ctx.state.link_by_crm(kind, first.crm_id)
                shape = read.crm_rows.get(first.crm_id) or (link.base if link else None)
                if (shape or {}).get("recurrence") is not None or first.changes.get("recurrence") is not None:
                    continue  # a series (or one in the making): series.update
                payload = mapping.crm_payload(kind, first.changes, mctx, creating=False)
                if payload:
                    to_crm.append((group, first, base_op, mapping.crm_entity_set(kind, shape), payload))
            elif isinstance(first, UpdateMailbox) and first.mailbox_id in read.items:
                to_mailbox.append((group, first, base_op, read.items[first.mailbox_id], True))
            elif isinstance(first, UpdateMailbox):
                unread.append((group, first, base_op))
        done: set[int] = set()
        if len(to_mailbox) + len(unread) > 1 and unread:
            # Items this run did not read (changed in Dynamics only): fetched now in one go, with the same
            # check as _fetch_unchanged; the change key goes on the link only if it is still the link's.
            fetched = self._get_items(ctx, [u.mailbox_id for _, u, _ in unread], set())
            for group, uop, base_op in unread:
                item = fetched.get(uop.mailbox_id)
                failure = (
                    self._moved_since_base(ctx, mctx, uop, item, read)
                    if item is not None
                    else ItemNotFound(f"{uop.mailbox_id} not found", severity=Severity.ITEM)
                )
                if item is None or failure is not None:
                    done.add(id(group))
                    self._fail(
                        ctx, tally, failure or ItemNotFound("gone"), uop.crm_id, uop.mailbox_id, "mailbox"
                    )
                    continue
                seen = self._still_links_key(ctx, uop.crm_id, item)
                to_mailbox.append((group, uop, base_op, item, seen))
        if len(to_crm) > 1:
            rows = [(es, op.crm_id, payload, _read_etag(read, op.crm_id)) for _, op, _, es, payload in to_crm]
            try:
                results = ctx.crm.update_many(rows)
            except D365SyncError as error:
                for group, op, _, _, _ in to_crm:
                    done.add(id(group))
                    self._fail(ctx, tally, error, op.crm_id, op.mailbox_id, "crm")
            else:
                for (group, op, base_op, _, _), result in zip(to_crm, results, strict=True):
                    done.add(id(group))
                    if not result.ok:
                        refused = result.error or D365SyncError(
                            f"update answered {result.status}", severity=Severity.ITEM
                        )
                        self._fail(ctx, tally, refused, op.crm_id, op.mailbox_id, "crm")
                        continue
                    tally.to_crm.updated += 1
                    ctx.state.update_base(kind, base_op.crm_id, base_op.base, mailbox_change_key=None)
        if len(to_mailbox) > 1 or (to_mailbox and unread):
            items = [
                mapping.apply_to_mailbox(kind, self._keep_waiting(mctx, b.base, m.changes, item), item, mctx)
                for _, m, b, item, _ in to_mailbox
            ]
            try:
                answers = ctx.mailbox.update_many(self.folder, items)
            except MailboxError as error:
                for group, mop, _, _, _ in to_mailbox:
                    done.add(id(group))
                    self._fail(ctx, tally, error, mop.crm_id, mop.mailbox_id, "mailbox")
            else:
                for (group, mop, base_op, _, seen), written, answer in zip(
                    to_mailbox, items, answers, strict=True
                ):
                    done.add(id(group))
                    if not answer.ok:
                        refused = answer.error or MailboxError("update failed", severity=Severity.ITEM)
                        self._fail(ctx, tally, refused, mop.crm_id, mop.mailbox_id, "mailbox")
                        continue
                    tally.to_mailbox.updated += 1
                    change_key = _written_key(written, answer.value) if seen else None
                    if answer.value is not None:
                        read.items[mop.mailbox_id] = cast(MailboxItem, answer.value)
                    ctx.state.update_base(kind, base_op.crm_id, base_op.base, mailbox_change_key=change_key)
        return done

    def _fail(
        self,
        ctx: RunContext,
        tally: _Tally,
        error: D365SyncError,
        crm_id: str | None,
        mailbox_id: str | None,
        side: str,
    ) -> None:
        if error.severity >= Severity.ACCOUNT:
            raise error
        if error.severity >= Severity.KIND or isinstance(error, NotSupported):
            raise KindAborted(str(error), user_text=error.user_text) from error
        log.warning("%s: item failed (%s / %s): %s", self.record_kind, crm_id, mailbox_id, error)
        (tally.to_crm if side == "crm" else tally.to_mailbox).errors += 1
        if crm_id:
            tally.failed_crm.add(crm_id)
        if mailbox_id:
            tally.failed_mailbox.add(mailbox_id)
        if ctx.run_id is not None:
            ctx.state.record_error(
                ctx.run_id, self.record_kind, error.severity, error.user_text, crm_id or mailbox_id
            )

    def _create_in_mailbox(
        self, ctx: RunContext, mctx: mapping.MappingContext, ops: list[CreateInMailbox], tally: _Tally
    ) -> None:
        state = ctx.state
        with state.transaction():  # one commit for the batch's journal entries, all before the writes
            entries = [
                state.journal_create(self.record_kind, "mailbox", op.crm_id, content_hash(op.fields))
                for op in ops
            ]
        items = [
            mapping.apply_to_mailbox(self.record_kind, {**op.fields, "@crmid": op.crm_id}, None, mctx)
            for op in ops
        ]
        try:
            results = ctx.mailbox.create_many(self.folder, items)
        except MailboxError:
            for entry in entries:
                state.journal_done(entry.id, None)
            raise
        for op, entry, written, result in zip(ops, entries, items, results, strict=True):
            if not result.ok or not result.id:
                state.journal_done(entry.id, None)
                error = result.error or MailboxError("create failed", severity=Severity.ITEM)
                self._fail(ctx, tally, error, op.crm_id, None, "mailbox")
                continue
            change_key = _written_key(written, result.value)
            state.link(self.record_kind, op.crm_id, result.id, op.base, mailbox_change_key=change_key)
            state.journal_done(entry.id, result.id)
            tally.to_mailbox.created += 1

    def _run_group(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        group: list[Operation],
        read: _Read,
        tally: _Tally,
    ) -> None:
        change_key: str | None = None
        base = next((op.base for op in group if isinstance(op, UpdateBase)), None)
        for op in group:
            crm_id = getattr(op, "crm_id", None)
            mailbox_id = getattr(op, "mailbox_id", None)
            side = "crm" if isinstance(op, UpdateCrm | DeleteInCrm | CreateInCrm) else "mailbox"
            try:
                change_key = self._apply(ctx, mctx, op, read, tally, base) or change_key
            except D365SyncError as error:
                self._fail(ctx, tally, error, crm_id, mailbox_id, side)
                return  # skip the rest of the group: the next run merges again
            if isinstance(op, UpdateBase):
                ctx.state.update_base(self.record_kind, op.crm_id, op.base, mailbox_change_key=change_key)

    def _apply(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        op: Operation,
        read: _Read,
        tally: _Tally,
        base: Fields | None = None,
    ) -> str | None:
        """Carry out one operation (not UpdateBase); returns a new mailbox change key when there is one.

        ``base`` is the merge base its group's UpdateBase will store (a series' waiting exceptions are taken
        out of it)."""
        kind, state, store, folder = self.record_kind, ctx.state, ctx.mailbox, self.folder
        if isinstance(op, RecordConflict):
            state.record_conflict(kind, op.crm_id, op.mailbox_id, op.conflict, op.policy)
            (tally.to_crm if op.conflict.winner == "mailbox" else tally.to_mailbox).conflicts += 1
        elif isinstance(op, Relink):
            state.link(kind, op.crm_id, op.mailbox_id, None)
            self._stamp(ctx, op.mailbox_id, op.crm_id, LinkState.TRACKED, read)
        elif isinstance(op, UpdateCrm):
            link = state.link_by_crm(kind, op.crm_id)
            shape = read.crm_rows.get(op.crm_id) or (link.base if link else None)
            conversions = _Conversions(state, kind, link.mailbox_id if link else "")
            written = (
                series.update(
                    ctx.crm, mctx, op.crm_id, op.changes, shape, conversions, _read_etag(read, op.crm_id)
                )
                if kind == "appointments"
                else None
            )
            if written is not None:  # a series (or an appointment that became one, or the reverse)
                tally.to_crm.updated += 1
                if base is not None and written.waiting is not None:
                    whole = op.crm_id in read.reread
                    series.leave_out(
                        base, series.still_waiting(base, shape, op.changes, written.waiting, whole=whole)
                    )
                return None
            payload = mapping.crm_payload(kind, op.changes, mctx, creating=False)
            if payload:  # If-Match the version read: an edit made since is not overwritten (412, retried)
                ctx.crm.update(
                    mapping.crm_entity_set(kind, shape), op.crm_id, payload, _read_etag(read, op.crm_id)
                )
            tally.to_crm.updated += 1
        elif isinstance(op, UpdateMailbox):
            item = read.items.get(op.mailbox_id)
            # The new change key goes on the link (so the next run skips the item) only when the write was
            # based on a version the plan knew: the item read this run (the update is refused if it changed
            # since), or a fresh read that still has the link's change key. A fresh read with another key
            # may hold a user's edit of another field the plan never saw: the next run must read it.
            seen = item is not None
            if item is None:
                item = self._fetch_unchanged(ctx, mctx, op, read)
                seen = self._still_links_key(ctx, op.crm_id, item)
            changes = self._keep_waiting(mctx, base, op.changes, item)
            updated = mapping.apply_to_mailbox(kind, changes, item, mctx)
            (result,) = store.update_many(folder, [updated])
            if not result.ok:
                raise result.error or MailboxError("update failed", severity=Severity.ITEM)
            tally.to_mailbox.updated += 1
            if result.value is not None:
                read.items[op.mailbox_id] = cast(MailboxItem, result.value)
            return _written_key(updated, result.value) if seen else None
        elif isinstance(op, DeleteInMailbox):
            (gone,) = store.delete_many(folder, [op.mailbox_id])
            if not gone.ok and not isinstance(gone.error, ItemNotFound):
                raise gone.error or MailboxError("delete failed", severity=Severity.ITEM)
            state.forget(kind, crm_id=op.crm_id, mailbox_id=op.mailbox_id)
            tally.to_mailbox.deleted += 1
        elif isinstance(op, DeleteInCrm):
            link = state.link_by_crm(kind, op.crm_id)
            with contextlib.suppress(NotFoundError):  # gone already: what we wanted
                ctx.crm.delete(mapping.crm_entity_set(kind, link.base if link else None), op.crm_id)
            state.forget(kind, crm_id=op.crm_id, mailbox_id=op.mailbox_id)
            tally.to_crm.deleted += 1
        elif isinstance(op, Unlink):
            if op.mailbox_id:
                self._stamp(ctx, op.mailbox_id, op.crm_id, LinkState.NOT_TRACKED, read)
            if op.crm_id or op.mailbox_id:
                state.forget(kind, crm_id=op.crm_id, mailbox_id=op.mailbox_id)
            tally.to_mailbox.unlinked += 1
        elif isinstance(op, ForgetLink):
            self._forget_seen(ctx, op, read, tally)
            tally.to_crm.unlinked += 1
        elif isinstance(op, CreateInCrm):
            self._create_in_crm(ctx, mctx, op, read, tally)
        elif isinstance(op, CreateInMailbox):
            self._create_in_mailbox(ctx, mctx, [op], tally)
        return None

    def _keep_waiting(
        self, mctx: mapping.MappingContext, base: Fields | None, changes: Fields, item: MailboxItem
    ) -> Fields:
        """``changes`` going to the mailbox, with the item's own exceptions on a series' waiting dates (noted in
        ``base``, the merge base to be stored) kept: Dynamics 365 has no occurrence there yet, so its
        recurrence says nothing about them. A new pattern drops them in the mailbox: then nothing waits."""
        waiting = series.waiting_dates(base)
        if not waiting or changes.get("recurrence") is None:
            return changes
        current = _mailbox_view(self.record_kind, item, mctx).get("recurrence")
        wanted = series.keep_waiting(changes["recurrence"], current, waiting)
        if base is not None and not series.same_pattern(wanted, current):
            base.pop(WAITING, None)
        return {**changes, "recurrence": wanted}

    def _stamp_many(
        self,
        ctx: RunContext,
        pairs: Sequence[tuple[str, str | None]],
        link_state: LinkState,
        read: _Read,
    ) -> dict[str, str | D365SyncError | None]:
        """:meth:`_stamp` for many ``(mailbox id, crm id)`` in one call: mailbox id -> the new change key
        (None when unknown or gone), or the error of that item."""
        if not pairs or not ctx.mailbox.capabilities.named_properties:
            return {}
        updates: list[tuple[str, NamedProps]] = []
        for mailbox_id, crm_id in pairs:
            item = read.items.get(mailbox_id)
            props = replace(item.props) if item is not None else NamedProps()
            props.crmid = crm_id or props.crmid
            props.crmlinkstate = link_state
            props.crmorgid = ctx.org.id
            updates.append((mailbox_id, props))
        out: dict[str, str | D365SyncError | None] = {}
        for (mailbox_id, _props), result in zip(
            updates, ctx.mailbox.set_named_props(self.folder, updates), strict=True
        ):
            if result.ok or isinstance(result.error, ItemNotFound):
                out[mailbox_id] = result.value if isinstance(result.value, str) else None
            else:
                out[mailbox_id] = result.error or MailboxError("stamping failed", severity=Severity.ITEM)
        return out

    def _fetch_unchanged(
        self, ctx: RunContext, mctx: mapping.MappingContext, op: UpdateMailbox, read: _Read
    ) -> MailboxItem:
        """The item to update when this run did not read it (the plan took it to be as the base says).

        Fetched now, it carries a fresh ChangeKey, so the server cannot see an edit the user made since this
        run read the folder: writing over it would lose that edit unrecorded. If a field to be written no
        longer has its base value, the pair fails as an item error; the id goes to the retry list and the
        next run merges the edit (conflict log included).
        """
        item = self._fetch_one(ctx, op.mailbox_id)
        moved = self._moved_since_base(ctx, mctx, op, item, read)
        if moved is not None:
            raise moved
        return item

    def _still_links_key(self, ctx: RunContext, crm_id: str, item: MailboxItem) -> bool:
        """Whether a freshly fetched item still has the change key stored on its link (then the key of our
        write may go on the link: it covers no edit the plan did not see)."""
        known = ctx.state.link_by_crm(self.record_kind, crm_id)
        return bool(known and known.mailbox_change_key and known.mailbox_change_key == item.change_key)

    def _moved_since_base(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        op: UpdateMailbox,
        item: MailboxItem,
        read: _Read,
    ) -> MailboxError | None:
        """The item error for a fetched item whose fields to be written no longer have their base values."""
        link = ctx.state.link_by_crm(self.record_kind, op.crm_id)
        base = link.base if link is not None and link.base is not None else None
        if base is None:
            return None
        waiting = None if op.crm_id in read.reread else series.waiting_dates(base)
        view = _planned_view(self.record_kind, item, mctx, waiting)
        moved = sorted(f for f in op.changes if f in base and canonical(view.get(f)) != canonical(base[f]))
        if not moved:
            return None
        return MailboxError(
            f"{self.record_kind}: {op.mailbox_id} changed during the run ({', '.join(moved)})",
            user_text="An item changed in the mailbox while it was being synchronized; "
            "it is merged again on the next run.",
            severity=Severity.ITEM,
        )

    def _fetch_one(self, ctx: RunContext, mailbox_id: str) -> MailboxItem:
        (result,) = ctx.mailbox.get_many(self.folder, [mailbox_id])
        if not result.ok or not isinstance(result.value, ContactItem | AppointmentItem | TaskItem):
            raise result.error or ItemNotFound("item not found", severity=Severity.ITEM)
        return result.value

    def _stamp(
        self, ctx: RunContext, mailbox_id: str, crm_id: str | None, link_state: LinkState, read: _Read
    ) -> None:
        """Write crmid/crmlinkstate/crmorgid on a mailbox item, keeping its other named properties."""
        if not ctx.mailbox.capabilities.named_properties:
            return
        item = read.items.get(mailbox_id)
        props = replace(item.props) if item is not None else NamedProps()
        props.crmid = crm_id or props.crmid
        props.crmlinkstate = link_state
        props.crmorgid = ctx.org.id
        (result,) = ctx.mailbox.set_named_props(self.folder, [(mailbox_id, props)])
        if not result.ok and not isinstance(result.error, ItemNotFound):
            raise result.error or MailboxError("stamping failed", severity=Severity.ITEM)

    def _create_in_crm(
        self, ctx: RunContext, mctx: mapping.MappingContext, op: CreateInCrm, read: _Read, tally: _Tally
    ) -> None:
        """One create (in a group with more operations): :meth:`_create_in_crm_many`; its error raises."""
        for _op, error in self._create_in_crm_many(ctx, mctx, [op], read, tally):
            raise error

    def _create_in_crm_many(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        ops: Sequence[CreateInCrm],
        read: _Read,
        tally: _Tally,
    ) -> list[tuple[CreateInCrm, D365SyncError]]:
        """Create CRM rows from mailbox items, CREATE_BATCH a ``$batch`` request; returns what failed.

        Each create is journaled with its client-chosen GUID before its request is sent, so
        ``StateDB.recover_creates`` can look any of them up after a crash. A row the service refuses fails
        that item alone (continue-on-error). When a whole request fails and the error is retriable its
        outcome is unknown: those creates stay pending in the journal and the next run's recovery finds
        out. The created items are then stamped in one ``set_named_props`` call (the store batches it).
        """
        kind, state = self.record_kind, ctx.state
        failed: list[tuple[CreateInCrm, D365SyncError]] = []
        prepared: list[tuple[CreateInCrm, str, str, dict[str, Any]]] = []
        for op in ops:
            try:
                entity_set = mapping.crm_entity_set(kind, op.fields)
                payload = mapping.crm_payload(kind, op.fields, mctx, creating=True)
            except D365SyncError as error:
                failed.append((op, error))
                continue
            new = new_id()
            payload["activityid" if entity_set != "contacts" else "contactid"] = new
            prepared.append((op, new, entity_set, payload))
        created: list[tuple[CreateInCrm, str]] = []
        for start in range(0, len(prepared), CREATE_BATCH):
            part = prepared[start : start + CREATE_BATCH]
            with state.transaction():
                entries = [
                    state.journal_create(kind, "crm", op.mailbox_id, content_hash(op.fields), target_id=new)
                    for op, new, _set, _payload in part
                ]
            outcomes: list[D365SyncError | None]
            try:
                if len(part) == 1:  # one row: a plain POST
                    ctx.crm.create(part[0][2], part[0][3])
                    outcomes = [None]
                else:
                    results = ctx.crm.create_many(
                        [(entity_set, payload) for _op, _new, entity_set, payload in part],
                        max_requests=CREATE_BATCH,
                    )
                    outcomes = [None if r.ok else (r.error or _batch_error(r.status)) for r in results]
            except D365SyncError as error:
                for entry in entries:
                    if len(part) == 1 or not error.retriable:
                        state.journal_done(entry.id, None)
                failed.extend((op, error) for op, *_rest in part)
                if error.severity >= Severity.KIND:
                    break  # the caller stops the kind (or the run); the rest is planned again next run
                continue
            for (op, new, _set, _payload), entry, outcome in zip(part, entries, outcomes, strict=True):
                if outcome is not None:
                    state.journal_done(entry.id, None)
                    failed.append((op, outcome))
                    continue
                try:
                    state.link(kind, new, op.mailbox_id, op.base)
                except D365SyncError as error:  # left pending: the next run's recovery resolves it
                    failed.append((op, error))
                    continue
                state.journal_done(entry.id, new)
                tally.to_crm.created += 1
                created.append((op, new))
                # a series' deleted / modified occurrences; what waits leaves the stored base (dates noted)
                if kind == "appointments" and series.after_create(ctx.crm, mctx, new, op.fields, op.base):
                    state.update_base(kind, new, op.base)
        stamped = self._stamp_many(
            ctx, [(op.mailbox_id, new) for op, new in created], LinkState.TRACKED, read
        )
        for op, _new in created:
            stamp = stamped.get(op.mailbox_id)
            if isinstance(stamp, D365SyncError):
                failed.append((op, stamp))
            # The stamp's change key is not stored: stamping overwrites whatever the item is now, so that
            # key may cover a user's edit made meanwhile, which the next run must still read.
        return failed

    # -- cursors -----------------------------------------------------------------------------------
    def _forget_seen(self, ctx: RunContext, op: ForgetLink, read: _Read, tally: _Tally) -> None:
        """Forget a link whose CRM row lives on, and note that row's version as seen, in ONE transaction.

        The row stays in Dynamics 365, unlinked, on purpose (a contact deleted in the mailbox, a declined
        delete). Until this run's cursor is saved, the stored snapshot still lists the row as changed (our
        own create or update of it last run, or the edit that came with this run's delta), and an unlinked
        changed row is created in the mailbox: a crash, or a kind aborted after the forget, would undo the
        user's delete. So the stored snapshot learns the row's current version together with the forget.
        Not when this plan creates the row in the mailbox again (edited in CRM): then it must stay changed
        until that create is done.
        """
        kind, state = self.record_kind, ctx.state
        version = (read.cursor.versions or {}).get(op.crm_id)
        with state.transaction():
            state.forget(kind, crm_id=op.crm_id, mailbox_id=op.mailbox_id)
            if version is None or op.crm_id in tally.recreated:
                return
            stored = CrmCursor.load(state.cursor(kind, "crm"))
            if stored.versions is None:  # no snapshot yet: the next run reads in full and compares nothing
                return
            stored.versions[op.crm_id] = version
            state.set_cursor(kind, "crm", stored.dump())

    def _save_cursors(self, ctx: RunContext, read: _Read, tally: _Tally) -> None:
        versions = {cid: v for cid, v in (read.cursor.versions or {}).items() if cid not in tally.failed_crm}
        # A failed row must come back although the delta will not list it again: the retry list.
        next_cursor = replace(read.cursor, versions=versions, retry=sorted(tally.failed_crm))
        ctx.state.set_cursor(self.record_kind, "crm", next_cursor.dump())
        cursor = MailboxCursor(read.mailbox_state, sorted(tally.failed_mailbox))
        if tally.mailbox_writes and cursor.state is not None:
            # Catch up past our own writes: a sync state from before them would later report an item we
            # created and the user then deleted as nothing at all (created + deleted), and the delete
            # would be lost. Whatever changed meanwhile is kept to be looked at next run.
            for batch in ctx.mailbox.changes(self.folder, cursor.state, LISTING_PAGE):
                if batch.full_resync:
                    cursor = MailboxCursor(None)  # next run lists the folder; a full listing deletes nothing
                    break
                cursor.retry.extend(_changed_since_written(ctx, self.record_kind, batch))
                cursor.deleted.extend(batch.deleted)
                cursor.state = batch.cursor or cursor.state
        ctx.state.set_cursor(self.record_kind, "mailbox", cursor.dump())

    def _preview_counts(self, the_plan: Plan) -> tuple[KindCounts, KindCounts]:
        to_crm, to_mailbox = KindCounts(), KindCounts()
        for op in the_plan.operations:
            if isinstance(op, CreateInCrm):
                to_crm.created += 1
            elif isinstance(op, UpdateCrm):
                to_crm.updated += 1
            elif isinstance(op, DeleteInCrm):
                to_crm.deleted += 1
            elif isinstance(op, CreateInMailbox):
                to_mailbox.created += 1
            elif isinstance(op, UpdateMailbox):
                to_mailbox.updated += 1
            elif isinstance(op, DeleteInMailbox):
                to_mailbox.deleted += 1
            elif isinstance(op, Unlink):
                to_mailbox.unlinked += 1
            elif isinstance(op, RecordConflict):
                (to_crm if op.conflict.winner == "mailbox" else to_mailbox).conflicts += 1
        return to_crm, to_mailbox


# ------------------------------------------------------------------------------------------ helpers


def _mailbox_view(kind: Kind, item: MailboxItem, mctx: mapping.MappingContext) -> Fields:
    """The mapping's view, with the crmid in the form CRM ids have here ({GUID} from other clients too)."""
    view = mapping.mailbox_view(kind, item, mctx)
    crmid = view.get("@crmid")
    if isinstance(crmid, str) and crmid:
        view["@crmid"] = crmid.strip().strip("{}").lower()
    return view


def _planned_view(
    kind: Kind, item: MailboxItem, mctx: mapping.MappingContext, waiting: Sequence[str] | None
) -> Fields:
    """The mailbox view the planner merges: a series' exceptions on ``waiting`` dates are left out, since
    Dynamics 365 has no occurrence there yet (they are written once it has; see :mod:`.series`)."""
    view = _mailbox_view(kind, item, mctx)
    if waiting and view.get("recurrence") is not None:
        view["recurrence"] = series.without_exceptions(view["recurrence"], waiting)
    return view


def _written_key(written: Any, result: Any) -> str | None:
    """The change key to keep on the link after our own write (None: the next run reads the item again).

    Not a series master's: the store reads its key again after writing the occurrences (EWS: a GetItem after
    them), so a user's edit made in between would carry that key, be taken for our own write and never be
    read (seed 170 in docs/RELIABILITY.md). Reading the master again next run costs one request.
    """
    if isinstance(written, AppointmentItem) and written.recurrence is not None:
        return None
    return getattr(result, "change_key", None)


def _changed_since_written(ctx: RunContext, kind: Kind, batch: ChangeBatch) -> list[str]:
    """The created/updated ids of ``batch`` minus the items still exactly as this engine wrote them.

    An item whose listed change key equals the one stored on its link after our own write has not been
    touched since: reading it again next run would only find what we wrote. Without a change key (a
    backend that lists none, a link without one) the item counts as changed.
    """
    ids = [*batch.created, *batch.updated]
    if not batch.change_keys:
        return ids

    def unchanged(item_id: str) -> bool:
        key = batch.change_keys.get(item_id)
        if not key:
            return False
        link = ctx.state.link_by_mailbox(kind, item_id)  # one indexed look-up per listed item
        return link is not None and link.mailbox_change_key == key

    return [i for i in ids if not unchanged(i)]


def _batch_error(status: int) -> D365SyncError:
    """The error of a ``$batch`` part that failed without one (should not happen; item-level)."""
    return D365SyncError(f"a $batch part answered {status}", severity=Severity.ITEM, retriable=True)


def _read_etag(read: _Read, crm_id: str) -> str | None:
    """The ETag of the row as this run knows it (read now, or unchanged since the last run), if it is one."""
    return series.row_etag((read.cursor.versions or {}).get(crm_id))


def _key(op: Operation) -> tuple[str | None, str | None]:
    return getattr(op, "crm_id", None), getattr(op, "mailbox_id", None)


def _groups(operations: Sequence[Operation]) -> list[list[Operation]]:
    """Consecutive operations of one pair form a group (the planner emits them together)."""
    groups: list[list[Operation]] = []
    for op in operations:
        if groups and not isinstance(op, CreateInMailbox | CreateInCrm) and _key(groups[-1][-1]) == _key(op):
            groups[-1].append(op)
        else:
            groups.append([op])
    return groups


def _counts(counts: RunCounts) -> KindCounts:
    return KindCounts(
        counts.created, counts.updated, counts.deleted, counts.unlinked, counts.conflicts, counts.errors
    )


def describe(the_plan: Plan) -> list[str]:
    """Human lines for a dry run, one per operation that would change something."""
    kind = the_plan.kind
    lines: list[str] = []
    for op in the_plan.operations:
        if isinstance(op, CreateInMailbox):
            lines.append(
                f"{kind}: create in the mailbox from Dynamics 365 record {op.crm_id} ({_label(op.fields)})"
            )
        elif isinstance(op, CreateInCrm):
            lines.append(f"{kind}: create in Dynamics 365 from mailbox item ({_label(op.fields)})")
        elif isinstance(op, UpdateCrm):
            lines.append(f"{kind}: update Dynamics 365 record {op.crm_id}: {', '.join(sorted(op.changes))}")
        elif isinstance(op, UpdateMailbox):
            lines.append(f"{kind}: update the mailbox copy of {op.crm_id}: {', '.join(sorted(op.changes))}")
        elif isinstance(op, DeleteInMailbox):
            lines.append(f"{kind}: delete the mailbox copy of {op.crm_id} ({op.reason})")
        elif isinstance(op, DeleteInCrm):
            lines.append(f"{kind}: delete Dynamics 365 record {op.crm_id} ({op.reason})")
        elif isinstance(op, Unlink):
            lines.append(f"{kind}: unlink {op.crm_id or op.mailbox_id} ({op.reason})")
        elif isinstance(op, ForgetLink):
            lines.append(f"{kind}: forget the link of {op.crm_id} ({op.reason})")
        elif isinstance(op, Relink):
            lines.append(f"{kind}: link the mailbox item that names {op.crm_id} again")
        elif isinstance(op, RecordConflict):
            c = op.conflict
            lines.append(
                f"{kind}: conflict on {c.field} of {op.crm_id}: "
                f"{'unresolved' if c.winner is None else c.winner + ' wins'} ({c.reason})"
            )
    return lines


def _label(fields: Fields) -> str:
    for name in ("subject", "lastname", "firstname", "emailaddress1"):
        if fields.get(name):
            text = (
                " ".join(str(fields[n]) for n in ("firstname", "lastname") if fields.get(n))
                if name in ("lastname", "firstname")
                else str(fields[name])
            )
            return text
    return "untitled"


# ------------------------------------------------------------------------------- conflict resolution


def resolve_conflict(ctx: RunContext, record: ConflictRecord, use: str) -> str:
    """Apply the chosen side's value of a logged conflict to the other side; returns what was done.

    A field conflict writes that one field to both sides (the policy may have put the other value on
    either) and stores it in the link's base, so the next run sees both sides agree. A whole-record
    conflict ("*": deleted on one side while edited on the other) restores the chosen version where it is
    missing now: a new CRM row, or a new (unlinked) mailbox item.
    """
    kind = record.kind
    sync = RecordSync(kind)
    mctx = sync._mapping_context(ctx, ctx.profile.sync.sync_all_addresses)
    value = record.crm_value if use == "crm" else record.mailbox_value
    if record.field == "*":
        if not isinstance(value, dict):
            return "nothing to restore: that side had deleted the record"
        if use == "crm":
            entity_set = mapping.crm_entity_set(kind, value)
            payload = mapping.crm_payload(kind, value, mctx, creating=True)
            new = ctx.crm.create(entity_set, payload)
            return f"restored the Dynamics 365 record as {new}"
        item = mapping.apply_to_mailbox(kind, value, None, mctx)
        (result,) = ctx.mailbox.create_many(sync.folder, [item])
        if not result.ok:
            raise result.error or MailboxError("create failed", severity=Severity.ITEM)
        return "restored the mailbox item"
    link = ctx.state.link_by_crm(kind, record.crm_id)
    changes: Fields = {record.field: value}
    # The chosen value goes to both sides: the policy may have written the other value to either of them.
    (got,) = ctx.mailbox.get_many(sync.folder, [record.mailbox_id])
    if not got.ok or not isinstance(got.value, ContactItem | AppointmentItem | TaskItem):
        raise got.error or ItemNotFound("the mailbox item is gone", severity=Severity.ITEM)
    updated = mapping.apply_to_mailbox(kind, changes, got.value, mctx)
    (result,) = ctx.mailbox.update_many(sync.folder, [updated])
    if not result.ok:
        raise result.error or MailboxError("update failed", severity=Severity.ITEM)
    payload = mapping.crm_payload(kind, changes, mctx, creating=False)
    if payload:
        ctx.crm.update(mapping.crm_entity_set(kind, link.base if link else None), record.crm_id, payload)
    side = "Dynamics 365" if use == "crm" else "mailbox"
    done = f"the {side} value of {record.field} is now in Dynamics 365 and in the mailbox"
    if link is not None and link.mailbox_id == record.mailbox_id:
        base: Fields = dict(link.base or {})
        base[record.field] = value
        unresolved = dict(base.get(UNRESOLVED) or {})
        unresolved.pop(record.field, None)
        if unresolved:
            base[UNRESOLVED] = unresolved
        else:
            base.pop(UNRESOLVED, None)
        ctx.state.update_base(kind, record.crm_id, base)
    return done
