"""AllProperties answers carry what Exchange's own GetItem examples carry, with its defaults, in schema order.

Pages (MicrosoftDocs/office-developer-exchange-docs, docs/web-service-reference/):
- getitem-operation-calendar-item.md (AllProperties: Sensitivity, Importance, ReminderIsSet true,
  ReminderMinutesBeforeStart 15, IsAllDayEvent, LegacyFreeBusyStatus Busy, MyResponseType Organizer, Duration …)
- getitem-operation-contact.md (FileAs, FileAsMapping, CompleteName, Culture …)
- getitem-operation-task.md (ChangeCount, IsComplete, PercentComplete, Status, StatusDescription …)
- getitem-operation-email-message.md (IsReadReceiptRequested, IsDeliveryReceiptRequested, IsRead …)
The order of the children is the one these examples show (types.xsd's ``xs:sequence`` of each item type).
"""

from __future__ import annotations

import pytest

from tests.contract.ews_sandbox.wire import create, get_item, names, text

# The element order of the AllProperties examples on the GetItem pages (elements the stand-in models).
CALENDAR_EXAMPLE = [
    "ItemId", "ParentFolderId", "ItemClass", "Sensitivity", "Body", "DateTimeReceived", "Size", "Importance",
    "IsSubmitted", "IsDraft", "IsFromMe", "IsResend", "IsUnmodified", "DateTimeSent", "DateTimeCreated",
    "ReminderDueBy", "ReminderIsSet", "ReminderMinutesBeforeStart", "DisplayCc", "DisplayTo", "HasAttachments",
    "Culture", "Start", "End", "IsAllDayEvent", "LegacyFreeBusyStatus", "IsMeeting", "IsCancelled",
    "IsRecurring", "MeetingRequestWasSent", "CalendarItemType", "MyResponseType", "Organizer", "Duration",
    "TimeZone", "AppointmentSequenceNumber", "AppointmentState",
]  # fmt: skip
CONTACT_EXAMPLE = [
    "ItemId", "ParentFolderId", "ItemClass", "Sensitivity", "Body", "DateTimeReceived", "Size", "Importance",
    "IsSubmitted", "IsDraft", "IsFromMe", "IsResend", "IsUnmodified", "DateTimeSent", "DateTimeCreated",
    "HasAttachments", "Culture", "FileAs", "FileAsMapping", "DisplayName", "GivenName", "Initials",
    "CompleteName", "CompanyName", "EmailAddresses", "PhysicalAddresses", "PhoneNumbers", "JobTitle", "Surname",
]  # fmt: skip
TASK_EXAMPLE = [
    "ItemId", "ParentFolderId", "ItemClass", "Subject", "Sensitivity", "Body", "DateTimeReceived", "Size",
    "Importance", "IsSubmitted", "IsDraft", "IsFromMe", "IsResend", "IsUnmodified", "DateTimeSent",
    "DateTimeCreated", "HasAttachments", "Culture", "ChangeCount", "IsComplete", "IsRecurring",
    "PercentComplete", "Status", "StatusDescription",
]  # fmt: skip
MESSAGE_EXAMPLE = [
    "ItemId",
    "Subject",
    "Sensitivity",
    "Body",
    "Size",
    "DateTimeSent",
    "DateTimeCreated",
    "HasAttachments",
    "ToRecipients",
    "IsReadReceiptRequested",
    "IsDeliveryReceiptRequested",
    "IsRead",
]  # fmt: skip  (the example's message was received; a saved draft has no From until it is sent)

CALENDAR = (
    "calendar",
    "<t:CalendarItem><t:Subject>Termin</t:Subject><t:Start>2026-12-09T10:00:00Z</t:Start>"
    "<t:End>2026-12-09T10:30:00Z</t:End></t:CalendarItem>",
)
CONTACT = (
    "contacts",
    "<t:Contact><t:DisplayName>Tanja Plate</t:DisplayName><t:GivenName>Tanja</t:GivenName>"
    "<t:Initials>T.P.</t:Initials><t:CompanyName>Northwind Traders</t:CompanyName>"
    '<t:EmailAddresses><t:Entry Key="EmailAddress1">tplate@example.com</t:Entry></t:EmailAddresses>'
    '<t:PhysicalAddresses><t:Entry Key="Business"><t:City>Whittier</t:City></t:Entry></t:PhysicalAddresses>'
    '<t:PhoneNumbers><t:Entry Key="BusinessPhone">5625550199</t:Entry></t:PhoneNumbers>'
    "<t:JobTitle>Project Manager</t:JobTitle><t:Surname>Plate</t:Surname></t:Contact>",
)
TASK = ("tasks", "<t:Task><t:Subject>Buy new shoes</t:Subject></t:Task>")
MESSAGE = (
    "drafts",
    '<t:Message><t:Subject>Hallo</t:Subject><t:Body BodyType="HTML">&lt;p&gt;x&lt;/p&gt;</t:Body>'
    "<t:ToRecipients><t:Mailbox><t:EmailAddress>user1@example.com</t:EmailAddress></t:Mailbox>"
    "</t:ToRecipients></t:Message>",
)


def _in_example_order(item, example: list[str]) -> list[str]:
    seen = [n for n in names(item) if n in example]
    assert seen == [n for n in example if n in seen]
    return seen


@pytest.mark.parametrize(
    ("source", "example"),
    [
        (CALENDAR, CALENDAR_EXAMPLE),
        (CONTACT, CONTACT_EXAMPLE),
        (TASK, TASK_EXAMPLE),
        (MESSAGE, MESSAGE_EXAMPLE),
    ],
    ids=["calendar", "contact", "task", "message"],
)
def test_all_properties_has_the_examples_elements_in_their_order(
    standin, sandbox_tls, source, example
) -> None:
    item = get_item(standin, sandbox_tls, create(standin, sandbox_tls, *source))
    missing = [n for n in example if n not in names(item)]
    assert missing == []
    _in_example_order(item, example)


def test_calendar_defaults(standin, sandbox_tls) -> None:
    item = get_item(standin, sandbox_tls, create(standin, sandbox_tls, *CALENDAR))
    expected = {
        "Sensitivity": "Normal",
        "Importance": "Normal",
        "IsSubmitted": "false",
        "IsDraft": "false",
        "ReminderIsSet": "true",
        "ReminderMinutesBeforeStart": "15",
        "ReminderDueBy": "2026-12-09T10:00:00Z",
        "IsAllDayEvent": "false",
        "LegacyFreeBusyStatus": "Busy",
        "IsMeeting": "false",
        "IsCancelled": "false",
        "IsRecurring": "false",
        "MeetingRequestWasSent": "false",
        "CalendarItemType": "Single",
        "MyResponseType": "Organizer",
        "Duration": "PT30M",
        "TimeZone": "UTC",
        "AppointmentSequenceNumber": "0",
        "AppointmentState": "0",
        "Culture": "en-US",
    }
    assert {n: text(item, n) for n in expected} == expected


def test_contact_defaults(standin, sandbox_tls) -> None:
    item = get_item(standin, sandbox_tls, create(standin, sandbox_tls, *CONTACT))
    assert text(item, "FileAsMapping") == "None"
    assert text(item, "FileAs") == "Plate, Tanja"
    complete = item.find("{*}CompleteName")
    assert [(child.tag.split("}")[1], child.text) for child in complete] == [
        ("FirstName", "Tanja"),
        ("LastName", "Plate"),
        ("Initials", "T.P."),
        ("FullName", "Tanja Plate"),
    ]


def test_task_defaults(standin, sandbox_tls) -> None:
    item = get_item(standin, sandbox_tls, create(standin, sandbox_tls, *TASK))
    assert {n: text(item, n) for n in ("ChangeCount", "IsComplete", "IsRecurring", "PercentComplete")} == {
        "ChangeCount": "1",
        "IsComplete": "false",
        "IsRecurring": "false",
        "PercentComplete": "0",
    }
    assert (text(item, "Status"), text(item, "StatusDescription")) == ("NotStarted", "Not Started")
    assert item.find("{*}Body").get("BodyType") == "Text"


def test_message_defaults(standin, sandbox_tls) -> None:
    item = get_item(standin, sandbox_tls, create(standin, sandbox_tls, *MESSAGE))
    assert text(item, "IsReadReceiptRequested") == "false"
    assert text(item, "IsDeliveryReceiptRequested") == "false"
    assert text(item, "Sensitivity") == "Normal"
    assert text(item, "ReminderIsSet") == "false"


def test_default_shape_is_in_schema_order_too(standin, sandbox_tls) -> None:
    item = get_item(standin, sandbox_tls, create(standin, sandbox_tls, *CALENDAR), shape="Default")
    _in_example_order(item, CALENDAR_EXAMPLE)
