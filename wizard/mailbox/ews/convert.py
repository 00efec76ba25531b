"""exchangelib items <-> the product's mailbox item types (contacts, tasks, appointments, mail).

``*_from_ews`` reads an exchangelib item into a :mod:`wizard.mailbox.base` item; ``*_to_fields`` gives the
exchangelib field values to write for one. The field lists say what a read asks the server for.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

from exchangelib import Attendee, EWSDate, EWSDateTime
from exchangelib import Mailbox as XMailbox
from exchangelib.indexed_properties import EmailAddress as XEmailAddress
from exchangelib.indexed_properties import PhoneNumber as XPhoneNumber
from exchangelib.indexed_properties import PhysicalAddress as XPhysicalAddress

from wizard.errors import Severity
from wizard.mailbox.base import (
    AppointmentItem,
    ContactItem,
    FolderKind,
    MailboxError,
    MailItem,
    PhysicalAddress,
    TaskItem,
    TaskStatus,
)
from wizard.mailbox.ews.props import props_from_item
from wizard.mailbox.ews.recurrence import recurrence_to_ews, series_from_ews
from wizard.mailbox.ews.values import as_aware, as_date, as_text, in_zone, name_and_address
from wizard.mailbox.message import parse_message

PHONE_LABELS = {
    "business": "BusinessPhone",
    "business2": "BusinessPhone2",
    "mobile": "MobilePhone",
    "home": "HomePhone",
    "fax": "BusinessFax",
}
EMAIL_LABELS = ("EmailAddress1", "EmailAddress2", "EmailAddress3")
SHOW_AS = ("Free", "Tentative", "Busy", "OOF")
TASK_STATUS = {
    TaskStatus.NOT_STARTED: "NotStarted",
    TaskStatus.IN_PROGRESS: "InProgress",
    TaskStatus.COMPLETED: "Completed",
    TaskStatus.WAITING: "WaitingOnOthers",
    TaskStatus.DEFERRED: "Deferred",
}
IMPORTANCE = {"low": "Low", "normal": "Normal", "high": "High"}

CONTACT_FIELDS = (
    "given_name",
    "surname",
    "display_name",
    "company_name",
    "department",
    "job_title",
    "email_addresses",
    "phone_numbers",
    "physical_addresses",
    "business_homepage",
    "birthday",
    "body",
    "categories",
)
CALENDAR_FIELDS = (
    "subject",
    "start",
    "end",
    "is_all_day",
    "location",
    "body",
    "required_attendees",
    "optional_attendees",
    "recurrence",
    "legacy_free_busy_status",
    "reminder_is_set",
    "reminder_minutes_before_start",
    "categories",
)
TASK_FIELDS = (
    "subject",
    "body",
    "start_date",
    "due_date",
    "status",
    "percent_complete",
    "importance",
    "categories",
)
MAIL_FIELDS = (
    "mime_content",
    "message_id",  # the InternetMessageId: the message's id when its MIME has no Message-ID
    "is_read",
    "categories",
    "datetime_received",
    "conversation_index",
    "conversation_topic",
    "size",
)


def _physical(addresses: Any, label: str) -> PhysicalAddress | None:
    for entry in addresses or []:
        if entry.label == label:
            return PhysicalAddress(
                street=as_text(entry.street),
                city=as_text(entry.city),
                state=as_text(entry.state),
                postal_code=as_text(entry.zipcode),
                country=as_text(entry.country),
            )
    return None


def contact_from_ews(x: Any) -> ContactItem:
    emails: dict[str, str] = {e.label: as_text(e.email) for e in (x.email_addresses or []) if e.email}
    phones = {
        key: as_text(p.phone_number)
        for p in (x.phone_numbers or [])
        for key, label in PHONE_LABELS.items()
        if p.label == label and p.phone_number
    }
    return ContactItem(
        id=x.id,
        change_key=x.changekey,
        given_name=as_text(x.given_name),
        surname=as_text(x.surname),
        display_name=as_text(x.display_name),
        company=as_text(x.company_name),
        department=as_text(x.department),
        job_title=as_text(x.job_title),
        emails=[emails[label] for label in EMAIL_LABELS if label in emails],
        phones=phones,
        business_address=_physical(x.physical_addresses, "Business"),
        home_address=_physical(x.physical_addresses, "Home"),
        web_page=as_text(x.business_homepage),
        birthday=as_date(x.birthday),
        notes=as_text(x.body),
        categories=list(x.categories or []),
        last_modified=as_aware(x.last_modified_time),
        props=props_from_item(x),
    )


def contact_to_fields(item: ContactItem) -> dict[str, Any]:
    addresses = []
    for label, address in (("Business", item.business_address), ("Home", item.home_address)):
        if address is not None:
            addresses.append(
                XPhysicalAddress(
                    label=label,
                    street=address.street or None,
                    city=address.city or None,
                    state=address.state or None,
                    zipcode=address.postal_code or None,
                    country=address.country or None,
                )
            )
    return {
        "given_name": item.given_name or None,
        "surname": item.surname or None,
        # exchangelib (like Outlook) requires a display name: derive one the way Outlook does
        "display_name": item.display_name
        or " ".join(p for p in (item.given_name, item.surname) if p)
        or item.company
        or (item.emails[0] if item.emails else "")
        or "-",
        "company_name": item.company or None,
        "department": item.department or None,
        "job_title": item.job_title or None,
        "email_addresses": [
            XEmailAddress(label=label, email=email)
            for label, email in zip(EMAIL_LABELS, item.emails, strict=False)
            if email
        ]
        or None,
        "phone_numbers": [
            XPhoneNumber(label=PHONE_LABELS[key], phone_number=number)
            for key, number in item.phones.items()
            if key in PHONE_LABELS and number
        ]
        or None,
        "physical_addresses": addresses or None,
        "business_homepage": item.web_page or None,
        "birthday": EWSDate.from_date(item.birthday) if item.birthday else None,
        "body": item.notes or None,
        "categories": list(item.categories) or None,
    }


def task_from_ews(x: Any) -> TaskItem:
    status = next((k for k, v in TASK_STATUS.items() if v == x.status), TaskStatus.NOT_STARTED)
    return TaskItem(
        id=x.id,
        change_key=x.changekey,
        subject=as_text(x.subject),
        body=as_text(x.body),
        start=as_date(x.start_date),
        due=as_date(x.due_date),
        completed=as_aware(x.complete_date),
        status=status,
        percent_complete=int(x.percent_complete or 0),
        importance=as_text(x.importance).lower() or "normal",
        categories=list(x.categories or []),
        last_modified=as_aware(x.last_modified_time),
        props=props_from_item(x),
    )


def task_to_fields(item: TaskItem) -> dict[str, Any]:
    return {
        "subject": item.subject or None,
        "body": item.body or None,
        "start_date": EWSDate.from_date(item.start) if item.start else None,
        "due_date": EWSDate.from_date(item.due) if item.due else None,
        "status": TASK_STATUS[item.status],
        "percent_complete": Decimal(100 if item.status is TaskStatus.COMPLETED else item.percent_complete),
        "importance": IMPORTANCE.get(item.importance, "Normal"),
        "categories": list(item.categories) or None,
    }


def mail_from_ews(kind: FolderKind, x: Any, *, size_limit: int) -> MailItem:
    """A mail item from its MIME content and the EWS fields MIME does not carry."""
    raw = x.mime_content or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    item = parse_message(
        raw,
        item_id=x.id,
        folder=kind,
        size_limit=size_limit,
        size=x.size or None,
        internet_message_id=getattr(x, "message_id", None),
    )
    item.change_key = x.changekey
    item.is_read = bool(x.is_read)
    item.categories = list(x.categories or [])
    item.received = as_aware(x.datetime_received) or item.received
    if item.conversation_index is None and x.conversation_index:
        index = x.conversation_index
        item.conversation_index = (
            base64.b64encode(index).decode("ascii") if isinstance(index, bytes) else str(index)
        )
    if item.conversation_topic is None and x.conversation_topic:
        item.conversation_topic = str(x.conversation_topic)
    item.props = props_from_item(x)
    return item


def appointment_from_ews(x: Any, tz: Any) -> AppointmentItem:
    """Times come back in the mailbox's zone (EWS answers in UTC; the instant is the same)."""
    start, end = x.start, x.end
    if isinstance(start, dt.date) and not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    if isinstance(end, dt.date) and not isinstance(end, dt.datetime):
        end = dt.datetime.combine(end, dt.time(), tzinfo=tz)
    status = as_text(x.legacy_free_busy_status)
    show_as = SHOW_AS.index(status) if status in SHOW_AS else 2
    return AppointmentItem(
        id=x.id,
        change_key=x.changekey,
        subject=as_text(x.subject),
        start=in_zone(start, tz),
        end=in_zone(end, tz),
        is_all_day=bool(x.is_all_day),
        location=as_text(x.location),
        body=as_text(x.body),
        organizer=name_and_address(x.organizer),
        required_attendees=[
            a for a in (name_and_address(t.mailbox) for t in x.required_attendees or []) if a
        ],
        optional_attendees=[
            a for a in (name_and_address(t.mailbox) for t in x.optional_attendees or []) if a
        ],
        recurrence=series_from_ews(x, tz),
        uid=x.uid,
        is_cancelled=bool(x.is_cancelled),
        show_as=show_as,
        reminder_minutes=int(x.reminder_minutes_before_start or 0) if x.reminder_is_set else None,
        categories=list(x.categories or []),
        last_modified=as_aware(x.last_modified_time),
        props=props_from_item(x),
    )


def appointment_to_fields(item: AppointmentItem, tz: Any) -> dict[str, Any]:
    """exchangelib field values for ``item``, its times in the mailbox zone ``tz``."""
    if item.start is None or item.end is None:
        raise MailboxError(
            "appointment without start or end",
            user_text=f"The appointment {item.subject!r} has no start or end time.",
            severity=Severity.ITEM,
        )

    def when(value: dt.datetime) -> Any:
        if value.tzinfo is None:
            raise MailboxError(
                "naive appointment time",
                user_text="An appointment time had no time zone.",
                severity=Severity.ITEM,
            )
        local = value.astimezone(tz)
        if item.is_all_day:
            return EWSDate(local.year, local.month, local.day)
        return local if isinstance(local, EWSDateTime) else EWSDateTime.from_datetime(local)

    return {
        "subject": item.subject or None,
        "start": when(item.start),
        "end": when(item.end),
        "is_all_day": item.is_all_day,
        "location": item.location or None,
        "body": item.body or None,
        "required_attendees": [
            Attendee(mailbox=XMailbox(name=n or None, email_address=a), response_type="Unknown")
            for n, a in item.required_attendees
        ]
        or None,
        "optional_attendees": [
            Attendee(mailbox=XMailbox(name=n or None, email_address=a), response_type="Unknown")
            for n, a in item.optional_attendees
        ]
        or None,
        "recurrence": recurrence_to_ews(item.recurrence) if item.recurrence else None,
        "legacy_free_busy_status": SHOW_AS[item.show_as] if 0 <= item.show_as < 4 else "Busy",
        "reminder_is_set": item.reminder_minutes is not None,
        "reminder_minutes_before_start": item.reminder_minutes or 0,
        "categories": list(item.categories) or None,
    }
