"""Go offline / go online and the records offline: the use cases both faces call.

The offline store belongs to the profile and the synchronizing organization
(``<data>/offline/<org id>.sqlite3``, see ``wizard.offline.store``). Its ``mode`` says whether the user is
offline: then the records are read and written in the store and the queue; online they go straight to
Dynamics 365. Long operations take a progress callback and a cancel flag (``threading.Event`` fits) and
return plain results, so the GUI can run them on a worker thread.

* :func:`offline_status`: no network; what the store holds;
* :func:`list_filters` / :func:`set_filter`: the offline filters (created from the templates or defaults);
  :func:`stored_filters`: the same as the store last saw them (no network);
* :func:`go_offline`: download into a new store and swap it in (refused while changes wait to be sent);
* :func:`go_online`: replay the queue, then refresh; :func:`refresh`: change tracking only;
* :func:`list_conflicts` / :func:`resolve_conflict`: the offline conflict log and the user's decisions;
* :func:`refresh_interval` (the schedule's), :func:`background_refresh` (what the status window runs on
  its schedule while online), :func:`queued_changes` (what switching or removing an organization must warn
  about), :func:`remove_store` (an organization removed from the profile);
* the Records window: :func:`form` (fields with labels in the user's language, required, lengths, choices),
  :func:`lookup_choices` (the records a lookup may point to);
* records: :func:`list_records`, :func:`show_record`, :func:`create_record`, :func:`update_record`,
  :func:`delete_record`, checked against the table's definitions before saving.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wizard.app.factory import Factory
from wizard.app.schedule import FLOOR_MINUTES, ServerIntervals, interval_for
from wizard.crm import filters as crm_filters
from wizard.crm.client import DataverseClient, guid
from wizard.crm.entities import UserQuery
from wizard.crm.metadata import ENGLISH, TableDefinition, read_table
from wizard.errors import D365SyncError
from wizard.odata.errors import NotFoundError, ODataError
from wizard.offline import download, replay, scope
from wizard.offline import refresh as refresh_mod
from wizard.offline.decide import decide
from wizard.offline.fields import body, kept
from wizard.offline.store import OfflineConflict, OfflineStore, project_row, store_path
from wizard.offline.summary import OFFLINE as OFFLINE
from wizard.offline.summary import ONLINE as ONLINE
from wizard.offline.summary import STOPPED_KEY, read_summary
from wizard.offline.tables import (
    ANNOTATIONS,
    BY_NAME,
    FORMATTED,
    LOOKUP_TABLE,
    TABLES,
    OfflineTable,
    table,
)
from wizard.offline.validate import InvalidRecord, Problem, check, coerce
from wizard.settings.enums import Kind

log = logging.getLogger(__name__)

NONE = "none"
CANCELLED = "you cancelled it"  # why going online stopped, when the user cancelled it


class OfflineError(D365SyncError):
    """An offline operation that cannot be done now (changes waiting, no store, unknown table)."""


@dataclass
class OfflineStatus:
    state: str  # "none" (never went offline), "offline", "online" (a store exists, the user is online)
    path: str
    records: dict[str, int] = field(default_factory=dict)
    queued: int = 0
    held: int = 0
    open_conflicts: int = 0
    downloaded_at: str | None = None
    refreshed_at: str | None = None
    stopped: str = ""  # why the last go-online stopped with changes left to send ("" when it did not)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "records": dict(self.records),
            "queued_changes": self.queued,
            "held_changes": self.held,
            "open_conflicts": self.open_conflicts,
            "downloaded_at": self.downloaded_at,
            "last_refresh": self.refreshed_at,
            "going_online_stopped": self.stopped or None,
        }


@dataclass
class Record:
    """One record as the faces show it: its fields (store shape) and whether changes wait to be sent."""

    table: str
    id: str
    name: str
    fields: dict[str, Any]
    pending: bool = False
    lookup_names: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "id": self.id,
            "name": self.name,
            "fields": self.fields,
            "pending": self.pending,
            "lookup_names": self.lookup_names,
        }


@dataclass
class OnlineResult:
    """What going online did. ``online``: the queue was sent (decisions held for the user count as sent: they
    wait in "Needs your attention"); otherwise the user is still offline with ``waiting`` changes not sent yet,
    and ``stopped`` says why (a cancel, a change Dynamics 365 refused)."""

    replay: replay.ReplayResult
    refresh: refresh_mod.RefreshResult | None
    online: bool = True
    waiting: int = 0
    stopped: str = ""


# -- the store ---------------------------------------------------------------------------------------------


def store_file(factory: Factory) -> Path:
    return store_path(factory.where.data_dir, factory.require_sync_org().id)


def _open(factory: Factory) -> OfflineStore | None:
    path = store_file(factory)
    return OfflineStore.open(path) if path.exists() else None


def _require_store(factory: Factory) -> OfflineStore:
    store = _open(factory)
    if store is None:
        raise OfflineError(
            "no offline store",
            user_text="Nothing has been taken offline yet. Go offline first: d365sync offline go",
        )
    return store


def offline_status(factory: Factory) -> OfflineStatus:
    """What the store holds (no network; an unchanged store is not opened again, see
    ``wizard.offline.summary``)."""
    path = store_file(factory)
    found = read_summary(path)
    if found is None:
        return OfflineStatus(NONE, str(path))
    return OfflineStatus(
        state=found.mode,
        path=str(path),
        records=dict(found.records),
        queued=found.queued,
        held=found.held,
        open_conflicts=len(found.open_conflicts),
        downloaded_at=found.downloaded_at,
        refreshed_at=found.refreshed_at,
        stopped=found.stopped,
    )


def is_offline(factory: Factory) -> bool:
    found = read_summary(store_file(factory))
    return found is not None and found.mode == OFFLINE


# -- filters -----------------------------------------------------------------------------------------------


def _client(factory: Factory) -> DataverseClient:
    return factory.dataverse(factory.require_sync_org())


def list_filters(factory: Factory) -> list[UserQuery]:
    """The user's offline filters (created from the templates or the defaults on first use); the store
    remembers them for :func:`stored_filters`."""
    filters = scope.ensure_offline_filters(_client(factory))
    _remember_filters(factory, filters)
    return filters


def stored_filters(factory: Factory) -> list[UserQuery]:
    """The offline filters as the store last saw them (no network; none without a store): what the status
    window shows while the user is offline or Dynamics 365 cannot be reached."""
    store = _open(factory)
    if store is None:
        return []
    with store:
        return scope.remembered_filters(store)


def _remember_filters(factory: Factory, filters: list[UserQuery]) -> None:
    store = _open(factory)
    if store is not None:
        with store:
            scope.remember_filters(store, filters)


def set_filter(factory: Factory, filter_id: str, active: bool) -> UserQuery:
    client = _client(factory)
    wanted = guid(filter_id)
    known = {f.id: f for f in scope.ensure_offline_filters(client)}
    if wanted not in known:
        raise OfflineError(
            f"no offline filter {filter_id}",
            user_text=f"You have no offline filter with the id {filter_id}. See: d365sync offline filters list",
        )
    crm_filters.set_active(client, wanted, active)
    filters = crm_filters.offline_filters(client)
    _remember_filters(factory, filters)
    return next(f for f in filters if f.id == wanted)


# -- go offline, go online, refresh -------------------------------------------------------------------------


def _user_options(client: DataverseClient) -> tuple[int, bool]:
    """The user's UI language and whether duplicate detection runs when going online (both read from
    ``usersettings``; a service without these columns: English, off)."""
    try:
        row = client.get(
            "usersettingscollection",
            client.whoami().user_id,
            select=["uilanguageid", "isduplicatedetectionenabledwhengoingonline"],
        )
    except ODataError as error:
        log.info("usersettings without the offline columns (%s): English, no duplicate detection", error)
        return ENGLISH, False
    language = row.get("uilanguageid")
    return (
        language if isinstance(language, int) and language > 0 else ENGLISH,
        bool(row.get("isduplicatedetectionenabledwhengoingonline")),
    )


def go_offline(
    factory: Factory,
    *,
    progress: download.Progress | None = None,
    cancel: download.CancelFlag | None = None,
) -> download.DownloadResult:
    """Download the records of the offline filters; the user is offline afterwards."""
    path = store_file(factory)
    if path.exists():
        with OfflineStore.open(path) as old:
            waiting = old.queued_count()
        if waiting:
            raise OfflineError(
                "changes waiting",
                user_text=f"{waiting} offline change(s) have not been sent yet. Go online first "
                "(d365sync offline online) so that they are not lost.",
            )
    client = _client(factory)
    filters = scope.ensure_offline_filters(client)
    language, _duplicates = _user_options(client)
    return download.go_offline(
        client,
        path,
        filters,
        progress=progress,
        cancel=cancel,
        user_id=client.whoami().user_id,
        language=language,
    )


def go_online(
    factory: Factory,
    *,
    progress: replay.Progress | None = None,
    cancel: download.CancelFlag | None = None,
) -> OnlineResult:
    """Send the queued changes; when none is left to send, be online and refresh the store. A go-online that
    stops part way (a cancel between ``$batch`` requests, a change refused, Dynamics 365 unreachable or a
    503 storm mid-replay: the error is raised) leaves the user offline with what was not sent still queued,
    and the store remembers why (``OfflineStatus.stopped``) for the status to show."""
    store = _require_store(factory)
    with store:
        store.set_meta(STOPPED_KEY, None)
        try:
            client = _client(factory)
            _language, duplicates = _user_options(client)
            policy = factory.profile.sync.policy_for(Kind.CONTACTS)
            result = replay.go_online(
                client, store, policy=policy, duplicate_detection=duplicates, progress=progress, cancel=cancel
            )
        except D365SyncError as error:
            store.set_meta(STOPPED_KEY, error.user_text or str(error))
            raise
        waiting = len(store.queue(status="pending"))
        if result.cancelled or waiting:
            reason = CANCELLED if result.cancelled else _first_failure(result)
            store.set_meta(STOPPED_KEY, reason)
            return OnlineResult(result, None, online=False, waiting=waiting, stopped=reason)
        store.set_meta("mode", ONLINE)
        filters = scope.ensure_offline_filters(client)
        scope.remember_filters(store, filters)
        refreshed = refresh_mod.refresh(client, store, filters)
    return OnlineResult(result, refreshed)


def _first_failure(result: replay.ReplayResult) -> str:
    if not result.failed:
        return "changes are still waiting to be sent"
    more = len(result.failed) - 1
    return result.failed[0] + (f" (and {more} more)" if more else "")


def refresh(
    factory: Factory,
    *,
    progress: download.Progress | None = None,
    cancel: download.CancelFlag | None = None,
) -> refresh_mod.RefreshResult:
    with _require_store(factory) as store:
        client = _client(factory)
        filters = scope.ensure_offline_filters(client)
        scope.remember_filters(store, filters)
        return refresh_mod.refresh(client, store, filters, progress=progress, cancel=cancel)


# -- records -----------------------------------------------------------------------------------------------


def offline_table(name: str) -> OfflineTable:
    try:
        return table(name)
    except KeyError:
        names = ", ".join(t.entity_set for t in TABLES)
        raise OfflineError(
            f"unknown table {name}", user_text=f"Unknown table {name!r}; use one of: {names}."
        ) from None


def _record_from_local(
    store: OfflineStore, spec: OfflineTable, row_id: str, local: Mapping[str, Any], pending: bool
) -> Record:
    names: dict[str, str] = {}
    for lookup in spec.lookups:
        value = local.get(lookup.value_name)
        target = local.get(lookup.value_name + LOOKUP_TABLE)
        if value and isinstance(target, str):
            found = store.name_of(target, str(value))
            if found:
                names[lookup.attribute] = found
    return Record(
        spec.logical_name, row_id, str(local.get(spec.primary_name) or ""), dict(local), pending, names
    )


def _record_from_server(spec: OfflineTable, row: Mapping[str, Any]) -> Record:
    fields = project_row(spec, row)
    names = {
        lookup.attribute: str(row[lookup.value_name + FORMATTED])
        for lookup in spec.lookups
        if row.get(lookup.value_name + FORMATTED)
    }
    return Record(
        spec.logical_name,
        str(row.get(spec.primary_id) or "").lower(),
        str(fields.get(spec.primary_name) or ""),
        fields,
        False,
        names,
    )


def list_records(factory: Factory, table_name: str, *, search: str = "", limit: int = 200) -> list[Record]:
    """The table's records: from the store when offline (FTS5 search), else from Dynamics 365."""
    spec = offline_table(table_name)
    if is_offline(factory):
        with _require_store(factory) as store:
            rows = (
                store.search(spec.logical_name, search, limit=limit)
                if search
                else store.rows(spec.logical_name, limit=limit)
            )
            return [_record_from_local(store, spec, r.id, r.local, r.pending) for r in rows]
    client = _client(factory)
    query = None
    if search.strip():
        # an OData string literal, with Dataverse's LIKE wildcards taken literally ([%], [_], [[])
        text = search.strip().replace("'", "''").replace("[", "[[]").replace("%", "[%]").replace("_", "[_]")
        query = " or ".join(f"contains({column},'{text}')" for column in spec.search_columns)
    params: list[tuple[str, str]] = [("$select", ",".join(spec.select))]
    if query:
        params.append(("$filter", query))
    params.append(("$orderby", spec.primary_name))
    out: list[Record] = []
    for row in client.session.iter_rows(
        spec.entity_set, params=params, page_size=min(limit, 5000), prefer=[ANNOTATIONS]
    ):
        out.append(_record_from_server(spec, row))
        if len(out) >= limit:
            break
    return out


def show_record(factory: Factory, table_name: str, record_id: str) -> Record:
    spec = offline_table(table_name)
    row_id = _row_id(record_id)
    if is_offline(factory):
        with _require_store(factory) as store:
            local = store.row(spec.logical_name, row_id)
            if local is None or local.deleted:
                raise _not_found(spec, record_id)
            return _record_from_local(store, spec, local.id, local.local, local.pending)
    client = _client(factory)
    try:
        row = client.session.get_json(
            f"{spec.entity_set}({row_id})", params={"$select": ",".join(spec.select)}, prefer=[ANNOTATIONS]
        )
    except NotFoundError:
        raise _not_found(spec, record_id) from None
    return _record_from_server(spec, row)


def _row_id(text: str) -> str:
    try:
        return guid(text)
    except ValueError:
        raise OfflineError(f"not an id: {text}", user_text=f"{text!r} is not a record id.") from None


def _not_found(spec: OfflineTable, record_id: str) -> OfflineError:
    return OfflineError(
        f"no {spec.logical_name} {record_id}", user_text=f"There is no {spec.logical_name} {record_id}."
    )


def _definition(factory: Factory, spec: OfflineTable, store: OfflineStore | None) -> TableDefinition | None:
    if store is not None:
        return store.definition(spec.logical_name)
    try:
        return read_table(_client(factory).session, spec.logical_name)
    except NotFoundError:
        return None


def _language(store: OfflineStore | None) -> int:
    if store is None:
        return ENGLISH
    text = store.get_meta("language") or ""
    return int(text) if text.isdigit() else ENGLISH


def _typed_fields(
    spec: OfflineTable, definition: TableDefinition | None, values: Mapping[str, str]
) -> dict[str, Any]:
    """``--set`` values as store fields, each coerced to its column's type."""
    typed: dict[str, Any] = {}
    for name, text in values.items():
        key = name.strip().lower()
        if spec.lookup(key) is not None:
            typed[key] = text
            continue
        attribute = definition.attributes.get(key) if definition is not None else None
        typed[key] = coerce(attribute, text)
    try:
        return kept(spec, typed)
    except ValueError as error:
        raise InvalidRecord([Problem("", "", str(error))]) from None


def _checked(
    factory: Factory,
    spec: OfflineTable,
    store: OfflineStore | None,
    values: Mapping[str, str],
    *,
    creating: bool,
) -> dict[str, Any]:
    definition = _definition(factory, spec, store)
    fields = _typed_fields(spec, definition, values)
    problems = check(spec, definition, fields, creating=creating, language=_language(store))
    if problems:
        raise InvalidRecord(problems)
    return fields


def create_record(factory: Factory, table_name: str, values: Mapping[str, str]) -> str:
    """A new record (its id): queued offline, or created in Dynamics 365. InvalidRecord says what is wrong."""
    spec = offline_table(table_name)
    if is_offline(factory):
        with _require_store(factory) as store:
            fields = _checked(factory, spec, store, values, creating=True)
            return store.create(spec.logical_name, fields)
    fields = _checked(factory, spec, None, values, creating=True)
    return _client(factory).create(
        spec.entity_set, body(spec, {k: v for k, v in fields.items() if v is not None})
    )


def update_record(factory: Factory, table_name: str, record_id: str, values: Mapping[str, str]) -> None:
    spec = offline_table(table_name)
    row_id = _row_id(record_id)
    if is_offline(factory):
        with _require_store(factory) as store:
            fields = _checked(factory, spec, store, values, creating=False)
            try:
                store.update(spec.logical_name, row_id, fields)
            except KeyError:
                raise _not_found(spec, record_id) from None
        return
    fields = _checked(factory, spec, None, values, creating=False)
    try:
        _client(factory).update(spec.entity_set, row_id, body(spec, fields))
    except NotFoundError:
        raise _not_found(spec, record_id) from None


def delete_record(factory: Factory, table_name: str, record_id: str) -> None:
    spec = offline_table(table_name)
    row_id = _row_id(record_id)
    if is_offline(factory):
        with _require_store(factory) as store:
            try:
                store.delete(spec.logical_name, row_id)
            except KeyError:
                raise _not_found(spec, record_id) from None
        return
    try:
        _client(factory).delete(spec.entity_set, row_id)
    except NotFoundError:
        raise _not_found(spec, record_id) from None


# -- decisions ---------------------------------------------------------------------------------------------


def list_conflicts(factory: Factory, *, unresolved_only: bool = False) -> list[OfflineConflict]:
    """The offline conflict log: every automatic decision with its losing value, and what waits for the user."""
    path = store_file(factory)
    if unresolved_only:  # what the status shows on every refresh: from the summary
        found = read_summary(path)
        return list(found.open_conflicts) if found is not None else []
    if not path.exists():
        return []
    with OfflineStore.open(path) as store:
        return store.conflicts()


def resolve_conflict(factory: Factory, conflict_id: int, use: str) -> str:
    """Decide a held record (``use``: "local" or "server", see ``wizard.offline.decide``); says what happens.
    KeyError: no such open conflict; ValueError: another ``use``."""
    with _require_store(factory) as store:
        conflict = store.conflict(conflict_id)
        if conflict is None or conflict.resolved:
            raise KeyError(conflict_id)

        def fetch(table_name: str, row_id: str) -> dict[str, Any] | None:
            spec = table(table_name)
            try:
                return _client(factory).session.get_json(
                    f"{spec.entity_set}({row_id})",
                    params={"$select": ",".join(spec.select)},
                    prefer=[ANNOTATIONS],
                )
            except NotFoundError:
                return None

        done = decide(store, conflict_id, use, fetch)
    text = f"{conflict.table} {conflict.item or conflict.row_id}: {done}."
    found = read_summary(store_file(factory))
    if found is not None and found.mode == ONLINE and found.pending:
        # Online, a decision that keeps the local change queues it again: send it now, as going online
        # would. If Dynamics 365 cannot take it now it stays queued and the background refresh sends it.
        try:
            sent = go_online(factory)
        except D365SyncError as error:
            log.info("a decided change waits to be sent: %s", error)
            return f"{conflict.table} {conflict.item or conflict.row_id}: kept; it is sent with the next refresh."
        if sent.online:
            return f"{conflict.table} {conflict.item or conflict.row_id}: kept and sent to Dynamics 365."
    return text


# -- for the schedule and the organization steps ------------------------------------------------------------


def refresh_interval(factory: Factory) -> timedelta:
    """How often the store is refreshed while online: the user's ``usersettings.offlinesyncinterval``, never
    under the organization's ``minofflinesyncinterval`` (15 minutes while that is unknown), by the same rule as
    the messaging sync's interval (``wizard.app.schedule.interval_for``). Network: call it on a worker."""
    client = _client(factory)
    user = client.user_settings(client.whoami().user_id)
    minimum: int | None = None
    try:
        for row in client.query("organizations", select=["minofflinesyncinterval"]):
            value = row.get("minofflinesyncinterval")
            minimum = value if isinstance(value, int) and value > 0 else None
            break
    except ODataError as error:  # a service without the column: the original's floor
        log.info("no minofflinesyncinterval (%s)", error)
    return interval_for(None, ServerIntervals(user.offlinesyncinterval, minimum))


@dataclass
class BackgroundRefresh:
    """What one background check did: when the next is due, and the refresh when one ran."""

    next_in: timedelta
    result: refresh_mod.RefreshResult | None = None


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def background_refresh(factory: Factory, *, now: datetime | None = None) -> BackgroundRefresh:
    """The background refresh (issue 14, item 7): while the user is online and a store exists, refresh it when
    :func:`refresh_interval` has passed since the last refresh (or download); say when to look again. No store
    or offline: nothing is read from the network, look again in 15 minutes. Network: call it on a worker."""
    idle = BackgroundRefresh(timedelta(minutes=FLOOR_MINUTES))
    found = read_summary(store_file(factory))
    if found is None or found.mode == OFFLINE:
        return idle
    last = _moment(found.refreshed_at or found.downloaded_at)
    interval = refresh_interval(factory)
    moment = now or datetime.now(UTC)
    if not found.pending and last is not None and timedelta(0) <= moment - last < interval:
        return BackgroundRefresh(interval - (moment - last))
    if found.pending:  # online with changes still to send (a decision kept mine): send them, then refresh
        return BackgroundRefresh(interval, go_online(factory).refresh)
    return BackgroundRefresh(interval, refresh(factory))


def queued_changes(factory: Factory, org_id: str) -> int:
    """Offline changes of organization ``org_id`` not sent yet (switching or removing it warns when any;
    no network)."""
    found = read_summary(store_path(factory.where.data_dir, org_id))
    return found.queued if found is not None else 0


def remove_store(factory: Factory, org_id: str) -> None:
    """Delete organization ``org_id``'s offline store (it is being removed from the profile); the caller has
    asked about :func:`queued_changes` first. No store: nothing to do."""
    path = store_path(factory.where.data_dir, org_id)
    for name in (f"{path}-wal", f"{path}-shm", str(path)):
        Path(name).unlink(missing_ok=True)


# -- what a record form needs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    """One field of a record form, from the table's definitions in the user's language."""

    name: str  # what ``--set`` and the record's fields use (a lookup: its attribute, ``parentcustomerid``)
    label: str
    kind: str  # the definition's AttributeType ("String", "Picklist", "Lookup", ...; "" when unknown)
    required: bool = False
    max_length: int | None = None
    choices: tuple[tuple[int, str], ...] = ()
    targets: tuple[str, ...] = ()  # a lookup's tables
    read_only: bool = False


def form(factory: Factory, table_name: str) -> list[FormField]:
    """The fields of ``table_name``'s form, in the table's order (offline: from the store's definitions)."""
    spec = offline_table(table_name)
    if is_offline(factory):
        with _require_store(factory) as store:
            definition, language = store.definition(spec.logical_name), _language(store)
    else:
        definition = _definition(factory, spec, None)
        language, _duplicates = _user_options(_client(factory))
    out: list[FormField] = []
    for name in spec.fields:
        lookup = spec.lookup(name)
        key = lookup.attribute if lookup is not None else name
        attribute = definition.attributes.get(key) if definition is not None else None
        out.append(
            FormField(
                name=key,
                label=attribute.label(language) if attribute is not None else key,
                kind=attribute.attribute_type if attribute is not None else "",
                required=bool(attribute and attribute.required),
                max_length=attribute.max_length if attribute is not None else None,
                choices=tuple((o.value, o.label.text(language)) for o in attribute.options)
                if attribute
                else (),
                targets=tuple(lookup.targets) if lookup is not None else (),
                read_only=name in spec.read_only,
            )
        )
    return out


def lookup_choices(
    factory: Factory, table_name: str, field_name: str, *, search: str = "", limit: int = 50
) -> list[Record]:
    """The records a lookup of ``table_name`` may point to (offline: the local ones), by name."""
    spec = offline_table(table_name)
    lookup = spec.lookup(field_name)
    if lookup is None:
        raise OfflineError(
            f"not a lookup: {field_name}", user_text=f"{field_name} is not a lookup of {spec.entity_set}."
        )
    out: list[Record] = []
    for target in lookup.targets:
        if target in BY_NAME:
            out.extend(list_records(factory, target, search=search, limit=limit))
    return sorted(out, key=lambda r: r.name.casefold())[:limit]
