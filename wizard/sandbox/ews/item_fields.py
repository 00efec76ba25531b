"""The fields the server owns or checks on an item: conversation threading, boolean normalisation, date-times
stored as instants, the defaults and computed fields Exchange adds (as in the AllProperties answers of the
GetItem operation pages), the recurrence check, and applying one Set/Append/DeleteItemField of an UpdateItem."""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import re
from typing import Any

from wizard.sandbox.ews._soap import Element, local, set_child, sub, t
from wizard.sandbox.ews.errors import EwsError
from wizard.sandbox.ews.instants import (
    BadDateTime,
    UnknownZone,
    current,
    duration_text,
    normalize_item,
    parse_instant,
)
from wizard.sandbox.ews.restrictions import ext_key, parse_path

RECURRENCE_PATTERNS = {
    "RelativeYearlyRecurrence",
    "AbsoluteYearlyRecurrence",
    "RelativeMonthlyRecurrence",
    "AbsoluteMonthlyRecurrence",
    "WeeklyRecurrence",
    "DailyRecurrence",
    "DailyRegeneration",
    "WeeklyRegeneration",
    "MonthlyRegeneration",
    "YearlyRegeneration",
}
RECURRENCE_RANGES = {"NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence"}


# -- conversation threading --------------------------------------------------------------------------------
def subject_topic(subject: str) -> str:
    return re.sub(r"^\s*((re|aw|fw|fwd|wg|antw)\s*:\s*)+", "", subject, flags=re.IGNORECASE).strip()


def conversation_fields(elem: Element) -> None:
    """ConversationId/-Index/-Topic from the thread headers, the way Exchange derives them."""
    refs = (elem.findtext(t("References")) or "").split()
    parent = elem.findtext(t("InReplyTo")) or (refs[-1] if refs else None)
    root = refs[0] if refs else parent or elem.findtext(t("InternetMessageId")) or ""
    if elem.find(t("ConversationId")) is None:
        digest = hashlib.sha256(root.strip().lower().encode()).digest()
        sub(elem, "t:ConversationId", attrs={"Id": base64.b64encode(b"AAQk" + digest[:20]).decode()})
    if elem.find(t("ConversationIndex")) is None:
        head = b"\x01" + hashlib.sha256(root.strip().lower().encode()).digest()[:21]
        depth = max(len(refs), 1 if parent else 0)
        tail = b"".join(hashlib.sha256(f"{root}#{n}".encode()).digest()[:5] for n in range(depth))
        sub(elem, "t:ConversationIndex", base64.b64encode(head + tail).decode())
    if elem.find(t("ConversationTopic")) is None:
        sub(elem, "t:ConversationTopic", subject_topic(elem.findtext(t("Subject")) or ""))


def _display_names(elem: Element | None) -> str:
    if elem is None:
        return ""
    return "; ".join(
        (b.findtext(t("Name")) or b.findtext(t("EmailAddress")) or "") for b in elem.iter(t("Mailbox"))
    )


BOOLEAN_NAME = re.compile(r"^(Is|Has|Allow)[A-Z]|IsSet$|Requested$")


def normalize_booleans(elem: Element) -> None:
    """Clients may send xs:boolean as 0/1; Exchange always answers true/false."""
    for node in elem.iter():
        text = (node.text or "").strip()
        if text not in ("0", "1") or len(node):
            continue
        name = local(node.tag)
        if BOOLEAN_NAME.search(name):
            node.text = "true" if text == "1" else "false"
        elif name == "Value" and node.getparent() is not None:
            uri = node.getparent().find(t("ExtendedFieldURI"))
            if uri is not None and uri.get("PropertyType") == "Boolean":
                node.text = "true" if text == "1" else "false"


#: what Exchange sets on every item the client leaves them out of (GetItem calendar/contact/task/message pages)
COMMON_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("Sensitivity", "Normal"),
    ("Importance", "Normal"),
    ("IsSubmitted", False),
    ("IsFromMe", False),
    ("IsResend", False),
    ("IsUnmodified", False),
    ("Culture", "en-US"),
)
TYPE_DEFAULTS: dict[str, tuple[tuple[str, Any], ...]] = {
    "CalendarItem": (
        ("IsDraft", False),
        ("ReminderIsSet", True),
        ("ReminderMinutesBeforeStart", 15),
        ("IsAllDayEvent", False),
        ("LegacyFreeBusyStatus", "Busy"),
        ("IsCancelled", False),
        ("MeetingRequestWasSent", False),
        ("AppointmentSequenceNumber", 0),
    ),
    "Contact": (("IsDraft", True), ("ReminderIsSet", False), ("FileAsMapping", "None")),
    "Task": (
        ("IsDraft", True),
        ("ReminderIsSet", False),
        ("ChangeCount", 1),
        ("PercentComplete", 0),
        ("Status", "NotStarted"),
    ),
    "Message": (
        ("ReminderIsSet", False),
        ("IsReadReceiptRequested", False),
        ("IsDeliveryReceiptRequested", False),
    ),
}
TASK_STATUS_TEXT = {
    "NotStarted": "Not Started",
    "InProgress": "In Progress",
    "Completed": "Completed",
    "WaitingOnOthers": "Waiting on someone else",
    "Deferred": "Deferred",
}


def _default(elem: Element, name: str, value: Any) -> None:
    if elem.find(t(name)) is None:
        set_child(elem, name, value)


def store_instants(elem: Element, tag: str) -> None:
    """Every dateTime of the item as an instant, read in the zones the request gives (see :mod:`instants`)."""
    try:
        normalize_item(elem, tag)
    except UnknownZone as exc:
        raise EwsError("ErrorCalendarInvalidTimeZone", str(exc)) from None
    except BadDateTime as exc:
        raise EwsError("ErrorSchemaValidation", str(exc)) from None


def _creation_zone(elem: Element) -> None:
    """A calendar item keeps the zone it was created in (StartTimeZone/EndTimeZone): the one it named, else
    the request's TimeZoneContext, else UTC ("Time zones and EWS in Exchange", creation time zone)."""
    if elem.find(t("StartTimeZone")) is None:
        meeting = elem.find(t("MeetingTimeZone"))
        named = meeting.get("TimeZoneName") if meeting is not None else None
        sub(elem, "t:StartTimeZone", attrs={"Id": named or current().zone_id or "UTC"})
    if elem.find(t("EndTimeZone")) is None:
        sub(elem, "t:EndTimeZone", attrs={"Id": elem.find(t("StartTimeZone")).get("Id") or "UTC"})


def _calendar_fields(elem: Element) -> None:
    start, end = elem.findtext(t("Start")), elem.findtext(t("End"))
    if start and end:
        with contextlib.suppress(BadDateTime):
            set_child(elem, "Duration", duration_text(parse_instant(start), parse_instant(end)))
    if start:
        set_child(elem, "ReminderDueBy", start)
    zone = elem.find(t("StartTimeZone"))
    if zone is not None and zone.get("Id"):
        set_child(elem, "TimeZone", zone.get("Id"))
    meeting = elem.findtext(t("IsMeeting")) == "true"
    cancelled = elem.findtext(t("IsCancelled")) == "true"
    set_child(elem, "AppointmentState", (1 if meeting else 0) | (4 if cancelled else 0))


def _complete_name(elem: Element) -> None:
    """CompleteName follows the name fields (CompleteNameType order: FirstName, MiddleName, LastName, …)."""
    for old in elem.findall(t("CompleteName")):
        elem.remove(old)
    parts = {
        "FirstName": elem.findtext(t("GivenName")),
        "MiddleName": elem.findtext(t("MiddleName")),
        "LastName": elem.findtext(t("Surname")),
        "Initials": elem.findtext(t("Initials")),
        "FullName": elem.findtext(t("DisplayName")),
        "Nickname": elem.findtext(t("Nickname")),
    }
    if not any(parts.values()):
        return
    holder = sub(elem, "t:CompleteName")
    for name, value in parts.items():
        if value:
            sub(holder, f"t:{name}", value)
    if elem.find(t("FileAs")) is None:
        given, surname = parts["FirstName"], parts["LastName"]
        file_as = f"{surname}, {given}" if given and surname else surname or given or parts["FullName"]
        if file_as:
            set_child(elem, "FileAs", file_as)


def refresh_computed(elem: Element, tag: str) -> None:
    """Server-computed fields that follow from others, and Exchange's defaults (kept in the stored element)."""
    normalize_booleans(elem)
    store_instants(elem, tag)
    for name, value in (*COMMON_DEFAULTS, *TYPE_DEFAULTS.get(tag, ())):
        _default(elem, name, value)
    if elem.find(t("Body")) is None:
        sub(elem, "t:Body", attrs={"BodyType": "Text"})
    if elem.find(t("DateTimeSent")) is None and elem.find(t("DateTimeReceived")) is not None:
        set_child(elem, "DateTimeSent", elem.findtext(t("DateTimeReceived")))
    for date_elem in elem.iterfind(f"{t('Recurrence')}/*/*"):
        # Exchange answers recurrence dates with a zone designator ("2026-12-01Z"), not as bare dates.
        if local(date_elem.tag) in ("StartDate", "EndDate") and len((date_elem.text or "").strip()) == 10:
            date_elem.text = date_elem.text.strip() + "Z"
    atts = elem.find(t("Attachments"))
    set_child(elem, "HasAttachments", atts is not None and len(atts) > 0)
    if tag in ("Message", "MeetingRequest"):
        set_child(elem, "DisplayTo", _display_names(elem.find(t("ToRecipients"))))
        set_child(elem, "DisplayCc", _display_names(elem.find(t("CcRecipients"))))
    if tag == "CalendarItem":  # required attendees are the meeting's "To", optional ones its "Cc"
        set_child(elem, "DisplayTo", _display_names(elem.find(t("RequiredAttendees"))))
        set_child(elem, "DisplayCc", _display_names(elem.find(t("OptionalAttendees"))))
    if tag == "CalendarItem":
        recurring = elem.find(t("Recurrence")) is not None
        set_child(elem, "CalendarItemType", "RecurringMaster" if recurring else "Single")
        set_child(elem, "IsRecurring", recurring)
        attendees = any(
            elem.find(t(n)) is not None for n in ("RequiredAttendees", "OptionalAttendees", "Resources")
        )
        set_child(elem, "IsMeeting", attendees)
        _creation_zone(elem)
        _calendar_fields(elem)
    if tag == "Task":
        status = elem.findtext(t("Status")) or "NotStarted"
        set_child(elem, "IsComplete", status == "Completed")
        set_child(elem, "IsRecurring", elem.find(t("Recurrence")) is not None)
        set_child(elem, "StatusDescription", TASK_STATUS_TEXT.get(status, status))
    if tag == "Contact":
        if elem.find(t("DisplayName")) is None:
            name = " ".join(filter(None, (elem.findtext(t("GivenName")), elem.findtext(t("Surname")))))
            if name:
                set_child(elem, "DisplayName", name)
        _complete_name(elem)
    size = len(base64.b64encode(json.dumps([e.text for e in elem.iter()], default=str).encode()))
    set_child(elem, "Size", size)


def validate_recurrence(elem: Element) -> None:
    rec = elem.find(t("Recurrence"))
    if rec is None:
        return
    kinds = [local(c.tag) for c in rec]
    if not any(k in RECURRENCE_PATTERNS for k in kinds) or not any(k in RECURRENCE_RANGES for k in kinds):
        raise EwsError(
            "ErrorCalendarInvalidRecurrence", "The recurrence pattern or range is missing or unknown."
        )
    start = rec.find(f"*/{t('StartDate')}")
    end = rec.find(f"{t('EndDateRecurrence')}/{t('EndDate')}")
    if start is not None and end is not None and (start.text or "")[:10] > (end.text or "")[:10]:
        raise EwsError("ErrorCalendarInvalidRecurrence", "The recurrence ends before it starts.")


def apply_update(elem: Element, upd: Element) -> str:
    """Apply one Set/Append/DeleteItemField to an item element; returns the changed field's key."""
    kind = local(upd.tag).replace("Item", "").replace("Folder", "")  # SetField / AppendToField / DeleteField
    path = parse_path(upd[0])
    payload = upd[1] if len(upd) > 1 else None
    if path.kind == "ext":
        new_props = [] if payload is None else payload.findall(t("ExtendedProperty"))
        for prop in elem.findall(t("ExtendedProperty")):
            if ext_key(prop.find(t("ExtendedFieldURI"))) == path.uri:
                elem.remove(prop)
        if kind != "DeleteField":
            for prop in new_props:
                elem.append(copy.deepcopy(prop))
        return path.key
    name = path.name
    if path.kind == "indexed":
        container = elem.find(t(name))
        if kind == "DeleteField":
            if container is not None:
                for entry in list(container):
                    if entry.get("Key") != path.index:
                        continue
                    if path.subfield:
                        for part in entry.findall(t(path.subfield)):
                            entry.remove(part)
                        if len(entry) == 0:
                            container.remove(entry)
                    else:
                        container.remove(entry)
                if len(container) == 0:
                    elem.remove(container)
            return path.key
        if payload is None or payload.find(t(name)) is None:
            raise EwsError("ErrorInvalidPropertySet", f"No value for {path.uri}.")
        new_entry = payload.find(t(name))[0]
        if container is None:
            container = sub(elem, f"t:{name}")
        existing = next((e for e in container if e.get("Key") == path.index), None)
        if path.subfield:
            if existing is None:
                existing = sub(container, "t:Entry", attrs={"Key": path.index or ""})
            for part in existing.findall(t(path.subfield)):
                existing.remove(part)
            for part in new_entry.findall(t(path.subfield)):
                existing.append(copy.deepcopy(part))
        else:
            if existing is not None:
                container.remove(existing)
            container.append(copy.deepcopy(new_entry))
        return path.key
    if kind == "DeleteField":
        for old in elem.findall(t(name)):
            elem.remove(old)
        return path.key
    new_values = [] if payload is None else payload.findall(t(name))
    if not new_values:
        raise EwsError("ErrorInvalidPropertySet", f"No value for {path.uri}.")
    if kind == "AppendToField":
        existing_elem = elem.find(t(name))
        if existing_elem is not None:
            for value in new_values:
                if len(value):
                    existing_elem.extend(copy.deepcopy(c) for c in value)
                else:
                    existing_elem.text = (existing_elem.text or "") + (value.text or "")
            return path.key
    for old in elem.findall(t(name)):
        elem.remove(old)
    for value in new_values:
        elem.append(copy.deepcopy(value))
    return path.key
