"""Recurring series on the Dynamics 365 side: reading in-scope masters, writing patterns and exceptions.

A series is one record of the appointments kind (its Fields carry ``"recurrence"``, with its deleted and
modified occurrences); its CRM id is the ``recurringappointmentmaster``'s activityid, which is also the
``crmid`` stamped on the mailbox master, so links survive a lost state DB like any other.

Scope: a series is in scope when one of the user's active appointment filters, run against
``recurringappointmentmaster`` (the same FetchXML with the entity renamed), matches the master. The
instances of a series are never synchronized on their own; a filter that matches an instance does not bring
its series in. A filter the master table cannot answer (a column only appointments have) matches no series.

Reading costs nothing while no series is linked: new series are found on the full reads of the appointments
scope and through their instances, which are appointment rows and so show up in the appointments delta
(``_seriesid_value``). Linked series are checked every run with one query for their versions (one per 50),
which also tells a deleted series (and a deleted occurrence: Dataverse then updates the master's
``deletedexceptionslist``). A series' version is its row version plus a digest of its exception instances.

Exceptions are the instances: a modified occurrence is an instance changed in place (Dataverse makes it an
exception, instancetypecode 3); a deleted occurrence is a deleted instance (Dataverse adds it to the master's
``deletedexceptionslist``). Neither a deleted occurrence nor an exception can be taken back in Dataverse, and
a new pattern regenerates all instances, so such a change sends the pattern again and writes the wanted
exceptions from scratch.

Only occurrences inside Dataverse's expansion window have instances (the organization's past and future
expansion windows; Dataverse makes the later ones in a background job as time passes), and Dynamics 365 for
Outlook synchronized no occurrence outside them either. An exception whose occurrence has no instance yet
*waits*: it is not an error, the merge base leaves it out (so Dynamics 365's plain occurrence on that date
does not read as a change to take back to the mailbox) and keeps its date under ``@waiting``
(:data:`~wizard.sync.planner.WAITING`, stored with the base in one transaction). When the appointments delta
shows new instances of a waiting series and one falls on a waiting date (:func:`ready`), the mailbox's copy is
read whole, it is ahead of the base, and the exception is written.

An appointment that becomes a series (or the reverse) is deleted and created again in the other table under
the same activityid. The row to create is journaled first (``Conversions``): a crash between the delete and
the create must not read as a delete in Dynamics 365 on the next run, which would delete the mailbox's copy;
the engine's start-up calls :func:`finish_conversion` for each one left pending.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from wizard.crm.client import DataverseClient, guid
from wizard.crm.fetchxml import master_fetch, restrict_to_ids
from wizard.errors import D365SyncError, Severity
from wizard.odata.errors import NotFoundError, PreconditionFailedError, ValidationError
from wizard.settings.enums import Kind
from wizard.sync import mapping
from wizard.sync import recurrence as rec
from wizard.sync import timezones as tzs
from wizard.sync.model import Fields
from wizard.sync.planner import WAITING
from wizard.sync.records.common import chunks, in_filter

log = logging.getLogger(__name__)

MASTERS = "recurringappointmentmasters"
#: versions of series in the CRM cursor's snapshot start with this (the others are appointment rows)
MARK = "S|"
_INSTANCE_COLUMNS = [
    "activityid",
    "_seriesid_value",
    "instancetypecode",
    "originalstartdate",
    "scheduledstart",
    "scheduledend",
    "subject",
    "location",
    "statecode",
]


def is_series_version(version: str | None) -> bool:
    return bool(version) and str(version).startswith(MARK)


def row_etag(version: str | None) -> str | None:
    """The row's ETag in a snapshot version: an appointment's version is its ETag, a series' carries its
    master's (see :func:`_version`). None when the version holds none (a ``modifiedon`` or a content hash)."""
    if not version:
        return None
    text = str(version)
    if text.startswith(MARK):
        text = text[len(MARK) :].rsplit("|", 1)[0]
    return text if text.startswith('W/"') else None


# -------------------------------------------------------------------------------------------- reading


@dataclass
class SeriesRead:
    """What the series side of the appointments kind says this run."""

    views: dict[str, Fields] = field(default_factory=dict)  # every series read this run (in scope)
    versions: dict[str, str] = field(default_factory=dict)  # every in-scope series -> version
    changed: dict[str, Fields] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    out_of_scope: set[str] = field(default_factory=set)
    handled: set[str] = field(default_factory=set)  # series ids decided on here (not by the appointment read)


def _version(master: Mapping[str, Any], instances: Sequence[Mapping[str, Any]]) -> str:
    etag = str(master.get("@odata.etag") or master.get("modifiedon") or "")
    digest = hashlib.sha256(
        "|".join(
            sorted(f"{i.get('activityid')}:{i.get('@odata.etag') or i.get('modifiedon')}" for i in instances)
        ).encode()
    ).hexdigest()[:16]
    return f"{MARK}{etag}|{digest}"


def _scope(client: DataverseClient, queries: Sequence[str], ids: Sequence[str] | None) -> set[str]:
    """Master ids the filters match (all of them, or which of ``ids``)."""
    found: set[str] = set()
    for fetchxml in queries:
        query = master_fetch(fetchxml)
        if query is None:
            continue
        parts: Iterable[Sequence[str] | None] = [None] if ids is None else chunks(sorted(set(ids) - found))
        for chunk in parts:
            text = query if chunk is None else restrict_to_ids(query, "activityid", chunk)
            try:
                for row in client.fetch(MASTERS, text):
                    if row.get("activityid"):
                        found.add(str(row["activityid"]).lower())
            except ValidationError as error:  # a column only appointments have: no series match this filter
                log.info("appointments: a filter cannot be asked of recurring series (%s)", error.message)
                break
    return found


def _read_series(
    client: DataverseClient, mctx: mapping.MappingContext, ids: Sequence[str]
) -> tuple[dict[str, Fields], dict[str, str]]:
    """Views (pattern, exceptions, parties) and versions of the masters ``ids``."""
    masters: dict[str, dict[str, Any]] = {}
    instances: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunks(sorted(ids)):
        for row in client.query(
            MASTERS,
            select=[*mapping.crm_master_select(), "deletedexceptionslist"],
            filter=in_filter("activityid", chunk),
            expand=mapping.crm_expand(series=True),
        ):
            masters[str(row["activityid"]).lower()] = row
        for row in client.query(
            "appointments",
            select=_INSTANCE_COLUMNS,
            filter=f"{in_filter('_seriesid_value', chunk)} and (instancetypecode eq 3 or instancetypecode eq 4 "
            "or statecode eq 2)",
        ):
            instances.setdefault(str(row.get("_seriesid_value") or "").lower(), []).append(row)
    views: dict[str, Fields] = {}
    versions: dict[str, str] = {}
    for cid, row in masters.items():
        mine = instances.get(cid, [])
        row["deletedexceptionslist"] = deleted_dates(row.get("deletedexceptionslist"), mctx.mailbox_tz)
        try:
            views[cid] = mapping.crm_view(Kind.APPOINTMENTS, row, mctx, instances=mine)
        except ValueError as error:  # a pattern we cannot express (e.g. a regenerating one): not synced
            log.warning("appointments: series %s left out: %s", cid, error)
            continue
        versions[cid] = _version(row, mine)
    return views, versions


def deleted_dates(value: Any, tz: str) -> str | None:
    """``deletedexceptionslist`` as dates in the mailbox zone (the zone the occurrences are matched in).

    Dataverse lists a deleted instance by its original start, an instant (docs/sandbox-fidelity.md). Read as a
    date-only value (nearest local midnight) an occurrence starting in the afternoon would move to the next
    day, so its delete would be lost and a wrong occurrence deleted in the mailbox; an instant is therefore
    taken as the local date it starts on. Plain dates are kept as they are.
    """
    if not value or not isinstance(value, str):
        return value or None
    out: list[str] = []
    for part in (p.strip() for p in value.replace(";", ",").split(",")):
        if not part:
            continue
        try:
            out.append(part if len(part) == 10 else tzs.local_date(part, tz).isoformat())
        except ValueError:
            out.append(part)  # opaque: left to the recurrence reader
    return ",".join(out)


def read(
    client: DataverseClient,
    mctx: mapping.MappingContext,
    queries: Sequence[str],
    *,
    previous: Mapping[str, str],
    linked: Iterable[str],
    touched: Iterable[str],
    full: bool,
) -> SeriesRead:
    """The series side of a run; see the module docstring for when it reads what.

    ``previous`` is last run's snapshot (series versions are marked), ``linked`` the CRM ids of linked
    series, ``touched`` series whose instances the appointments read saw change (or that failed last run).
    """
    known = {cid for cid, v in previous.items() if is_series_version(v)} | {c.lower() for c in linked}
    touched = {c.lower() for c in touched}
    out = SeriesRead()
    if full:
        in_scope = _scope(client, queries, None) if queries else set()
        gone = known - in_scope
        alive = _existing(client, sorted(gone)) if gone else set()
        out.deleted, out.out_of_scope = gone - alive, gone & alive
        out.views, out.versions = _read_series(client, mctx, sorted(in_scope))
        out.changed = {cid: v for cid, v in out.views.items() if previous.get(cid) != out.versions[cid]}
        out.handled = known | in_scope
        return out
    candidates = known | touched
    if not candidates:
        return out  # nothing linked, nothing touched: no request at all
    current = _current_versions(client, sorted(candidates))
    out.deleted = known - set(current)
    stale = {
        cid
        for cid, etag in current.items()
        if cid in touched or cid not in known or not str(previous.get(cid, "")).startswith(f"{MARK}{etag}|")
    }
    in_scope = _scope(client, queries, sorted(stale)) if stale and queries else set()
    out.out_of_scope = (stale - in_scope) & known
    out.views, versions = _read_series(client, mctx, sorted(in_scope))
    out.versions = {
        cid: v for cid, v in previous.items() if cid in known and cid in current and cid not in stale
    }
    out.versions.update(versions)
    out.changed = {cid: v for cid, v in out.views.items() if previous.get(cid) != versions[cid]}
    out.handled = known | set(current)  # ids that are series (a touched id may be an appointment)
    return out


def _current_versions(client: DataverseClient, ids: Sequence[str]) -> dict[str, str]:
    """Master id -> row version (ETag) for those of ``ids`` that exist."""
    out: dict[str, str] = {}
    for chunk in chunks(ids):
        for row in client.query(
            MASTERS, select=["activityid", "modifiedon"], filter=in_filter("activityid", chunk)
        ):
            out[str(row["activityid"]).lower()] = str(row.get("@odata.etag") or row.get("modifiedon") or "")
    return out


def _existing(client: DataverseClient, ids: Sequence[str]) -> set[str]:
    return set(_current_versions(client, ids))


# -------------------------------------------------------------------------------------------- writing


def _instances_by_date(client: DataverseClient, master_id: str, tz: str) -> dict[date, dict[str, Any]]:
    """The series' instances (occurrences and exceptions) by original date in the mailbox zone."""
    out: dict[date, dict[str, Any]] = {}
    for row in client.query(
        "appointments",
        select=_INSTANCE_COLUMNS,
        filter=f"_seriesid_value eq {guid(master_id)}",
    ):
        original = row.get("originalstartdate") or row.get("scheduledstart")
        if original:
            out[tzs.local_date(original, tz)] = row
    return out


def ready(
    client: DataverseClient, mctx: mapping.MappingContext, waiting: Mapping[str, Sequence[str]]
) -> set[str]:
    """The series of ``waiting`` (id -> waiting dates) that have an occurrence on one of their dates now."""
    out: set[str] = set()
    for master_id, dates in waiting.items():
        if not dates:
            continue
        days = sorted(date.fromisoformat(d) for d in dates)
        # the dates are local to the mailbox: a day either side covers any zone's offset from UTC
        first = (days[0] - timedelta(days=1)).isoformat()
        last = (days[-1] + timedelta(days=2)).isoformat()
        for row in client.query(
            "appointments",
            select=["activityid", "originalstartdate"],
            filter=f"_seriesid_value eq {guid(master_id)} and originalstartdate ge {first}T00:00:00Z "
            f"and originalstartdate lt {last}T00:00:00Z",
        ):
            original = row.get("originalstartdate")
            if original and tzs.local_date(original, mctx.mailbox_tz) in days:
                out.add(master_id)
                break
    return out


def same_pattern(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two recurrences are the same series (their exceptions aside); no recurrence is no pattern."""
    return a is not None and b is not None and rec.pattern_only(a) == rec.pattern_only(b)


def needs_reset(current: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    """Whether the pattern must be sent again: a new pattern, a restored occurrence or an undone exception."""
    if current is None:
        return False
    if not same_pattern(current, wanted):
        return True
    have_deleted, want_deleted = set(current["deleted"]), set(wanted["deleted"])
    have_modified = {m["original"] for m in current["modified"]}
    want_modified = {m["original"] for m in wanted["modified"]}
    return not have_deleted <= want_deleted or not have_modified <= want_modified | want_deleted


def write_exceptions(
    client: DataverseClient,
    mctx: mapping.MappingContext,
    master_id: str,
    wanted_raw: Mapping[str, Any],
    current_raw: Mapping[str, Any] | None,
    series_fields: Mapping[str, Any],
) -> list[str]:
    """Delete / change instances so the series has ``wanted``'s exceptions; returns the dates that wait (no
    instance yet: outside the expansion window).

    ``current`` is what the series has now (None: freshly created or regenerated, no exceptions).
    ``series_fields`` give the subject and location an exception keeps when it does not change them.
    """
    wanted = rec.normalize(wanted_raw)
    current = rec.normalize(current_raw) if current_raw is not None else None
    assert wanted is not None
    have_deleted = set(current["deleted"]) if current else set()
    have_modified = {m["original"]: m for m in current["modified"]} if current else {}
    to_delete = sorted(set(wanted["deleted"]) - have_deleted)
    to_change = [
        m
        for m in wanted["modified"]
        if m["original"] not in wanted["deleted"] and have_modified.get(m["original"]) != m
    ]
    if not to_delete and not to_change:
        return []
    instances = _instances_by_date(client, master_id, mctx.mailbox_tz)
    skipped: list[str] = []
    for day in to_delete:
        row = instances.get(date.fromisoformat(day))
        if row is None:
            skipped.append(day)
            continue
        with contextlib.suppress(NotFoundError):  # gone already: what we wanted
            client.delete("appointments", str(row["activityid"]))
    for change in to_change:
        row = instances.get(date.fromisoformat(change["original"]))
        if row is None:
            skipped.append(change["original"])
            continue
        body: dict[str, Any] = {
            "subject": change["subject"] or series_fields.get("subject") or "",
            "location": change["location"] or series_fields.get("location") or "",
        }
        if change["start"] and change["end"]:
            body.update(scheduledstart=change["start"], scheduledend=change["end"])
        client.update("appointments", str(row["activityid"]), body)
    if skipped:
        log.info(
            "appointments: %d exception(s) of series %s wait until Dynamics 365 has their occurrences "
            "(outside its expansion window): %s",
            len(skipped),
            master_id,
            ", ".join(skipped),
        )
    return skipped


def without_exceptions(recurrence: Mapping[str, Any] | None, dates: Iterable[str]) -> dict[str, Any] | None:
    """``recurrence`` minus the exceptions on ``dates`` (the ones Dynamics 365 does not have)."""
    if recurrence is None:
        return None
    left_out = set(dates)
    out = dict(recurrence)
    out["deleted"] = [d for d in recurrence.get("deleted") or [] if d not in left_out]
    out["modified"] = [m for m in recurrence.get("modified") or [] if m.get("original") not in left_out]
    return out


def keep_waiting(
    wanted: Mapping[str, Any] | None, current: Mapping[str, Any] | None, dates: Iterable[str]
) -> dict[str, Any] | None:
    """``wanted`` (a recurrence going to the mailbox) with ``current``'s exceptions on the waiting ``dates``.

    Dynamics 365 has no occurrence on those dates yet, so what it sends says nothing about them: the
    mailbox's own exceptions there stay. A new pattern drops every exception, so then ``wanted`` goes as is.
    """
    waiting = set(dates)
    if wanted is None or current is None or not waiting:
        return dict(wanted) if wanted is not None else None
    new, old = rec.normalize(wanted), rec.normalize(current)
    assert new is not None and old is not None
    if not same_pattern(new, old):
        return new
    modified = {m["original"]: m for m in new["modified"] if m["original"] not in waiting}
    modified.update({m["original"]: m for m in old["modified"] if m["original"] in waiting})
    new["deleted"] = sorted({d for d in new["deleted"] if d not in waiting} | (set(old["deleted"]) & waiting))
    new["modified"] = [modified[k] for k in sorted(modified)]
    return new


# ------------------------------------------------------------------------------------ the executor's hooks

#: columns whose change makes Dataverse regenerate a series' instances (exceptions are lost)
REGENERATING = frozenset(
    {
        *next(s for s in mapping.field_specs(Kind.APPOINTMENTS) if s.name == "recurrence").crm,
        "starttime",
        "endtime",
        "duration",
        "isalldayevent",
    }
)


def _synced(fields: Mapping[str, Any]) -> Fields:
    return {k: v for k, v in fields.items() if not k.startswith("@")}


class Conversions(Protocol):
    """Where a conversion is written down before its delete (the engine's state DB journal)."""

    def begin(self, crm_id: str, payload: Mapping[str, Any]) -> Any:
        """Record ``payload`` (see :func:`finish_conversion`) durably; returns a token for :meth:`done`."""

    def done(self, token: Any) -> None:
        """The conversion is over: the new row exists, or the old one is back."""


@dataclass
class Written:
    """What :func:`update` did to a series."""

    #: the dates of the exceptions that wait for their occurrences (the caller takes them out of the base:
    #: :func:`leave_out`); None when no exception was written, so what waited still waits
    waiting: list[str] | None


def update(
    client: DataverseClient,
    mctx: mapping.MappingContext,
    crm_id: str,
    changes: Fields,
    shape: Mapping[str, Any] | None,
    conversions: Conversions,
    etag: str | None = None,
) -> Written | None:
    """Carry out an UpdateCrm when a series is involved (None: a plain appointment, not handled here).

    ``shape`` is the record as Dynamics 365 has it (this run's view, else the merge base), ``etag`` the row's
    ETag as this run knows it: the first write (the master's PATCH, or the DELETE of a conversion) sends it as
    ``If-Match``, so a Dynamics 365 edit made since this run read the row fails the item (412) and is merged
    next run instead of being overwritten or deleted with the row. A single appointment that becomes a
    series, or the reverse, is deleted and created again in the other table with the same activityid, so the
    link and the mailbox item's crmid stay valid.
    """
    old_series = shape is not None and shape.get("recurrence") is not None
    new_series = changes["recurrence"] is not None if "recurrence" in changes else old_series
    if not old_series and not new_series:
        return None
    merged = {**_synced(shape or {}), **changes}
    if old_series != new_series:
        return Written(
            _replace(client, mctx, crm_id, merged, _synced(shape or {}), old_series, conversions, etag)
        )
    current = (shape or {}).get("recurrence")
    wanted = merged["recurrence"]
    payload = mapping.crm_payload(Kind.APPOINTMENTS, changes, mctx, creating=False, series=True)
    reset = "recurrence" in changes and needs_reset(current, wanted)
    if "recurrence" in changes and not reset:
        pattern = next(s for s in mapping.field_specs(Kind.APPOINTMENTS) if s.name == "recurrence").crm
        for column in pattern:
            payload.pop(column, None)  # the same pattern: sending it would regenerate the instances
    regenerated = bool(REGENERATING & set(payload))
    if payload:
        client.update(MASTERS, crm_id, payload, etag)
    if "recurrence" in changes or regenerated:
        return Written(
            write_exceptions(client, mctx, crm_id, wanted, None if regenerated else current, merged)
        )
    return Written(None)


def _replace(
    client: DataverseClient,
    mctx: mapping.MappingContext,
    crm_id: str,
    fields: Fields,
    old: Fields,
    old_series: bool,
    conversions: Conversions,
    etag: str | None = None,
) -> list[str]:
    """Move a record between ``appointments`` and ``recurringappointmentmasters`` under the same id; returns
    the new series' waiting exception dates."""
    old_set = MASTERS if old_series else "appointments"
    new_set = mapping.crm_entity_set(Kind.APPOINTMENTS, fields)
    payload = mapping.crm_payload(Kind.APPOINTMENTS, fields, mctx, creating=True)
    payload["activityid"] = guid(crm_id)
    restore = mapping.crm_payload(Kind.APPOINTMENTS, old, mctx, creating=True)
    restore["activityid"] = guid(crm_id)
    token = conversions.begin(
        crm_id, {"entity_set": new_set, "row": payload, "old_set": old_set, "old_row": restore}
    )
    try:
        client.delete(old_set, crm_id, etag)
    except PreconditionFailedError:
        conversions.done(token)  # changed in Dynamics 365 since read, and not deleted: merged next run
        raise
    try:
        client.create(new_set, payload)
    except D365SyncError:
        # put the old row back (same id) so a refused create loses nothing; the next run tries again
        try:
            client.create(old_set, restore)
        except D365SyncError as again:
            log.error("appointments: %s could not be restored after a failed conversion: %s", crm_id, again)
            raise  # left pending: the next start-up makes the row again (finish_conversion)
        conversions.done(token)
        raise
    conversions.done(token)
    recurrence = fields.get("recurrence")
    return write_exceptions(client, mctx, crm_id, recurrence, None, fields) if recurrence is not None else []


def finish_conversion(client: DataverseClient, crm_id: str, payload: Mapping[str, Any]) -> str:
    """Finish a conversion a crash interrupted (``payload`` as :func:`_replace` journaled it).

    If the row exists in either table, nothing is done. Otherwise it is created in the new table, or, if
    Dynamics 365 refuses that, the old row is put back; the next run then merges as usual (the link's base
    still describes the old row, so the change is sent again). Returns what was done; raises
    :class:`D365SyncError` when neither could be written (the entry stays pending).
    """
    for entity_set in (MASTERS, "appointments"):
        rows = client.query(entity_set, select=["activityid"], filter=f"activityid eq {guid(crm_id)}")
        if list(rows):
            return "found"
    try:
        client.create(str(payload["entity_set"]), dict(payload["row"]))
        return "created"
    except ValidationError as refused:
        log.warning(
            "appointments: %s: the interrupted conversion was refused (%s); restoring", crm_id, refused
        )
    client.create(str(payload["old_set"]), dict(payload["old_row"]))
    return "restored"


def after_create(
    client: DataverseClient, mctx: mapping.MappingContext, crm_id: str, fields: Fields, base: Fields
) -> list[str]:
    """A series just created from the mailbox gets its deleted and modified occurrences.

    Exceptions it could not get (no instance yet, or a refused write) are taken out of the merge base, so a
    later run sees the mailbox ahead of the base and writes them instead of taking them away from the
    mailbox. Returns the dates that wait for their instances.
    """
    recurrence = fields.get("recurrence")
    if recurrence is None or not (recurrence.get("deleted") or recurrence.get("modified")):
        return []
    try:
        skipped = write_exceptions(client, mctx, crm_id, recurrence, None, fields)
    except D365SyncError as error:
        if error.severity >= Severity.ACCOUNT:
            raise
        log.warning("appointments: exceptions of new series %s not written: %s", crm_id, error)
        skipped = [*recurrence.get("deleted", []), *(m["original"] for m in recurrence.get("modified", []))]
    leave_out(base, skipped)
    return skipped


def leave_out(base: Fields, dates: Sequence[str]) -> None:
    """A series' merge base after its exceptions were written: the ones on ``dates`` are not in Dynamics 365
    (they wait), so they are taken out of it and their dates kept under ``@waiting`` (none: the key goes)."""
    if dates and base.get("recurrence") is not None:
        base["recurrence"] = without_exceptions(base["recurrence"], dates)
        base[WAITING] = sorted(set(dates))
    else:
        base.pop(WAITING, None)


def still_waiting(
    base: Fields | None,
    shape: Mapping[str, Any] | None,
    changes: Fields,
    left_out: Sequence[str],
    *,
    whole: bool,
) -> list[str]:
    """What waits after an update of a series wrote its exceptions: what :func:`write_exceptions` left out, and
    what waited before unless ``whole`` (the mailbox copy was planned whole, waiting exceptions included) or
    the pattern changed (the mailbox dropped its exceptions with it). ``base`` is the merge base the plan
    carried over, ``shape`` the series as Dynamics 365 had it."""
    carried = [] if whole else waiting_dates(base)
    if "recurrence" in changes and not same_pattern((shape or {}).get("recurrence"), changes["recurrence"]):
        carried = []
    return sorted({*carried, *left_out})


def waiting_dates(base: Fields | None) -> list[str]:
    """The waiting exception dates a merge base notes (see :func:`leave_out`)."""
    return [str(d) for d in (base or {}).get(WAITING) or ()]
