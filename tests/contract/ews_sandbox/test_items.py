"""Items through plain exchangelib: contacts, appointments, tasks, messages, extended props, conflicts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from exchangelib import (
    UTC,
    Attendee,
    Body,
    CalendarItem,
    Contact,
    EWSDateTime,
    FileAttachment,
    HTMLBody,
    Mailbox,
    Message,
    Q,
    Task,
)
from exchangelib.errors import ErrorCalendarInvalidRecurrence, ErrorIrresolvableConflict, ErrorItemNotFound
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.items import AUTO_RESOLVE, NEVER_OVERWRITE, SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    WeeklyPattern,
)

from tests.contract.ews_sandbox.conftest import ANNA, JOERG, NANCY_SMTP, NANCY_UPN

ORG_ID = "4f1c33a9-0b5e-4f0c-9d4e-7b3d0c2d8e11"


def _contact(account, n: int = 1, **extra) -> Contact:
    return Contact(
        account=account,
        folder=account.contacts,
        given_name=f"Max{n}",
        surname="Mustermann",
        display_name=f"Max{n} Mustermann",
        company_name="Fabrikam GmbH",
        email_addresses=[EmailAddress(label="EmailAddress1", email=f"max{n}@fabrikam.de")],
        **extra,
    )


def test_version_is_guessed_in_one_round_trip(standin, account_for) -> None:
    account = account_for(ANNA, guess_version=True)
    standin.server.reset_counts()
    version = account.version
    assert (version.build.major_version, version.build.minor_version) == (15, 2)
    assert version.api_version == "Exchange2016"
    assert standin.server.request_count == 1
    assert account.inbox.name == "Inbox"
    assert standin.server.request_count == 3  # GetFolder root, then GetFolder inbox: no failed probes


def test_contact_create_find_get_update_delete_with_extended_properties(
    standin, anna, crm_properties
) -> None:
    contact = _contact(
        anna,
        phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number="+49 89 1")],
        physical_addresses=[
            PhysicalAddress(label="Business", street="Hauptstr. 1", city="München", zipcode="80331")
        ],
        crm_id="8d2b0a55-1111-4c53-a8e4-000000000001",
        crm_link_state=2,
        crm_org_id=ORG_ID,
        crm_tracked=True,
        crm_synced_at=EWSDateTime(2026, 11, 3, 9, 30, tzinfo=UTC),
        categories=["Kunde"],
    )
    contact.save()
    first_key = contact.changekey

    found = list(anna.contacts.filter(crm_id="8d2b0a55-1111-4c53-a8e4-000000000001"))
    assert [c.id for c in found] == [contact.id]
    got = anna.contacts.get(id=contact.id)
    assert got.crm_link_state == 2
    assert got.crm_org_id == ORG_ID
    assert got.crm_tracked is True
    assert got.crm_synced_at == EWSDateTime(2026, 11, 3, 9, 30, tzinfo=UTC)
    assert got.email_addresses[0].email == "max1@fabrikam.de"
    assert got.physical_addresses[0].city == "München"
    assert got.categories == ["Kunde"]

    got.email_addresses = [
        EmailAddress(label="EmailAddress1", email="max@fabrikam.de"),
        EmailAddress(label="EmailAddress2", email="m.mustermann@privat.de"),
    ]
    got.phone_numbers = [PhoneNumber(label="MobilePhone", phone_number="+49 170 2")]
    got.physical_addresses = [PhysicalAddress(label="Business", street="Hauptstr. 2", city="München")]
    got.crm_link_state = 3
    got.job_title = "Einkauf"
    got.save(
        update_fields=[
            "email_addresses",
            "phone_numbers",
            "physical_addresses",
            "crm_link_state",
            "job_title",
        ]
    )
    assert got.changekey != first_key

    again = anna.contacts.get(id=contact.id)
    assert sorted(e.email for e in again.email_addresses) == ["m.mustermann@privat.de", "max@fabrikam.de"]
    assert [p.label for p in again.phone_numbers] == ["MobilePhone"]
    assert again.physical_addresses[0].street == "Hauptstr. 2"
    assert again.physical_addresses[0].zipcode is None
    assert again.crm_link_state == 3
    assert again.job_title == "Einkauf"

    assert list(anna.contacts.filter(crm_link_state=3).values_list("id", flat=True)) == [contact.id]
    assert anna.contacts.filter(crm_link_state=2).count() == 0

    again.delete()
    with pytest.raises(ErrorItemNotFound):
        anna.contacts.get(id=contact.id)
    assert standin.store.list_items(ANNA, "contacts") == []


def test_restrictions_and_or_exists_and_categories(anna, crm_properties) -> None:
    _contact(anna, 1, crm_id="a", categories=["Tracked to Dynamics 365"]).save()
    _contact(anna, 2, crm_id="b").save()
    _contact(anna, 3, categories=["Privat"]).save()
    names = lambda qs: sorted(c.given_name for c in qs)  # noqa: E731
    assert names(anna.contacts.filter(crm_id__exists=True)) == ["Max1", "Max2"]
    assert names(anna.contacts.filter(crm_id__exists=False)) == ["Max3"]
    assert names(anna.contacts.filter(Q(crm_id="a") | Q(given_name="Max3"))) == ["Max1", "Max3"]
    assert names(anna.contacts.filter(Q(crm_id="b") & Q(company_name="Fabrikam GmbH"))) == ["Max2"]
    assert names(anna.contacts.filter(categories__contains=["Tracked to Dynamics 365"])) == ["Max1"]
    assert names(anna.contacts.filter(given_name__istartswith="max")) == ["Max1", "Max2", "Max3"]
    assert names(anna.contacts.exclude(categories__contains=["Privat"])) == ["Max1", "Max2"]


def test_find_pages_through_indexed_page_item_view(standin, anna) -> None:
    anna.bulk_create(anna.contacts, [_contact(anna, n) for n in range(25)])
    standin.server.reset_counts()
    qs = anna.contacts.all().only("given_name").order_by("given_name")
    qs.page_size = 10
    got = [c.given_name for c in qs]
    assert got == sorted(f"Max{n}" for n in range(25))
    assert standin.server.request_count == 3


@pytest.mark.parametrize(
    "pattern",
    [
        DailyPattern(interval=2),
        WeeklyPattern(interval=1, weekdays=["Monday", "Thursday"], first_day_of_week="Monday"),
        AbsoluteMonthlyPattern(interval=1, day_of_month=15),
        AbsoluteYearlyPattern(day_of_month=24, month="December"),
    ],
    ids=["daily", "weekly", "monthly", "yearly"],
)
@pytest.mark.parametrize("end", ["noend", "enddate", "numbered"])
def test_recurring_calendar_items_round_trip(anna, crm_properties, pattern, end) -> None:
    start = EWSDateTime(2026, 12, 1, 9, 0, tzinfo=UTC)
    first = start.date()
    boundary = {
        "noend": NoEndPattern(start=first),
        "enddate": EndDatePattern(start=first, end=first + dt.timedelta(days=400)),
        "numbered": NumberedPattern(start=first, number=7),
    }[end]
    item = CalendarItem(
        account=anna,
        folder=anna.calendar,
        subject="Jour fixe",
        start=start,
        end=start + dt.timedelta(minutes=30),
        location="Teams",
        recurrence=Recurrence(pattern=pattern, boundary=boundary),
        crm_id="appt-1",
    )
    item.save(send_meeting_invitations=SEND_TO_NONE)
    got = anna.calendar.get(id=item.id)
    assert got.recurrence.pattern == pattern
    assert got.recurrence.boundary == boundary
    assert got.type == "RecurringMaster"
    assert got.start == start
    assert got.crm_id == "appt-1"


def test_invalid_recurrence_is_rejected(anna, standin) -> None:
    start = EWSDateTime(2026, 12, 1, 9, 0, tzinfo=UTC)
    item = CalendarItem(
        account=anna,
        folder=anna.calendar,
        subject="broken",
        start=start,
        end=start + dt.timedelta(hours=1),
        recurrence=Recurrence(
            pattern=DailyPattern(interval=1),
            boundary=EndDatePattern(start=start.date(), end=start.date() - dt.timedelta(days=3)),
        ),
    )
    with pytest.raises(ErrorCalendarInvalidRecurrence):
        item.save(send_meeting_invitations=SEND_TO_NONE)


def test_meeting_invitations_honour_send_to_none(standin, anna) -> None:
    start = EWSDateTime(2026, 12, 2, 13, 0, tzinfo=UTC)
    attendees = [Attendee(mailbox=Mailbox(email_address=JOERG), response_type="Unknown")]
    quiet = CalendarItem(
        account=anna,
        folder=anna.calendar,
        subject="Quiet",
        start=start,
        end=start + dt.timedelta(hours=1),
        required_attendees=attendees,
    )
    quiet.save(send_meeting_invitations=SEND_TO_NONE)
    assert standin.store.list_items(JOERG, "inbox") == []
    loud = CalendarItem(
        account=anna,
        folder=anna.calendar,
        subject="Loud",
        start=start,
        end=start + dt.timedelta(hours=1),
        required_attendees=attendees,
    )
    loud.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    received = standin.store.list_items(JOERG, "inbox")
    assert [(i.tag, i.text("Subject")) for i in received] == [("MeetingRequest", "Loud")]
    got = anna.calendar.get(id=quiet.id)
    assert [a.mailbox.email_address for a in got.required_attendees] == [JOERG]
    assert got.organizer.email_address == ANNA


def test_task_round_trip(anna, crm_properties) -> None:
    task = Task(
        account=anna,
        folder=anna.tasks,
        subject="Angebot nachfassen",
        body="Bis Freitag",
        due_date=dt.date(2026, 12, 4),
        crm_id="task-1",
        crm_link_state=1,
    )
    task.save()
    got = anna.tasks.get(id=task.id)
    assert (got.subject, got.status, got.crm_id, got.crm_link_state) == (
        "Angebot nachfassen",
        "NotStarted",
        "task-1",
        1,
    )
    assert got.due_date == dt.date(2026, 12, 4)
    got.status = "Completed"
    got.percent_complete = Decimal(100)
    got.save(update_fields=["status", "percent_complete"])
    assert anna.tasks.get(id=task.id).is_complete is True


def test_send_and_save_delivers_to_sandbox_recipients(standin, anna, account_for, crm_properties) -> None:
    msg = Message(
        account=anna,
        folder=anna.sent,
        subject="Angebot",
        body=HTMLBody("<html><body><p>Hallo J&ouml;rg</p></body></html>"),
        to_recipients=[Mailbox(email_address=JOERG)],
        cc_recipients=[Mailbox(email_address="someone@external.example")],
        crm_id="email-1",
    )
    msg.send_and_save()
    sent = list(anna.sent.all())
    assert [m.subject for m in sent] == ["Angebot"]
    assert sent[0].sender.email_address == ANNA
    assert sent[0].is_draft is False
    assert sent[0].crm_id == "email-1"
    assert sent[0].message_id
    joerg = account_for(JOERG)
    inbox = list(joerg.inbox.all())
    assert [(m.subject, m.is_read, m.message_id) for m in inbox] == [("Angebot", False, sent[0].message_id)]
    assert inbox[0].text_body.startswith("Hallo Jörg")
    assert inbox[0].crm_id is None  # named properties stay with the sender's copy


def test_send_only_and_save_only(standin, anna) -> None:
    Message(account=anna, subject="nur senden", body="x", to_recipients=[NANCY_SMTP]).send(save_copy=False)
    assert standin.store.list_items(ANNA, "sentitems") == []
    assert [i.text("Subject") for i in standin.store.list_items(NANCY_SMTP, "inbox")] == ["nur senden"]
    draft = Message(account=anna, folder=anna.drafts, subject="Entwurf", body="y", to_recipients=[NANCY_UPN])
    draft.save()
    assert anna.drafts.get(id=draft.id).is_draft is True
    draft.send()
    assert [i.text("Subject") for i in standin.store.list_items(ANNA, "sentitems")] == ["Entwurf"]
    assert standin.store.list_items(ANNA, "drafts") == []


def test_message_from_mime_exposes_headers(anna) -> None:
    mime = (
        "From: Thomas Müller <thomas.mueller@fabrikam.de>\r\n"
        "To: Anna Schmidt <anna.schmidt@contoso.com>\r\n"
        "Subject: AW: Angebot\r\n"
        "Date: Tue, 03 Nov 2026 10:00:00 +0100\r\n"
        "Message-ID: <reply-1@fabrikam.de>\r\n"
        "In-Reply-To: <orig-1@contoso.com>\r\n"
        "References: <orig-1@contoso.com>\r\n"
        "X-Custom: yes\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Passt für uns.\r\n"
    ).encode()
    msg = Message(account=anna, folder=anna.inbox, mime_content=mime)
    msg.save()
    got = anna.inbox.get(id=msg.id)
    assert got.subject == "AW: Angebot"
    assert got.message_id == "<reply-1@fabrikam.de>"
    assert got.in_reply_to == "<orig-1@contoso.com>"
    assert got.references == "<orig-1@contoso.com>"
    assert got.sender.email_address == "thomas.mueller@fabrikam.de"
    assert {h.name: h.value for h in got.headers}["X-Custom"] == "yes"
    assert b"Passt f" in got.mime_content
    assert got.conversation_id is not None


def test_mime_content_is_generated_for_plain_items(anna) -> None:
    msg = Message(
        account=anna, folder=anna.drafts, subject="MIME bitte", body=Body("Text"), to_recipients=[JOERG]
    )
    msg.save()
    got = anna.drafts.get(id=msg.id)
    assert b"Subject: MIME bitte" in got.mime_content


def test_file_attachments_round_trip(anna) -> None:
    msg = Message(account=anna, folder=anna.drafts, subject="Mit Anhang", body="siehe Anhang")
    msg.attach(FileAttachment(name="angebot.pdf", content=b"%PDF-1.7 fake"))
    msg.save()
    assert msg.attachments[0].attachment_id is not None
    got = anna.drafts.get(id=msg.id)
    assert got.has_attachments is True
    assert got.attachments[0].name == "angebot.pdf"
    assert got.attachments[0].content == b"%PDF-1.7 fake"
    got.attach(FileAttachment(name="zweite.txt", content=b"2"))
    assert sorted(a.name for a in anna.drafts.get(id=msg.id).attachments) == ["angebot.pdf", "zweite.txt"]


def test_changekey_conflicts(anna) -> None:
    contact = _contact(anna)
    contact.save()
    mine = anna.contacts.get(id=contact.id)
    theirs = anna.contacts.get(id=contact.id)
    theirs.job_title = "CEO"
    theirs.save(update_fields=["job_title"])
    assert theirs.changekey != mine.changekey

    mine.job_title = "CFO"
    with pytest.raises(ErrorIrresolvableConflict):
        mine.save(update_fields=["job_title"], conflict_resolution=NEVER_OVERWRITE)
    with pytest.raises(ErrorIrresolvableConflict):
        mine.save(update_fields=["job_title"], conflict_resolution=AUTO_RESOLVE)
    mine.department = "Einkauf"  # a field nobody else touched: AutoResolve merges it
    mine.save(update_fields=["department"], conflict_resolution=AUTO_RESOLVE)
    final = anna.contacts.get(id=contact.id)
    assert (final.job_title, final.department) == ("CEO", "Einkauf")


def test_move_to_deleted_items_soft_and_hard_delete(standin, anna) -> None:
    contacts = [_contact(anna, n) for n in range(3)]
    for c in contacts:
        c.save()
    old_id = contacts[0].id
    contacts[0].move_to_trash()
    trash = list(anna.trash.all())
    assert [c.given_name for c in trash] == ["Max0"]
    assert trash[0].id != old_id  # a move gives the item a new id, as in Exchange
    contacts[1].soft_delete()
    contacts[2].delete()
    assert anna.contacts.all().count() == 0
    assert [i.text("GivenName") for i in standin.store.list_items(ANNA, "recoverableitemsdeletions")] == [
        "Max1"
    ]
    moved = trash[0].move(anna.contacts)
    assert moved is None and anna.contacts.all().count() == 1


def test_root_folder_extended_property(standin, anna, account_for, crm_properties) -> None:
    root = anna.root
    assert root.crm_org_id is None
    root.crm_org_id = ORG_ID
    root.save(update_fields=["crm_org_id"])
    fresh = account_for(ANNA)
    assert fresh.root.crm_org_id == ORG_ID


def test_other_mailboxes_are_off_limits(anna) -> None:
    from exchangelib import Account
    from exchangelib.errors import ErrorAccessDenied, ErrorNonExistentMailbox

    other = Account(JOERG, config=anna.protocol.config, autodiscover=False, access_type="delegate")
    with pytest.raises(ErrorAccessDenied):
        other.root  # noqa: B018
    nobody = Account(
        "nobody@contoso.com", config=anna.protocol.config, autodiscover=False, access_type="delegate"
    )
    with pytest.raises(ErrorNonExistentMailbox):
        nobody.root  # noqa: B018


def test_calendar_view_and_folder_listing(anna) -> None:
    base = EWSDateTime(2026, 12, 7, 8, 0, tzinfo=UTC)
    for n in range(3):
        start = base + dt.timedelta(days=7 * n)
        CalendarItem(
            account=anna,
            folder=anna.calendar,
            subject=f"W{n}",
            start=start,
            end=start + dt.timedelta(hours=1),
        ).save(send_meeting_invitations=SEND_TO_NONE)
    window = anna.calendar.view(start=base + dt.timedelta(days=6), end=base + dt.timedelta(days=20))
    assert [i.subject for i in window] == ["W1", "W2"]
    children = {f.name for f in anna.msg_folder_root.children}
    assert {"Inbox", "Calendar", "Contacts", "Tasks", "Sent Items", "Deleted Items", "Drafts"} <= children


def test_copy_item(standin, anna) -> None:
    contact = _contact(anna)
    contact.save()
    contact.copy(anna.trash)
    assert anna.contacts.all().count() == 1
    assert [c.given_name for c in anna.trash.all()] == ["Max1"]
