"""Graph's dateTimeTimeZone in the product: Windows and IANA zone names both ways (CLDR's windowsZones)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from wizard.mailbox.graph.recurrence import recurrence_zone
from wizard.mailbox.graph.values import from_dtz, to_dtz, windows_name, zone_named


@pytest.mark.parametrize(
    ("zone", "local"),
    [
        ("W. Europe Standard Time", "09:00"),
        ("Europe/Berlin", "09:00"),
        ("Pacific Standard Time", "00:00"),
        ("Eastern Standard Time", "03:00"),
        ("UTC", "08:00"),
    ],
)
def test_windows_and_iana_names_read_as_the_same_instant(zone: str, local: str) -> None:
    value = {"dateTime": f"2027-01-15T{local}:00.0000000", "timeZone": zone}
    assert from_dtz(value) == dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)


def test_an_unknown_zone_reads_as_utc() -> None:
    value = {"dateTime": "2027-01-15T08:00:00.0000000", "timeZone": "Mars Standard Time"}
    assert zone_named("Mars Standard Time") is None
    assert from_dtz(value) == dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)


def test_writes_go_out_under_the_windows_name() -> None:
    moment = dt.datetime(2027, 7, 1, 7, 0, tzinfo=dt.UTC)
    assert windows_name("Europe/Berlin") == "W. Europe Standard Time"
    assert to_dtz(moment, "Europe/Berlin") == {
        "dateTime": "2027-07-01T09:00:00.0000000",
        "timeZone": "W. Europe Standard Time",
    }
    assert to_dtz(moment, "W. Europe Standard Time")["dateTime"] == "2027-07-01T09:00:00.0000000"
    assert to_dtz(moment) == {"dateTime": "2027-07-01T07:00:00.0000000", "timeZone": "UTC"}
    assert to_dtz(moment, "Mars Standard Time")["timeZone"] == "UTC"


def test_a_series_zone_in_windows_names_is_not_the_mailbox_zone() -> None:
    resource = {"recurrence": {"range": {"recurrenceTimeZone": "W. Europe Standard Time"}}}
    assert recurrence_zone(resource, dt.UTC) == ZoneInfo("Europe/Berlin")
    assert recurrence_zone({"recurrence": {"range": {}}}, dt.UTC) is dt.UTC
    assert recurrence_zone({"recurrence": {"range": {"recurrenceTimeZone": "nowhere"}}}, dt.UTC) is dt.UTC
