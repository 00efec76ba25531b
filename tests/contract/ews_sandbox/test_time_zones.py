"""Windows time zone names by CLDR's windowsZones, both ways; an unknown zone is refused, never read as UTC.

Pages (MicrosoftDocs/office-developer-exchange-docs):
- docs/exchange-web-services/time-zones-and-ews-in-exchange.md (TimeZoneContext, StartTimeZone/EndTimeZone,
  MeetingTimeZone; the creation time zone of an appointment is StartTimeZone's, else TimeZoneContext's, else UTC)
- docs/web-service-reference/timezonecontext.md, starttimezone.md, meetingtimezone.md
- docs/web-service-reference/responsecode.md: ``ErrorCalendarInvalidTimeZone`` ("an invalid time zone is
  encountered") and ``ErrorTimeZone`` ("there is a time zone error").
The stand-in is an oracle for the product's EWS client (exchangelib), so it must not borrow that client's
zone table: it reads CLDR's windowsZones as tzlocal ships it.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from tzlocal.windows_tz import tz_win, win_tz

from tests.contract.ews_sandbox.wire import NS, SOAP, TNS, call, create, get_item, text
from wizard.sandbox.ews import instants

STANDIN = Path(__file__).resolve().parents[3] / "wizard" / "sandbox" / "ews"


def _series(zone: str) -> str:
    """A weekly 09:00 meeting in ``zone`` from before to after the end of European summer time."""
    return (
        "<t:CalendarItem><t:Subject>Jour fixe</t:Subject>"
        "<t:Start>2026-10-19T09:00:00</t:Start><t:End>2026-10-19T09:30:00</t:End>"
        "<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek>"
        "</t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-10-19</t:StartDate>"
        "<t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>"
        f'<t:StartTimeZone Id="{zone}"/><t:EndTimeZone Id="{zone}"/></t:CalendarItem>'
    )


def test_the_stand_in_does_not_import_the_products_ews_client() -> None:
    for path in STANDIN.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not any(m.split(".")[0] == "exchangelib" for m in modules), path


def test_windows_names_map_both_ways_through_cldr() -> None:
    assert (
        getattr(instants.windows_zone("W. Europe Standard Time"), "key", None)
        == win_tz["W. Europe Standard Time"]
    )
    assert instants.windows_zone("Pacific Standard Time").utcoffset(dt.datetime(2026, 7, 1)) == dt.timedelta(
        hours=-7
    )
    assert (
        instants.windows_name(instants.windows_zone("W. Europe Standard Time")) == "W. Europe Standard Time"
    )
    assert instants.windows_name(dt.UTC) == "UTC"
    assert tz_win["Europe/Berlin"] == "W. Europe Standard Time"
    with pytest.raises(instants.UnknownZone):
        instants.windows_zone("Europe/Berlin")  # an IANA name is not a Windows id
    with pytest.raises(instants.UnknownZone):
        instants.windows_zone("Mars Standard Time")


def test_series_in_a_windows_zone_keeps_its_wall_clock_across_dst(standin, sandbox_tls) -> None:
    master = create(standin, sandbox_tls, "calendar", _series("W. Europe Standard Time"))
    body = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>'
        '<m:CalendarView StartDate="2026-10-01T00:00:00Z" EndDate="2026-11-30T00:00:00Z"/>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    starts = call(standin, sandbox_tls, body).xpath("//t:CalendarItem/t:Start/text()", namespaces=NS)
    # 09:00 in Berlin: 07:00Z in summer time, 08:00Z after 25 October
    assert starts == ["2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z", "2026-11-02T08:00:00Z"]
    item = get_item(standin, sandbox_tls, master)
    assert item.find(f"{{{TNS}}}StartTimeZone").get("Id") == "W. Europe Standard Time"


def test_the_creation_zone_is_the_time_zone_context_or_utc(standin, sandbox_tls) -> None:
    context = '<t:TimeZoneContext><t:TimeZoneDefinition Id="Tokyo Standard Time"/></t:TimeZoneContext>'
    appointment = (
        "<t:CalendarItem><t:Subject>x</t:Subject><t:Start>2026-12-09T10:00:00</t:Start>"
        "<t:End>2026-12-09T11:00:00</t:End></t:CalendarItem>"
    )
    tokyo = get_item(standin, sandbox_tls, create(standin, sandbox_tls, "calendar", appointment, context))
    assert tokyo.find(f"{{{TNS}}}StartTimeZone").get("Id") == "Tokyo Standard Time"
    assert text(tokyo, "Start") == "2026-12-09T01:00:00Z"
    utc = get_item(standin, sandbox_tls, create(standin, sandbox_tls, "calendar", appointment))
    assert utc.find(f"{{{TNS}}}StartTimeZone").get("Id") == "UTC"
    assert text(utc, "Start") == "2026-12-09T10:00:00Z"


@pytest.mark.parametrize("zone", ["Mars Standard Time", "Europe/Berlin"])
def test_unknown_start_time_zone_is_refused(standin, sandbox_tls, zone) -> None:
    body = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items>'
        + _series(zone)
        + "</m:Items></m:CreateItem>"
    )
    answer = call(standin, sandbox_tls, body)
    assert answer.xpath("//m:ResponseCode/text()", namespaces=NS) == ["ErrorCalendarInvalidTimeZone"]
    assert answer.xpath("//t:ItemId", namespaces=NS) == []


def test_unknown_time_zone_context_is_a_fault(standin, sandbox_tls) -> None:
    context = '<t:TimeZoneContext><t:TimeZoneDefinition Id="Mars Standard Time"/></t:TimeZoneContext>'
    body = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>'
    )
    answer = call(standin, sandbox_tls, body, header=context)
    fault = answer.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode").endswith("ErrorTimeZone")
