"""Demo mailbox content and item builders for the EWS stand-in (deterministic: fixed dates, fixed order).

Anna gets ~30 received emails in German and English (threads with In-Reply-To/References, one categorised
"Tracked to Dynamics 365"), plus contacts, appointments (one weekly series) and tasks; the other users get a
contact and a task each. The builders are public so tests can put exactly the item they need into a mailbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Protocol

from wizard.sandbox.directory import Directory, DirectoryUser
from wizard.sandbox.ews._soap import Element, el, format_dt, mailbox_elem, set_child, sub, t
from wizard.sandbox.ews.item_fields import conversation_fields, refresh_computed
from wizard.sandbox.ews.store import MailboxStore, StoredItem


class StandIn(Protocol):
    """What seeding needs of the stand-in (:class:`.server.StandIn`)."""

    store: MailboxStore
    directory: Directory

    def user_for(self, address: str) -> DirectoryUser | None: ...


TRACKED_CATEGORY = "Tracked to Dynamics 365"
DEMO_START = dt.datetime(2026, 11, 2, 7, 30, tzinfo=dt.UTC)


def _recipients(parent: Element, tag: str, people: Sequence[tuple[str, str]]) -> None:
    if not people:
        return
    holder = sub(parent, tag)
    for name, address in people:
        box = sub(holder, "t:Mailbox")
        sub(box, "t:Name", name)
        sub(box, "t:EmailAddress", address)
        sub(box, "t:RoutingType", "SMTP")
        sub(box, "t:MailboxType", "Mailbox")


def build_message(
    *,
    subject: str,
    body: str,
    sender: tuple[str, str],
    to: Sequence[tuple[str, str]],
    cc: Sequence[tuple[str, str]] = (),
    received: dt.datetime,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    categories: Sequence[str] = (),
    html: bool = False,
    is_read: bool = False,
) -> Element:
    """A received ``<t:Message>`` element as the store keeps it."""
    msg = el(t("Message"))
    sub(msg, "t:ItemClass", "IPM.Note")
    sub(msg, "t:Subject", subject)
    sub(msg, "t:Body", body, {"BodyType": "HTML" if html else "Text"})
    if categories:
        holder = sub(msg, "t:Categories")
        for category in categories:
            sub(holder, "t:String", category)
    sub(msg, "t:DateTimeReceived", format_dt(received))
    sub(msg, "t:DateTimeSent", format_dt(received - dt.timedelta(minutes=2)))
    sub(msg, "t:DateTimeCreated", format_dt(received))
    sub(msg, "t:InternetMessageId", message_id)
    if in_reply_to:
        sub(msg, "t:InReplyTo", in_reply_to)
    if references:
        sub(msg, "t:References", " ".join(references))
    msg.append(mailbox_elem(t("Sender"), *sender))
    msg.append(mailbox_elem(t("From"), *sender))
    _recipients(msg, "t:ToRecipients", to)
    _recipients(msg, "t:CcRecipients", cc)
    sub(msg, "t:IsRead", is_read)
    sub(msg, "t:IsDraft", False)
    conversation_fields(msg)
    refresh_computed(msg, "Message")
    return msg


def build_contact(
    *,
    given_name: str,
    surname: str,
    email: str,
    company: str = "",
    job_title: str = "",
    business_phone: str = "",
    city: str = "",
) -> Element:
    contact = el(t("Contact"))
    sub(contact, "t:ItemClass", "IPM.Contact")
    sub(contact, "t:Subject", f"{given_name} {surname}")
    sub(contact, "t:FileAs", f"{surname}, {given_name}")
    sub(contact, "t:DisplayName", f"{given_name} {surname}")
    sub(contact, "t:GivenName", given_name)
    if company:
        sub(contact, "t:CompanyName", company)
    emails = sub(contact, "t:EmailAddresses")
    sub(emails, "t:Entry", email, {"Key": "EmailAddress1"})
    if city:
        addresses = sub(contact, "t:PhysicalAddresses")
        sub(sub(addresses, "t:Entry", attrs={"Key": "Business"}), "t:City", city)
    if business_phone:
        phones = sub(contact, "t:PhoneNumbers")
        sub(phones, "t:Entry", business_phone, {"Key": "BusinessPhone"})
    if job_title:
        sub(contact, "t:JobTitle", job_title)
    sub(contact, "t:Surname", surname)
    refresh_computed(contact, "Contact")
    return contact


def build_appointment(
    *,
    subject: str,
    start: dt.datetime,
    minutes: int,
    organizer: tuple[str, str],
    location: str = "",
    attendees: Sequence[tuple[str, str]] = (),
    weekly_on: str | None = None,
    occurrences: int = 0,
) -> Element:
    item = el(t("CalendarItem"))
    sub(item, "t:ItemClass", "IPM.Appointment")
    sub(item, "t:Subject", subject)
    sub(item, "t:Body", "", {"BodyType": "Text"})
    sub(
        item,
        "t:UID",
        "040000008200E00074C5B7101A82E008" + hashlib.sha256(subject.encode()).hexdigest()[:16].upper(),
    )
    sub(item, "t:Start", format_dt(start))
    sub(item, "t:End", format_dt(start + dt.timedelta(minutes=minutes)))
    sub(item, "t:IsAllDayEvent", False)
    sub(item, "t:LegacyFreeBusyStatus", "Busy")
    if location:
        sub(item, "t:Location", location)
    item.append(mailbox_elem(t("Organizer"), *organizer))
    if attendees:
        holder = sub(item, "t:RequiredAttendees")
        for name, address in attendees:
            attendee = sub(holder, "t:Attendee")
            box = sub(attendee, "t:Mailbox")
            sub(box, "t:Name", name)
            sub(box, "t:EmailAddress", address)
            sub(box, "t:RoutingType", "SMTP")
            sub(attendee, "t:ResponseType", "Unknown")
    if weekly_on:
        recurrence = sub(item, "t:Recurrence")
        weekly = sub(recurrence, "t:WeeklyRecurrence")
        sub(weekly, "t:Interval", "1")
        sub(weekly, "t:DaysOfWeek", weekly_on)
        sub(weekly, "t:FirstDayOfWeek", "Monday")
        numbered = sub(recurrence, "t:NumberedRecurrence")
        sub(numbered, "t:StartDate", start.date().isoformat())
        sub(numbered, "t:NumberOfOccurrences", str(occurrences or 10))
    sub(item, "t:MyResponseType", "Organizer")
    refresh_computed(item, "CalendarItem")
    return item


def build_task(*, subject: str, due: dt.datetime, status: str = "NotStarted", body: str = "") -> Element:
    task = el(t("Task"))
    sub(task, "t:ItemClass", "IPM.Task")
    sub(task, "t:Subject", subject)
    sub(task, "t:Body", body, {"BodyType": "Text"})
    sub(task, "t:DueDate", format_dt(due))
    sub(task, "t:PercentComplete", "100" if status == "Completed" else "0")
    sub(task, "t:StartDate", format_dt(due - dt.timedelta(days=3)))
    sub(task, "t:Status", status)
    refresh_computed(task, "Task")
    return task


def add_item(standin: StandIn, mailbox: str, folder: str, element: Element, when: dt.datetime) -> StoredItem:
    """Insert a prebuilt element into a mailbox folder (distinguished id), stamped at ``when``."""
    stored = standin.store.folder(mailbox, folder)
    if stored is None:
        raise KeyError(f"no folder {folder} in mailbox {mailbox}")
    if element.find(t("DateTimeCreated")) is None:
        set_child(element, "DateTimeCreated", format_dt(when))
    if element.find(t("DateTimeReceived")) is None:
        set_child(element, "DateTimeReceived", format_dt(when))
    return standin.store.insert(mailbox, stored.id, element, now=when)


# (sender name, address, subject, body, language)
_SENDERS = [
    ("Thomas Müller", "thomas.mueller@fabrikam.de"),
    ("Sarah Johnson", "sarah.johnson@adventure-works.com"),
    ("Lukas Weber", "lukas.weber@litware.de"),
    ("Emily Chen", "emily.chen@northwindtraders.com"),
    ("Claudia Fischer", "claudia.fischer@tailspintoys.de"),
    ("Jörg Bär", "joerg.baer@contoso.com"),
]

_TOPICS = [
    (
        "Angebot für die Wartungsverträge 2027",
        "Hallo Frau Schmidt,\n\nanbei wie besprochen unser Angebot für die Wartungsverträge.\n\nViele Grüße",
    ),
    (
        "Quarterly business review - agenda",
        "Hi Anna,\n\nplease find the agenda for our QBR below. Anything missing?\n\nBest regards",
    ),
    (
        "Rückfrage zur Rechnung 4711",
        "Guten Tag,\n\nzur Rechnung 4711 haben wir eine Rückfrage zu Position 3.\n\nFreundliche Grüße",
    ),
    (
        "Pilot rollout feedback",
        "Hello Anna,\n\nthe pilot went well, a few users asked about offline access.\n\nCheers",
    ),
    ("Termin nächste Woche", "Hallo Anna,\n\npasst dir Dienstag um 10 Uhr für die Abstimmung?\n\nGruß"),
    (
        "Contract renewal",
        "Dear Anna,\n\nour contract is up for renewal in December. Could we schedule a call?\n\nKind regards",
    ),
    (
        "Lieferverzug Bestellung 2026-118",
        "Hallo,\n\nleider verzögert sich die Lieferung um eine Woche.\n\nBeste Grüße",
    ),
    (
        "Trade fair follow-up",
        "Hi Anna,\n\ngreat meeting you at the fair. Attached are the product sheets we discussed.\n\nBest",
    ),
    (
        "Schulungstermine Dynamics 365",
        "Hallo zusammen,\n\ndie Schulungstermine für Dezember stehen fest.\n\nViele Grüße",
    ),
    (
        "Support case 00123 resolved",
        "Hello,\n\nyour support case has been resolved. Please let us know if the issue returns.\n\nRegards",
    ),
    (
        "Preisanpassung 2027",
        "Sehr geehrte Frau Schmidt,\n\nzum 1. Januar passen wir unsere Preise an.\n\nMit freundlichen Grüßen",
    ),
    (
        "Webinar invitation: data migration",
        "Hi Anna,\n\njoin our webinar on data migration next Thursday.\n\nThanks",
    ),
]


def seed_demo(standin: StandIn) -> None:
    """Fill the demo users' mailboxes (idempotent: does nothing when Anna's Inbox already has mail)."""
    anna = standin.user_for("anna.schmidt@contoso.com")
    if anna is None:
        return
    address = anna.primary_email
    me = (anna.full_name, address)
    if standin.store.list_items(address, "inbox"):
        return
    when = DEMO_START
    with standin.store.transaction():
        # 24 first messages, then 6 replies that thread onto earlier ones.
        ids: list[tuple[str, str, tuple[str, str]]] = []
        for n in range(24):
            sender = _SENDERS[n % len(_SENDERS)]
            subject, body = _TOPICS[n % len(_TOPICS)]
            if n >= len(_TOPICS):
                subject = f"{subject} ({n // len(_TOPICS) + 1})"
            domain = sender[1].split("@")[1]
            message_id = f"<demo-{n:03d}.{when:%Y%m%d%H%M}@{domain}>"
            categories = [TRACKED_CATEGORY] if n == 3 else []
            element = build_message(
                subject=subject,
                body=body,
                sender=sender,
                to=[me],
                received=when,
                message_id=message_id,
                categories=categories,
                is_read=n % 3 == 0,
                html=n % 4 == 1,
            )
            add_item(standin, address, "inbox", element, when)
            ids.append((message_id, subject, sender))
            when += dt.timedelta(hours=3, minutes=17)
        for n, index in enumerate((0, 1, 3, 5, 5, 9)):
            parent_id, subject, sender = ids[index]
            prefix = "AW: " if index % 2 == 0 else "RE: "  # the topics alternate German / English
            message_id = f"<demo-reply-{n:03d}.{when:%Y%m%d%H%M}@{sender[1].split('@')[1]}>"
            refs = [parent_id] if n != 4 else [parent_id, ids[5][0]]
            element = build_message(
                subject=prefix + subject,
                body="Danke, passt so. / Thanks, sounds good.",
                sender=sender,
                to=[me],
                received=when,
                message_id=message_id,
                in_reply_to=refs[-1],
                references=refs,
            )
            add_item(standin, address, "inbox", element, when)
            when += dt.timedelta(hours=2)

        people = [
            (
                "Thomas",
                "Müller",
                "thomas.mueller@fabrikam.de",
                "Fabrikam GmbH",
                "Einkaufsleiter",
                "+49 89 123456",
                "München",
            ),
            (
                "Sarah",
                "Johnson",
                "sarah.johnson@adventure-works.com",
                "Adventure Works",
                "Purchasing Manager",
                "+1 425 555 0100",
                "Redmond",
            ),
            (
                "Lukas",
                "Weber",
                "lukas.weber@litware.de",
                "Litware AG",
                "Geschäftsführer",
                "+49 30 987654",
                "Berlin",
            ),
            (
                "Emily",
                "Chen",
                "emily.chen@northwindtraders.com",
                "Northwind Traders",
                "IT Director",
                "+1 206 555 0199",
                "Seattle",
            ),
            (
                "Claudia",
                "Fischer",
                "claudia.fischer@tailspintoys.de",
                "Tailspin Toys",
                "Vertrieb",
                "+49 40 555123",
                "Hamburg",
            ),
        ]
        for given, surname, email, company, title, phone, city in people:
            element = build_contact(
                given_name=given,
                surname=surname,
                email=email,
                company=company,
                job_title=title,
                business_phone=phone,
                city=city,
            )
            add_item(standin, address, "contacts", element, DEMO_START)

        monday = dt.datetime(2026, 11, 9, 8, 0, tzinfo=dt.UTC)
        appointments = [
            build_appointment(
                subject="Jour fixe Vertrieb",
                start=monday,
                minutes=30,
                organizer=me,
                location="Teams",
                weekly_on="Monday",
                occurrences=12,
            ),
            build_appointment(
                subject="QBR Adventure Works",
                start=monday + dt.timedelta(days=2, hours=6),
                minutes=90,
                organizer=me,
                location="Redmond",
                attendees=[("Sarah Johnson", "sarah.johnson@adventure-works.com")],
            ),
            build_appointment(
                subject="Abstimmung Angebot Fabrikam",
                start=monday + dt.timedelta(days=3, hours=1),
                minutes=60,
                organizer=me,
                location="München",
                attendees=[("Thomas Müller", "thomas.mueller@fabrikam.de")],
            ),
        ]
        for element in appointments:
            add_item(standin, address, "calendar", element, DEMO_START)
        tasks = [
            build_task(subject="Angebot Fabrikam nachfassen", due=monday + dt.timedelta(days=4)),
            build_task(subject="Prepare QBR slides", due=monday + dt.timedelta(days=1), status="InProgress"),
            build_task(
                subject="Reisekosten abrechnen", due=monday - dt.timedelta(days=3), status="Completed"
            ),
        ]
        for element in tasks:
            add_item(standin, address, "tasks", element, DEMO_START)

        for user in standin.directory.users:
            if user is anna:
                continue
            add_item(
                standin,
                user.primary_email,
                "contacts",
                build_contact(
                    given_name="Lukas", surname="Weber", email="lukas.weber@litware.de", company="Litware AG"
                ),
                DEMO_START,
            )
            add_item(
                standin,
                user.primary_email,
                "tasks",
                build_task(subject=f"Pipeline review ({user.first_name})", due=monday + dt.timedelta(days=2)),
                DEMO_START,
            )
