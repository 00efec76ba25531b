"""Recurring series: recurringappointmentmaster columns <-> canonical dict <-> mailbox Recurrence."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.mailbox.base import Recurrence, RecurrencePattern
from wizard.sync import recurrence as rec

ZONES = ("Europe/Berlin", "America/New_York", "Pacific/Auckland", "Pacific/Honolulu", "UTC")


def test_days_of_week_mask_uses_outlook_bits() -> None:
    assert rec.mask_from_weekdays([6]) == 1  # Sunday
    assert rec.mask_from_weekdays([0]) == 2  # Monday
    assert rec.mask_from_weekdays([5]) == 64  # Saturday
    assert rec.mask_from_weekdays(range(5)) == 62
    assert rec.weekdays_from_mask(62) == [0, 1, 2, 3, 4]
    assert rec.weekdays_from_mask(65) == [5, 6]
    assert rec.weekdays_from_mask(None) == []
    with pytest.raises(ValueError):
        rec.weekdays_from_mask(128)
    with pytest.raises(ValueError):
        rec.mask_from_weekdays([7])


def _master(**columns: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "interval": 1,
        "patternstartdate": "2026-11-02",
        "patternendtype": 1,
        "firstdayofweek": 1,
    }
    base.update(columns)
    return base


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            {"recurrencepatterntype": 0, "interval": 2, "patternendtype": 2, "occurrences": 10},
            {"pattern": "daily", "interval": 2, "occurrences": 10},
        ),
        (
            {
                "recurrencepatterntype": 1,
                "daysofweekmask": 2 | 8,
                "patternendtype": 3,
                "patternenddate": "2026-12-31",
            },
            {"pattern": "weekly", "weekdays": [0, 2], "end_date": "2026-12-31"},
        ),
        (
            {"recurrencepatterntype": 2, "dayofmonth": 15, "isnthmonthly": False},
            {"pattern": "absolute_monthly", "day_of_month": 15},
        ),
        (
            {"recurrencepatterntype": 2, "instance": 2, "daysofweekmask": 4, "isnthmonthly": True},
            {"pattern": "relative_monthly", "week_index": 1, "weekdays": [1]},
        ),
        (
            {"recurrencepatterntype": 3, "dayofmonth": 3, "monthofyear": 3, "isnthyearly": False},
            {"pattern": "absolute_yearly", "day_of_month": 3, "month": 3},
        ),
        (
            {
                "recurrencepatterntype": 3,
                "instance": 5,
                "daysofweekmask": 32,
                "monthofyear": 11,
                "isnthyearly": True,
            },
            {"pattern": "relative_yearly", "week_index": 4, "weekdays": [4], "month": 11},
        ),
        (
            # "every weekday" (Dynamics stores it as a weekday pattern)
            {"recurrencepatterntype": 0, "isweekdaypattern": True},
            {"pattern": "weekly", "weekdays": [0, 1, 2, 3, 4]},
        ),
    ],
)
def test_from_crm_patterns(columns: dict[str, Any], expected: dict[str, Any]) -> None:
    canon = rec.from_crm(_master(**columns), "Europe/Berlin")
    assert canon is not None
    for key, value in expected.items():
        assert canon[key] == value, key
    assert canon["start_date"] == "2026-11-02"
    if "occurrences" not in expected:
        assert canon["occurrences"] is None
    if "end_date" not in expected:
        assert canon["end_date"] is None


def test_from_crm_without_pattern_is_none() -> None:
    assert rec.from_crm({"subject": "x"}, "UTC") is None


@pytest.mark.parametrize("tz", ZONES)
def test_range_dates_never_shift(tz: str) -> None:
    """patternstartdate is DateOnly/UserLocal: as a plain date or as local midnight in UTC, same date."""
    canon = rec.normalize({"pattern": "daily", "start_date": "2026-03-29", "end_date": "2026-10-25"})
    assert canon is not None
    columns = rec.to_crm(canon, tz)
    assert columns["patternstartdate"].endswith("Z")
    back = rec.from_crm(columns, tz)
    assert back == canon
    plain = rec.from_crm(_master(recurrencepatterntype=0, patternstartdate="2026-03-29"), tz)
    assert plain is not None and plain["start_date"] == "2026-03-29"


def test_to_crm_end_types() -> None:
    base = {"pattern": "weekly", "weekdays": [0], "start_date": "2026-01-05"}
    assert rec.to_crm(base, "UTC")["patternendtype"] == 1
    counted = rec.to_crm({**base, "occurrences": 5}, "UTC")
    assert (counted["patternendtype"], counted["occurrences"], counted["patternenddate"]) == (2, 5, None)
    dated = rec.to_crm({**base, "end_date": "2026-02-02"}, "UTC")
    assert dated["patternendtype"] == 3
    assert dated["patternenddate"] == "2026-02-02T00:00:00Z"
    assert "firstdayofweek" not in dated  # create-only column
    assert (
        rec.to_crm(base, "UTC", creating=True)["firstdayofweek"] == 1
    )  # Monday, Dataverse counts from Sunday


@pytest.mark.parametrize(
    "bad",
    [
        {"pattern": "weekly", "weekdays": [], "start_date": "2026-01-01"},
        {"pattern": "daily", "start_date": "2026-01-05", "end_date": "2026-01-01"},
        {"pattern": "daily", "start_date": "2026-01-05", "end_date": "2026-02-01", "occurrences": 3},
        {"pattern": "absolute_yearly", "day_of_month": 3, "month": 13, "start_date": "2026-01-01"},
        {"pattern": "relative_monthly", "weekdays": [1], "week_index": 5, "start_date": "2026-01-01"},
        {"pattern": "absolute_monthly", "day_of_month": 0, "start_date": "2026-01-01"},
        {"pattern": "hourly", "start_date": "2026-01-01"},
        {"pattern": "daily", "interval": 0, "start_date": "2026-01-01"},
        {"pattern": "daily"},
    ],
)
def test_normalize_refuses_invalid_patterns(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        rec.normalize(bad)


def test_normalize_drops_fields_the_pattern_does_not_use() -> None:
    canon = rec.normalize(
        {"pattern": "daily", "start_date": "2026-01-01", "weekdays": [1], "day_of_month": 4, "month": 2}
    )
    assert canon is not None
    assert (canon["weekdays"], canon["day_of_month"], canon["month"], canon["week_index"]) == (
        [],
        None,
        None,
        None,
    )
    weekly = rec.normalize(
        {"pattern": "weekly", "weekdays": [1], "start_date": "2026-01-01", "first_day_of_week": 6}
    )
    assert weekly is not None and weekly["first_day_of_week"] == 0  # irrelevant for every-week series
    every2 = rec.normalize(
        {
            "pattern": "weekly",
            "interval": 2,
            "weekdays": [1],
            "start_date": "2026-01-01",
            "first_day_of_week": 6,
        }
    )
    assert every2 is not None and every2["first_day_of_week"] == 6


def test_exceptions_from_crm_and_mailbox_agree() -> None:
    master = _master(
        recurrencepatterntype=1,
        daysofweekmask=2,
        patternendtype=2,
        occurrences=10,
        deletedexceptionslist="2026-11-16T08:00:00Z,2026-11-30",
    )
    instances = [
        {  # moved occurrence
            "instancetypecode": 3,
            "statecode": 3,
            "originalstartdate": "2026-11-09T08:00:00Z",
            "scheduledstart": "2026-11-10T09:00:00Z",
            "scheduledend": "2026-11-10T10:00:00Z",
            "subject": "Jour fixe (moved)",
            "location": None,
        },
        {"instancetypecode": 2, "originalstartdate": "2026-11-02T08:00:00Z"},  # a plain occurrence
        {"instancetypecode": 3, "statecode": 2, "originalstartdate": "2026-11-23T08:00:00Z"},  # canceled
    ]
    crm = rec.from_crm(master, "Europe/Berlin", instances=instances)
    assert crm is not None
    assert crm["deleted"] == ["2026-11-16", "2026-11-23", "2026-11-30"]
    assert crm["modified"] == [
        {
            "original": "2026-11-09",
            "start": "2026-11-10T09:00:00Z",
            "end": "2026-11-10T10:00:00Z",
            "subject": "Jour fixe (moved)",
            "location": None,
        }
    ]
    mailbox = Recurrence(
        RecurrencePattern.WEEKLY, date(2026, 11, 2), weekdays=(0,), occurrences=10, first_day_of_week=0
    )
    from_mailbox = rec.from_mailbox(
        mailbox,
        deleted=[date(2026, 11, 30), date(2026, 11, 16), date(2026, 11, 23)],
        modified=[
            {
                "original": date(2026, 11, 9),
                "start": "2026-11-10T10:00:00+01:00",
                "end": "2026-11-10T11:00:00+01:00",
                "subject": "Jour fixe (moved)",
            }
        ],
    )
    assert from_mailbox == crm


# --------------------------------------------------------------------------------------------------
# Property tests


@st.composite
def recurrences(draw: st.DrawFn) -> dict[str, Any]:
    pattern = draw(st.sampled_from(rec.PATTERNS))
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
    out: dict[str, Any] = {
        "pattern": pattern,
        "interval": draw(st.integers(1, 99)),
        "start_date": start.isoformat(),
        "first_day_of_week": draw(st.integers(0, 6)),
    }
    if pattern in ("weekly", "relative_monthly", "relative_yearly"):
        out["weekdays"] = sorted(draw(st.sets(st.integers(0, 6), min_size=1)))
    if pattern in ("absolute_monthly", "absolute_yearly"):
        out["day_of_month"] = draw(st.integers(1, 31))
    if pattern in ("relative_monthly", "relative_yearly"):
        out["week_index"] = draw(st.integers(0, 4))
    if pattern in ("absolute_yearly", "relative_yearly"):
        out["month"] = draw(st.integers(1, 12))
    ending = draw(st.sampled_from(("never", "count", "date")))
    if ending == "count":
        out["occurrences"] = draw(st.integers(1, 999))
    elif ending == "date":
        out["end_date"] = (start + timedelta(days=draw(st.integers(0, 3000)))).isoformat()
    canon = rec.normalize(out)
    assert canon is not None
    return canon


@settings(max_examples=150, deadline=None)
@given(recurrences(), st.sampled_from(ZONES))
def test_crm_round_trip_is_identity(canon: dict[str, Any], tz: str) -> None:
    row = rec.to_crm(canon, tz, creating=True)
    assert rec.from_crm(row, tz) == canon


@settings(max_examples=150, deadline=None)
@given(recurrences())
def test_mailbox_round_trip_is_identity(canon: dict[str, Any]) -> None:
    assert rec.from_mailbox(rec.to_mailbox(canon)) == canon


@settings(max_examples=150, deadline=None)
@given(recurrences(), st.sampled_from(ZONES))
def test_crm_to_canonical_to_mailbox_to_canonical(canon: dict[str, Any], tz: str) -> None:
    """CRM row -> canonical -> mailbox Recurrence -> canonical is the identity for valid patterns."""
    row = rec.to_crm(canon, tz, creating=True)
    from_crm = rec.from_crm(row, tz)
    assert from_crm is not None
    mailbox = rec.to_mailbox(from_crm)
    assert rec.from_mailbox(mailbox) == from_crm
    # and back into the same columns
    assert rec.to_crm(rec.from_mailbox(mailbox) or {}, tz, creating=True) == row
