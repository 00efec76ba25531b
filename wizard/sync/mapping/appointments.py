"""Appointments and series: a Dataverse ``appointment`` / ``recurringappointmentmaster`` row (with its
activity parties) and an Outlook calendar item as canonical Fields, and back.

All-day appointments are midnight-to-midnight in the mailbox zone on both sides. Attendees are compared by
address and type only. Meeting invitations: neither the CRM payload nor the mailbox item asks for
invitations to be sent (a Web API create of an appointment sends nothing; the mailbox backend saves
calendar items without meeting requests).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from wizard.mailbox.base import AppointmentItem
from wizard.settings.enums import Kind
from wizard.sync import recurrence as rec
from wizard.sync import timezones as tzs
from wizard.sync.mapping.specs import APPOINTMENT_SPECS, MappingContext
from wizard.sync.mapping.values import META_COLUMNS, address_key, crm_meta, int_or, memo, meta_links, text
from wizard.sync.model import Fields

ITEM_TYPE = AppointmentItem

# activityparty.participationtypemask values used for appointments
MASK_REQUIRED, MASK_OPTIONAL, MASK_ORGANIZER = 5, 6, 7
_MASK_TYPE = {MASK_REQUIRED: "required", MASK_OPTIONAL: "optional", MASK_ORGANIZER: "organizer"}
_TYPE_MASK = {v: k for k, v in _MASK_TYPE.items()}

#: entity set of each party target (for partyid_<logical>@odata.bind)
ENTITY_SETS = {
    "systemuser": "systemusers",
    "contact": "contacts",
    "account": "accounts",
    "lead": "leads",
    "queue": "queues",
}

_PARTY_COLUMNS = ("participationtypemask", "_partyid_value", "addressused")


def _appointment_times(
    start: Any, end: Any, all_day: bool, tz: str, naive_tz: str
) -> tuple[str | None, str | None]:
    """Canonical (start, end): UTC ISO; all-day snapped to local midnights of the mailbox zone."""
    if not all_day:
        return tzs.to_utc_iso(start, naive_tz), tzs.to_utc_iso(end, naive_tz)
    if start is None or start == "":
        return None, None
    if isinstance(start, datetime) and start.tzinfo is None and naive_tz != tz:
        start = start.replace(tzinfo=tzs.zone(naive_tz))
    if isinstance(end, datetime) and end.tzinfo is None and naive_tz != tz:
        end = end.replace(tzinfo=tzs.zone(naive_tz))
    if isinstance(start, str) and naive_tz != "UTC":
        start = tzs.parse_datetime(start, naive_tz)
    first = tzs.local_date_nearest(start, tz)
    last = tzs.local_date_nearest(end, tz) if end not in (None, "") else first + timedelta(days=1)
    if last <= first:
        last = first + timedelta(days=1)
    return tzs.to_utc_iso(tzs.local_midnight(first, tz)), tzs.to_utc_iso(tzs.local_midnight(last, tz))


def _attendee(address: str, name: str, role: str) -> dict[str, str]:
    # Display names are deliberately not compared: each side resolves the name from the address, and
    # carrying both sides' spellings would make every meeting look changed on every run.
    return {"address": address, "name": "", "type": role}


def _sorted_attendees(entries: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    unique = {(e["type"], e["address"]): e for e in entries if e["address"]}
    return [unique[key] for key in sorted(unique)]


def _party_address(party: Mapping[str, Any], ctx: MappingContext) -> str:
    address = address_key(party.get("addressused"))
    if address:
        return address
    if str(party.get("_partyid_value") or "").lower() == ctx.user_id.lower():
        return address_key(ctx.mailbox_address)
    return ""


def _crm_attendees(parties: Sequence[Mapping[str, Any]], ctx: MappingContext) -> list[dict[str, str]]:
    entries = []
    for party in parties:
        role = _MASK_TYPE.get(int_or(party.get("participationtypemask"), 0))
        if role is None:
            continue
        entries.append(_attendee(_party_address(party, ctx), "", role))
    return _sorted_attendees(entries)


def _series_end(recurrence: Mapping[str, Any] | None, tz: str) -> str | None:
    """When a series is over (the delete rules' "past"): the day after its last occurrence; None if never."""
    if recurrence is None:
        return None
    if recurrence.get("end_date") is not None:
        last = date.fromisoformat(recurrence["end_date"])
    elif recurrence.get("occurrences") is not None:
        dates = rec.to_mailbox({**recurrence, "deleted": [], "modified": []}).dates()
        if not dates:
            return None
        last = dates[-1]
    else:
        return None
    return tzs.to_utc_iso(tzs.local_midnight(last + timedelta(days=1), tz))


def crm_view(
    row: Mapping[str, Any],
    ctx: MappingContext,
    *,
    parties: Sequence[Mapping[str, Any]] = (),
    master: Mapping[str, Any] | None = None,
    instances: Iterable[Mapping[str, Any]] = (),
) -> Fields:
    """An ``appointment`` or ``recurringappointmentmaster`` row; parties may be expanded into the row."""
    if not parties:
        for nav in ("appointment_activity_parties", "recurringappointmentmaster_activity_parties"):
            if isinstance(row.get(nav), list):
                parties = row[nav]
                break
    series = master if master is not None else (row if row.get("recurrencepatterntype") is not None else None)
    all_day = bool(row.get("isalldayevent"))
    start_raw = (series.get("starttime") if series is not None else None) or row.get("scheduledstart")
    end_raw = (series.get("endtime") if series is not None else None) or row.get("scheduledend")
    start, end = _appointment_times(start_raw, end_raw, all_day, ctx.mailbox_tz, "UTC")
    recurrence = (
        rec.strip_same_as_series(
            rec.from_crm(series, ctx.mailbox_tz, instances=instances),
            text(row.get("subject")),
            text(row.get("location")),
        )
        if series is not None
        else None
    )
    attendees = _crm_attendees(parties, ctx)
    organizers = [p for p in parties if int_or(p.get("participationtypemask"), 0) == MASK_ORGANIZER]
    out: Fields = {
        "subject": text(row.get("subject")),
        "scheduledstart": start,
        "scheduledend": end,
        "isalldayevent": all_day,
        "location": text(row.get("location")),
        "description": memo(row.get("description")),
        "attendees": attendees,
        "recurrence": recurrence,
    }
    out.update(crm_meta(Kind.APPOINTMENTS, row, ctx, "activityid"))
    if organizers:
        out["@is_organizer"] = any(
            str(p.get("_partyid_value") or "").lower() == ctx.user_id.lower()
            or ctx.is_me(p.get("addressused"))
            for p in organizers
        )
    else:
        out["@is_organizer"] = out["@owned_by_me"]
    out["@end"] = _series_end(recurrence, ctx.mailbox_tz) if recurrence is not None else end
    return out


def mailbox_view(item: AppointmentItem, ctx: MappingContext) -> Fields:
    tz = ctx.mailbox_tz
    start, end = _appointment_times(item.start, item.end, item.is_all_day, tz, tz)
    entries = []
    if item.organizer is not None:
        entries.append(_attendee(address_key(item.organizer[1]), item.organizer[0], "organizer"))
    entries += [_attendee(address_key(a), n, "required") for n, a in item.required_attendees]
    entries += [_attendee(address_key(a), n, "optional") for n, a in item.optional_attendees]
    recurrence = rec.strip_same_as_series(
        rec.from_mailbox(item.recurrence), text(item.subject), text(item.location)
    )
    out: Fields = {
        "subject": text(item.subject),
        "scheduledstart": start,
        "scheduledend": end,
        "isalldayevent": bool(item.is_all_day),
        "location": text(item.location),
        "description": memo(item.body),
        "attendees": _sorted_attendees(entries),
        "recurrence": recurrence,
        "@owned_by_me": True,
        "@is_organizer": item.organizer is None or not ctx.mailbox_address or ctx.is_me(item.organizer[1]),
        "@state": "canceled" if item.is_cancelled else "open",
        "@end": _series_end(recurrence, tz) if recurrence is not None else end,
        "@modified": tzs.to_utc_iso(item.last_modified, tz),
        **meta_links(item.props, item.categories),
    }
    return out


def _party_body(entry: Mapping[str, Any], ctx: MappingContext) -> dict[str, Any]:
    role = str(entry.get("type") or "required")
    if role not in _TYPE_MASK:
        raise ValueError(f"appointments: attendee type {role!r} is not required, optional or organizer")
    address = address_key(entry.get("address"))
    party: dict[str, Any] = {"participationtypemask": _TYPE_MASK[role]}
    target: tuple[str, str] | None = None
    if ctx.is_me(address) or (role == "organizer" and not address):
        target = ("systemuser", ctx.user_id)
    elif address and ctx.resolve_party is not None:
        target = ctx.resolve_party(address)
    if target is not None:
        logical, record_id = target
        entity_set = ENTITY_SETS.get(logical)
        if entity_set is None:
            raise ValueError(f"appointments: cannot bind a party of type {logical!r}")
        party[f"partyid_{logical}@odata.bind"] = f"{entity_set}({record_id})"
    if address:
        party["addressused"] = address
    return party


def crm_payload(
    changes: Fields, ctx: MappingContext, *, creating: bool, series: bool | None = None
) -> dict[str, Any]:
    known = {s.name for s in APPOINTMENT_SPECS}
    for name in changes:
        if not name.startswith("@") and name not in known:
            raise ValueError(f"appointments: {name!r} is not a synchronized field")
    is_series = series if series is not None else changes.get("recurrence") is not None
    body: dict[str, Any] = {}
    for name in ("subject", "location"):
        if name in changes:
            body[name] = text(changes[name])
    if "description" in changes:
        body["description"] = memo(changes["description"])
    if "isalldayevent" in changes:
        body["isalldayevent"] = bool(changes["isalldayevent"])
    all_day = bool(changes.get("isalldayevent", False))
    start_raw, end_raw = changes.get("scheduledstart"), changes.get("scheduledend")
    if "scheduledstart" in changes or "scheduledend" in changes:
        if all_day and start_raw is not None:
            start, end = _appointment_times(start_raw, end_raw, True, ctx.mailbox_tz, "UTC")
        else:
            start, end = tzs.to_utc_iso(start_raw), tzs.to_utc_iso(end_raw)
        if "scheduledstart" in changes:
            body["scheduledstart"] = start
            if is_series:
                body["starttime"] = start
        if "scheduledend" in changes:
            body["scheduledend"] = end
            if is_series:
                body["endtime"] = end
        if is_series and start and end:
            first, last = tzs.parse_datetime(start), tzs.parse_datetime(end)
            assert first is not None and last is not None
            body["duration"] = int((last - first).total_seconds() // 60)
    if changes.get("recurrence") is not None:
        body.update(rec.to_crm(changes["recurrence"], ctx.mailbox_tz, creating=creating))
    nav = "recurringappointmentmaster_activity_parties" if is_series else "appointment_activity_parties"
    if "attendees" in changes or creating:
        entries = list(changes.get("attendees") or [])
        if not any(str(e.get("type")) == "organizer" for e in entries):
            entries.insert(0, {"address": ctx.mailbox_address, "name": "", "type": "organizer"})
        body[nav] = [_party_body(e, ctx) for e in entries]
    return body


def apply(changes: Fields, item: AppointmentItem, ctx: MappingContext) -> AppointmentItem:
    tz = ctx.mailbox_tz
    for name, attr in (("subject", "subject"), ("location", "location")):
        if name in changes:
            setattr(item, attr, changes[name] or "")
    if "description" in changes:
        item.body = changes["description"] or ""
    if "isalldayevent" in changes:
        item.is_all_day = bool(changes["isalldayevent"])
    if "scheduledstart" in changes or "scheduledend" in changes or "isalldayevent" in changes:
        start = changes["scheduledstart"] if "scheduledstart" in changes else tzs.to_utc_iso(item.start, tz)
        end = changes["scheduledend"] if "scheduledend" in changes else tzs.to_utc_iso(item.end, tz)
        if item.is_all_day and start is not None:
            start, end = _appointment_times(start, end, True, tz, "UTC")
        item.start = tzs.from_utc_iso(start, tz)
        item.end = tzs.from_utc_iso(end, tz)
    if "attendees" in changes:
        required: list[tuple[str, str]] = []
        optional: list[tuple[str, str]] = []
        for entry in changes["attendees"] or []:
            pair = (str(entry.get("name") or ""), str(entry.get("address") or ""))
            role = entry.get("type")
            if role == "organizer":
                item.organizer = pair
            elif role == "optional":
                optional.append(pair)
            else:
                required.append(pair)
        item.required_attendees, item.optional_attendees = required, optional
    if "recurrence" in changes:
        value = changes["recurrence"]
        item.recurrence = rec.to_mailbox(value) if value is not None else None
    return item


# --------------------------------------------------------------------------------------------------
# Reading: $select, $expand, entity sets


def crm_select(**_contacts_only: object) -> list[str]:
    """``$select`` for reading appointments from ``appointments`` (occurrences mark their series)."""
    columns = [
        "activityid",
        "subject",
        "scheduledstart",
        "scheduledend",
        "isalldayevent",
        "location",
        "description",
        "instancetypecode",
        "_seriesid_value",  # an occurrence's change marks its series (wizard.sync.series)
        *META_COLUMNS,
    ]
    return list(dict.fromkeys(columns))


def crm_master_select() -> list[str]:
    """``$select`` for ``recurringappointmentmasters`` (the series' own columns + its pattern)."""
    series = next(s for s in APPOINTMENT_SPECS if s.name == "recurrence")
    columns = [
        "activityid",
        "subject",
        "scheduledstart",
        "scheduledend",
        "starttime",
        "endtime",
        "isalldayevent",
        "location",
        "description",
        *series.crm,
        *META_COLUMNS,
    ]
    return list(dict.fromkeys(columns))


def crm_party_select() -> list[str]:
    """``$select`` for the activity parties of an appointment."""
    return list(_PARTY_COLUMNS)


def crm_expand(*, series: bool = False) -> str:
    """``$expand`` clause that brings an appointment's (or series') parties in the same request."""
    nav = "recurringappointmentmaster_activity_parties" if series else "appointment_activity_parties"
    return f"{nav}($select={','.join(_PARTY_COLUMNS)})"


def entity_set(fields: Mapping[str, Any] | None = None) -> str:
    """An appointment with a recurrence is a ``recurringappointmentmaster``, else an ``appointment``."""
    if fields is not None and fields.get("recurrence") is not None:
        return "recurringappointmentmasters"
    return "appointments"
