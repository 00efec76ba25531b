"""Graph resources <-> the product's mailbox item types (contacts, To Do tasks, events, messages).

``*_from`` reads a resource into a :mod:`wizard.mailbox.base` item; ``*_out`` gives the JSON body to write.
Attendees are never written as Graph attendees (Graph would send invitations): they travel in the extended
property ``d365attendees`` (JSON).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from wizard.errors import Severity
from wizard.mailbox.base import (
    AppointmentItem,
    ContactItem,
    FolderKind,
    MailboxError,
    MailItem,
    PhysicalAddress,
    ProtocolError,
    TaskItem,
    TaskStatus,
)
from wizard.mailbox.graph.props import (
    ATTENDEES_ID,
    PROP_ATTENDEES,
    PROP_BUSINESS_FAX,
    TASK_EXTENSION,
    ext_values,
    props_from,
)
from wizard.mailbox.graph.recurrence import recurrence_from, recurrence_out
from wizard.mailbox.graph.values import change_key_of, date_dtz, from_dtz, name_and_address, parse_dt, to_dtz
from wizard.mailbox.message import parse_message

log = logging.getLogger(__name__)


_SHOW_AS = ("free", "tentative", "busy", "oof")
_TASK_STATUS = {
    TaskStatus.NOT_STARTED: "notStarted",
    TaskStatus.IN_PROGRESS: "inProgress",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.WAITING: "waitingOnOthers",
    TaskStatus.DEFERRED: "deferred",
}
_TASK_STATUS_OF = {v.lower(): k for k, v in _TASK_STATUS.items()}


def _phys(value: Any) -> PhysicalAddress | None:
    if not isinstance(value, Mapping) or not any(
        value.get(k) for k in ("street", "city", "state", "postalCode", "countryOrRegion")
    ):
        return None
    return PhysicalAddress(
        street=str(value.get("street") or ""),
        city=str(value.get("city") or ""),
        state=str(value.get("state") or ""),
        postal_code=str(value.get("postalCode") or ""),
        country=str(value.get("countryOrRegion") or ""),
    )


def _phys_out(value: PhysicalAddress | None) -> dict[str, str]:
    value = value or PhysicalAddress()
    return {
        "street": value.street,
        "city": value.city,
        "state": value.state,
        "postalCode": value.postal_code,
        "countryOrRegion": value.country,
    }


def contact_from(r: Mapping[str, Any]) -> ContactItem:
    business = [str(p) for p in r.get("businessPhones") or [] if p]
    homes = [str(p) for p in r.get("homePhones") or [] if p]
    phones: dict[str, str] = {}
    if business:
        phones["business"] = business[0]
    if len(business) > 1:
        phones["business2"] = business[1]
    if r.get("mobilePhone"):
        phones["mobile"] = str(r["mobilePhone"])
    if homes:
        phones["home"] = homes[0]
    fax = ext_values(r).get("0x3a24")
    if fax:
        phones["fax"] = fax
    birthday = parse_dt(r.get("birthday"))
    return ContactItem(
        id=str(r.get("id") or ""),
        change_key=change_key_of(r),
        given_name=str(r.get("givenName") or ""),
        surname=str(r.get("surname") or ""),
        display_name=str(r.get("displayName") or ""),
        company=str(r.get("companyName") or ""),
        department=str(r.get("department") or ""),
        job_title=str(r.get("jobTitle") or ""),
        emails=[
            str(e.get("address"))
            for e in r.get("emailAddresses") or []
            if isinstance(e, Mapping) and e.get("address")
        ],
        phones=phones,
        business_address=_phys(r.get("businessAddress")),
        home_address=_phys(r.get("homeAddress")),
        web_page=str(r.get("businessHomePage") or ""),
        birthday=birthday.date() if birthday else None,
        notes=str(r.get("personalNotes") or ""),
        categories=[str(c) for c in r.get("categories") or []],
        last_modified=parse_dt(r.get("lastModifiedDateTime")),
        props=props_from(r),
    )


def contact_out(item: ContactItem) -> dict[str, Any]:
    phones = item.phones
    body: dict[str, Any] = {
        "givenName": item.given_name,
        "surname": item.surname,
        "displayName": item.display_name,
        "companyName": item.company,
        "department": item.department,
        "jobTitle": item.job_title,
        "emailAddresses": [{"address": e, "name": e} for e in item.emails[:3]],
        "businessPhones": [p for p in (phones.get("business"), phones.get("business2")) if p],
        "mobilePhone": phones.get("mobile") or None,
        "homePhones": [phones["home"]] if phones.get("home") else [],
        "businessAddress": _phys_out(item.business_address),
        "homeAddress": _phys_out(item.home_address),
        "businessHomePage": item.web_page or None,
        "birthday": f"{item.birthday.isoformat()}T00:00:00Z" if item.birthday else None,
        "personalNotes": item.notes,
        "categories": list(item.categories),
        "singleValueExtendedProperties": [{"id": PROP_BUSINESS_FAX, "value": phones.get("fax", "")}],
    }
    return body


def task_from(r: Mapping[str, Any]) -> TaskItem:
    due = from_dtz(r.get("dueDateTime"))
    start = from_dtz(r.get("startDateTime"))
    status = _TASK_STATUS_OF.get(str(r.get("status") or "").lower(), TaskStatus.NOT_STARTED)
    percent = 100 if status is TaskStatus.COMPLETED else 0
    for extension in r.get("extensions") or []:
        if isinstance(extension, Mapping) and extension.get("extensionName") == TASK_EXTENSION:
            with contextlib.suppress(TypeError, ValueError):
                percent = int(extension.get("percentcomplete", percent))
    body = r.get("body") or {}
    return TaskItem(
        id=str(r.get("id") or ""),
        change_key=change_key_of(r),
        subject=str(r.get("title") or ""),
        body=str(body.get("content") or "") if isinstance(body, Mapping) else "",
        start=start.date() if start else None,
        due=due.date() if due else None,
        completed=from_dtz(r.get("completedDateTime")),
        status=status,
        percent_complete=percent,
        importance=str(r.get("importance") or "normal").lower(),
        categories=[str(c) for c in r.get("categories") or []],
        last_modified=parse_dt(r.get("lastModifiedDateTime")),
        props=props_from(r),
    )


def task_out(item: TaskItem) -> dict[str, Any]:
    return {
        "title": item.subject,
        "body": {"content": item.body, "contentType": "text"},
        "startDateTime": date_dtz(item.start) if item.start else None,
        "dueDateTime": date_dtz(item.due) if item.due else None,
        "completedDateTime": to_dtz(item.completed) if item.completed else None,
        "status": _TASK_STATUS[item.status],
        "importance": item.importance if item.importance in ("low", "normal", "high") else "normal",
        "categories": list(item.categories),
    }


def appointment_from(r: Mapping[str, Any], zone: tzinfo) -> AppointmentItem:
    """An appointment from an event resource; times in ``zone`` (the mailbox's)."""
    start, end = from_dtz(r.get("start")), from_dtz(r.get("end"))
    all_day = bool(r.get("isAllDay"))
    if all_day:
        start = datetime.combine(start.date(), datetime.min.time(), zone) if start else None
        end = datetime.combine(end.date(), datetime.min.time(), zone) if end else None
    else:
        start = start.astimezone(zone) if start else None
        end = end.astimezone(zone) if end else None
    ext = ext_values(r)
    required: list[tuple[str, str]] = []
    optional: list[tuple[str, str]] = []
    try:
        stored = json.loads(ext.get(PROP_ATTENDEES, "") or "{}")
        required = [(str(n), str(a)) for n, a in stored.get("required", [])]
        optional = [(str(n), str(a)) for n, a in stored.get("optional", [])]
    except (ValueError, TypeError, AttributeError):
        log.info("unreadable attendee list on an appointment; ignored")
    for attendee in r.get("attendees") or []:  # meetings made in Outlook by the user
        pair = name_and_address(attendee)
        if pair is None or pair in required or pair in optional:
            continue
        (optional if str(attendee.get("type")) == "optional" else required).append(pair)
    show = str(r.get("showAs") or "busy").lower()
    location = r.get("location") or {}
    body = r.get("body") or {}
    return AppointmentItem(
        id=str(r.get("id") or ""),
        change_key=change_key_of(r),
        subject=str(r.get("subject") or ""),
        start=start,
        end=end,
        is_all_day=all_day,
        location=str(location.get("displayName") or "") if isinstance(location, Mapping) else "",
        body=str(body.get("content") or "") if isinstance(body, Mapping) else "",
        organizer=name_and_address(r.get("organizer")),
        required_attendees=required,
        optional_attendees=optional,
        recurrence=recurrence_from(r.get("recurrence")),
        uid=str(r["iCalUId"]) if r.get("iCalUId") else None,
        is_cancelled=bool(r.get("isCancelled")),
        show_as=_SHOW_AS.index(show) if show in _SHOW_AS else 2,
        reminder_minutes=int(r.get("reminderMinutesBeforeStart") or 0) if r.get("isReminderOn") else None,
        categories=[str(c) for c in r.get("categories") or []],
        last_modified=parse_dt(r.get("lastModifiedDateTime")),
        props=props_from(r),
    )


def appointment_out(item: AppointmentItem, zone: str | None) -> dict[str, Any]:
    """The event body for ``item``; a series' start is written in the IANA zone ``zone`` (None = UTC)."""
    if item.start is None or item.end is None:
        raise MailboxError(
            "appointment without start or end",
            user_text=f"The appointment {item.subject!r} has no start or end time.",
            severity=Severity.ITEM,
        )
    if item.start.tzinfo is None or item.end.tzinfo is None:
        raise MailboxError(
            "naive appointment time",
            user_text="An appointment time had no time zone.",
            severity=Severity.ITEM,
        )
    if item.is_all_day:
        start, end = date_dtz(item.start.date()), date_dtz(item.end.date())
    else:
        start, end = to_dtz(item.start, zone), to_dtz(item.end, zone)
    attendees = {
        "required": [list(p) for p in item.required_attendees],
        "optional": [list(p) for p in item.optional_attendees],
    }
    return {
        "subject": item.subject,
        "body": {"contentType": "text", "content": item.body},
        "start": start,
        "end": end,
        "isAllDay": item.is_all_day,
        "location": {"displayName": item.location},
        "recurrence": recurrence_out(item.recurrence, start["timeZone"]) if item.recurrence else None,
        "showAs": _SHOW_AS[item.show_as] if 0 <= item.show_as < 4 else "busy",
        "isReminderOn": item.reminder_minutes is not None,
        "reminderMinutesBeforeStart": item.reminder_minutes or 0,
        "categories": list(item.categories),
        "singleValueExtendedProperties": [
            {
                "id": ATTENDEES_ID,
                "value": json.dumps(attendees, ensure_ascii=False)
                if item.required_attendees or item.optional_attendees
                else "",
            }
        ],
    }


def mail_from(kind: FolderKind, resource: Mapping[str, Any], raw_body: Any, *, size_limit: int) -> MailItem:
    """A mail item from its MIME content (``$value``, base64 in a batch answer) and the message resource."""
    try:
        raw = base64.b64decode(str(raw_body or ""), validate=True) if isinstance(raw_body, str) else b""
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError("MIME content that is not base64", severity=Severity.ITEM) from exc
    item = parse_message(
        raw,
        item_id=str(resource["id"]),
        folder=kind,
        size_limit=size_limit,
        internet_message_id=resource.get("internetMessageId"),
    )
    item.id = str(resource["id"])
    item.folder = kind
    item.change_key = change_key_of(resource)
    item.categories = [str(c) for c in resource.get("categories") or []]
    item.is_read = bool(resource.get("isRead"))
    item.props = props_from(resource)
    return item
