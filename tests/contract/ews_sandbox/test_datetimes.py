"""Date-times are rendered by the server, never echoed: UTC with ``Z``, to the second unless asked otherwise.

Pages (MicrosoftDocs/office-developer-exchange-docs):
- docs/web-service-reference/getitem-operation-calendar-item.md: the AllProperties answer gives every
  dateTime in UTC with ``Z`` and whole seconds (``<t:Start>2006-06-16T00:30:00Z</t:Start>``).
- docs/web-service-reference/datetimeprecision.md: the ``DateTimePrecision`` SOAP header (``Seconds`` /
  ``Milliseconds``) sets the precision of returned date/time values.
- docs/exchange-web-services/time-zones-and-ews-in-exchange.md, table 2: a value with ``Z`` or an offset is
  read as that zone; one without is read in StartTimeZone (Start, ReminderDueBy) / EndTimeZone (End) if given,
  else in TimeZoneContext, else as UTC; "Exchange will always include a time zone … in the value".
- docs/web-service-reference/duedate.md: a task's DueDate is a dateTime standing for a date.
"""

from __future__ import annotations

import re

import pytest

from tests.contract.ews_sandbox.wire import NS, TNS, call, create, get_item, text

SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
INSTANTS = (
    "DateTimeCreated",
    "DateTimeReceived",
    "DateTimeSent",
    "LastModifiedTime",
    "ReminderDueBy",
    "Start",
    "End",
)
MILLIS_HEADER = "<t:DateTimePrecision>Milliseconds</t:DateTimePrecision>"
BERLIN_CONTEXT = '<t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/></t:TimeZoneContext>'


def _appointment(start: str, end: str, extra: str = "") -> str:
    return (
        f"<t:CalendarItem><t:Subject>Zeit</t:Subject><t:Start>{start}</t:Start><t:End>{end}</t:End>"
        f"{extra}</t:CalendarItem>"
    )


def _instants(item) -> dict[str, str]:
    return {n: value for n in INSTANTS if (value := text(item, n)) is not None}


def test_client_text_is_not_echoed_but_rendered_in_utc_to_the_second(standin, sandbox_tls) -> None:
    item_id = create(
        standin,
        sandbox_tls,
        "calendar",
        _appointment("2026-12-09T19:43:44.808+00:00", "2026-12-09T21:43:44.808+01:00"),
    )
    item = get_item(standin, sandbox_tls, item_id)
    assert text(item, "Start") == "2026-12-09T19:43:44Z"
    assert text(item, "End") == "2026-12-09T20:43:44Z"
    rendered = _instants(item)
    assert set(rendered) == set(INSTANTS)
    assert all(SECONDS.match(v) for v in rendered.values()), rendered


def test_milliseconds_when_the_request_asks_for_them(standin, sandbox_tls) -> None:
    item_id = create(
        standin,
        sandbox_tls,
        "calendar",
        _appointment("2026-12-09T19:43:44.808+00:00", "2026-12-09T20:00:00Z"),
    )
    item = get_item(standin, sandbox_tls, item_id, header=MILLIS_HEADER)
    assert text(item, "Start") == "2026-12-09T19:43:44.808Z"
    assert text(item, "End") == "2026-12-09T20:00:00.000Z"
    rendered = _instants(item)
    assert all(MILLISECONDS.match(v) for v in rendered.values()), rendered
    again = get_item(standin, sandbox_tls, item_id)  # Seconds is the default again
    assert text(again, "Start") == "2026-12-09T19:43:44Z"


@pytest.mark.parametrize(
    ("header", "extra", "start", "end"),
    [
        ("", "", "2026-12-09T10:00:00Z", "2026-12-09T11:00:00Z"),  # no zone anywhere: UTC
        (BERLIN_CONTEXT, "", "2026-12-09T09:00:00Z", "2026-12-09T10:00:00Z"),  # TimeZoneContext
        (  # StartTimeZone/EndTimeZone win over TimeZoneContext
            BERLIN_CONTEXT,
            '<t:StartTimeZone Id="Pacific Standard Time"/><t:EndTimeZone Id="Tokyo Standard Time"/>',
            "2026-12-09T18:00:00Z",
            "2026-12-09T02:00:00Z",
        ),
    ],
)
def test_values_without_offset_are_read_in_the_request_zones(
    standin, sandbox_tls, header, extra, start, end
) -> None:
    item_id = create(
        standin,
        sandbox_tls,
        "calendar",
        _appointment("2026-12-09T10:00:00", "2026-12-09T11:00:00", extra),
        header=header,
    )
    item = get_item(standin, sandbox_tls, item_id)
    assert (text(item, "Start"), text(item, "End")) == (start, end)


def test_calendar_view_bounds_without_offset_are_in_the_time_zone_context(standin, sandbox_tls) -> None:
    create(standin, sandbox_tls, "calendar", _appointment("2026-12-08T23:30:00Z", "2026-12-08T23:45:00Z"))
    body = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
        '<m:CalendarView StartDate="2026-12-09T00:00:00" EndDate="2026-12-10T00:00:00"/>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    found = call(standin, sandbox_tls, body, header=BERLIN_CONTEXT).xpath("//t:CalendarItem", namespaces=NS)
    assert len(found) == 1  # 00:30 on 9 December in Berlin
    assert call(standin, sandbox_tls, body).xpath("//t:CalendarItem", namespaces=NS) == []  # UTC: the 8th


def test_task_dates_are_dates_answered_as_midnight_in_the_request_zone(standin, sandbox_tls) -> None:
    item_id = create(
        standin,
        sandbox_tls,
        "tasks",
        "<t:Task><t:Subject>Angebot</t:Subject><t:DueDate>2026-12-10T00:00:00Z</t:DueDate>"
        "<t:StartDate>2026-12-07T15:30:00+01:00</t:StartDate></t:Task>",
    )
    utc = get_item(standin, sandbox_tls, item_id)
    assert (text(utc, "StartDate"), text(utc, "DueDate")) == ("2026-12-07T00:00:00Z", "2026-12-10T00:00:00Z")
    berlin = get_item(standin, sandbox_tls, item_id, header=BERLIN_CONTEXT)
    assert text(berlin, "DueDate") == "2026-12-10T00:00:00+01:00"
    assert SECONDS.match(text(berlin, "DateTimeCreated") or "")


def test_system_time_extended_properties_are_instants_too(standin, sandbox_tls) -> None:
    prop = (
        '<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" '
        'PropertyName="crmsyncedat" PropertyType="SystemTime"/>'
        "<t:Value>2026-12-09T19:43:44.808+00:00</t:Value></t:ExtendedProperty>"
    )
    item_id = create(
        standin, sandbox_tls, "contacts", f"<t:Contact>{prop}<t:GivenName>Ida</t:GivenName></t:Contact>"
    )
    body = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="crmsyncedat" '
        'PropertyType="SystemTime"/></t:AdditionalProperties></m:ItemShape>'
        f'<m:ItemIds><t:ItemId Id="{item_id}"/></m:ItemIds></m:GetItem>'
    )
    answer = call(standin, sandbox_tls, body)
    values = answer.findall(f".//{{{TNS}}}ExtendedProperty/{{{TNS}}}Value")
    assert [v.text for v in values] == ["2026-12-09T19:43:44Z"]


def test_bad_date_time_text_is_refused(standin, sandbox_tls) -> None:
    body = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items>'
        + _appointment("gestern", "2026-12-09T11:00:00Z")
        + "</m:Items></m:CreateItem>"
    )
    answer = call(standin, sandbox_tls, body)
    assert answer.xpath("//m:ResponseCode/text()", namespaces=NS) == ["ErrorSchemaValidation"]
