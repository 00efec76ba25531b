"""The stand-ins' own recurrence expansion (wizard.sandbox.recurrence) against dates checked by hand on a calendar.

Each stand-in reads its wire form (EWS ``Recurrence`` XML, Graph ``patternedRecurrence``, Dataverse pattern
columns) into the same :class:`Pattern`; those readers are tested here too, so a pattern means the same to all
three stand-ins whatever the product makes of it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from wizard.sandbox.dataverse import instances as dv
from wizard.sandbox.ews import occurrences as ews
from wizard.sandbox.ews._soap import el, sub, t
from wizard.sandbox.graph import instances as graph
from wizard.sandbox.recurrence import MAX_OCCURRENCES, Pattern, dates

D = date


# -- the expansion ----------------------------------------------------------------------------------------
def test_second_tuesday_of_every_month() -> None:
    pattern = Pattern("relativeMonthly", D(2026, 1, 1), days=(1,), index=1, count=4)
    assert dates(pattern) == [D(2026, 1, 13), D(2026, 2, 10), D(2026, 3, 10), D(2026, 4, 14)]


def test_every_two_weeks_on_monday_and_wednesday() -> None:
    # starts on a Wednesday: that week's Monday is before the start; weeks begin on Sunday (the default)
    pattern = Pattern("weekly", D(2026, 1, 7), interval=2, days=(0, 2), count=5)
    assert dates(pattern) == [D(2026, 1, 7), D(2026, 1, 19), D(2026, 1, 21), D(2026, 2, 2), D(2026, 2, 4)]


def test_the_first_day_of_the_week_decides_which_sunday_belongs_to_a_fortnight() -> None:
    sunday_first = Pattern("weekly", D(2026, 1, 5), interval=2, days=(0, 6), count=4)
    monday_first = Pattern("weekly", D(2026, 1, 5), interval=2, days=(0, 6), first_day_of_week=0, count=4)
    assert dates(sunday_first) == [D(2026, 1, 5), D(2026, 1, 18), D(2026, 1, 19), D(2026, 2, 1)]
    assert dates(monday_first) == [D(2026, 1, 5), D(2026, 1, 11), D(2026, 1, 19), D(2026, 1, 25)]


def test_february_29_yearly_falls_on_the_28th_in_common_years() -> None:
    # EWS DayOfMonth: "If for a particular month this value is larger than the number of days in the month,
    # the last day of the month is assumed."
    pattern = Pattern("absoluteYearly", D(2024, 2, 29), day_of_month=29, month=2, count=5)
    assert dates(pattern) == [D(2024, 2, 29), D(2025, 2, 28), D(2026, 2, 28), D(2027, 2, 28), D(2028, 2, 29)]


def test_day_31_monthly_falls_on_each_months_last_day() -> None:
    pattern = Pattern("absoluteMonthly", D(2026, 1, 31), day_of_month=31, count=4)
    assert dates(pattern) == [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30)]


def test_day_30_every_month_in_february() -> None:
    pattern = Pattern("absoluteMonthly", D(2026, 1, 1), day_of_month=30, end=D(2026, 3, 31))
    assert dates(pattern) == [D(2026, 1, 30), D(2026, 2, 28), D(2026, 3, 30)]


def test_relative_yearly_last_monday_of_may() -> None:
    pattern = Pattern("relativeYearly", D(2026, 1, 1), days=(0,), index=4, month=5, count=3)
    assert dates(pattern) == [D(2026, 5, 25), D(2027, 5, 31), D(2028, 5, 29)]


def test_relative_yearly_fourth_thursday_of_november_starting_after_it() -> None:
    pattern = Pattern("relativeYearly", D(2026, 11, 27), days=(3,), index=3, month=11, count=1)
    assert dates(pattern) == [D(2027, 11, 25)]


def test_a_set_of_days_counts_as_one() -> None:
    # "the last weekday" of January 2026 is Friday the 30th (the 31st is a Saturday);
    # "the second weekend day" is Sunday the 4th
    last_weekday = Pattern("relativeMonthly", D(2026, 1, 1), days=(0, 1, 2, 3, 4), index=4, count=2)
    second_weekend_day = Pattern("relativeMonthly", D(2026, 1, 1), days=(5, 6), index=1, count=1)
    assert dates(last_weekday) == [D(2026, 1, 30), D(2026, 2, 27)]
    assert dates(second_weekend_day) == [D(2026, 1, 4)]


def test_daily_end_date_is_inclusive_and_the_start_date_counts() -> None:
    pattern = Pattern("daily", D(2026, 1, 1), interval=3, end=D(2026, 1, 10))
    assert dates(pattern) == [D(2026, 1, 1), D(2026, 1, 4), D(2026, 1, 7), D(2026, 1, 10)]


def test_the_start_date_counts_only_when_the_pattern_gives_it() -> None:
    pattern = Pattern("weekly", D(2026, 1, 1), days=(4,), count=2)  # a Thursday; the pattern says Fridays
    assert dates(pattern) == [D(2026, 1, 2), D(2026, 1, 9)]


def test_no_end_is_capped_and_until_and_limit_stop_early() -> None:
    pattern = Pattern("daily", D(2026, 1, 1))
    assert len(dates(pattern)) == MAX_OCCURRENCES
    assert dates(pattern, until=D(2026, 1, 3)) == [D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 3)]
    assert dates(pattern, limit=2) == [D(2026, 1, 1), D(2026, 1, 2)]


# -- the readers --------------------------------------------------------------------------------------------
def _ews_master(pattern: tuple[str, dict[str, str]], rng: tuple[str, dict[str, str]]) -> Any:
    master = el(t("CalendarItem"))
    sub(master, "t:Start", "2026-01-13T09:00:00Z")
    sub(master, "t:End", "2026-01-13T10:00:00Z")
    rec = sub(master, "t:Recurrence")
    for tag, children in (pattern, rng):
        node = sub(rec, f"t:{tag}")
        for name, text in children.items():
            sub(node, f"t:{name}", text)
    return master


def test_ews_reads_a_relative_monthly_pattern_and_expands_it_in_utc() -> None:
    master = _ews_master(
        ("RelativeMonthlyRecurrence", {"Interval": "1", "DaysOfWeek": "Tuesday", "DayOfWeekIndex": "Second"}),
        ("NumberedRecurrence", {"StartDate": "2026-01-01", "NumberOfOccurrences": "3"}),
    )
    found = ews.occurrences(master)
    assert [o.start for o in found] == [
        datetime(2026, 1, 13, 9, tzinfo=UTC),
        datetime(2026, 2, 10, 9, tzinfo=UTC),
        datetime(2026, 3, 10, 9, tzinfo=UTC),
    ]
    assert [o.index for o in found] == [1, 2, 3]


def test_ews_reads_weekday_sets_and_yearly_months() -> None:
    master = _ews_master(
        ("RelativeYearlyRecurrence", {"DaysOfWeek": "Weekday", "DayOfWeekIndex": "Last", "Month": "May"}),
        ("EndDateRecurrence", {"StartDate": "2026-01-01", "EndDate": "2027-12-31"}),
    )
    pattern = ews.pattern_of(master)
    assert pattern == Pattern(
        "relativeYearly", D(2026, 1, 1), days=(0, 1, 2, 3, 4), index=4, month=5, end=D(2027, 12, 31)
    )
    assert dates(pattern) == [D(2026, 5, 29), D(2027, 5, 31)]


def test_graph_reads_a_patterned_recurrence() -> None:
    recurrence = {
        "pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "wednesday"]},
        "range": {"type": "numbered", "startDate": "2026-01-07", "numberOfOccurrences": 3},
    }
    graph.validate(recurrence)
    assert graph.pattern_dates(recurrence) == [D(2026, 1, 7), D(2026, 1, 19), D(2026, 1, 21)]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (  # every second Tuesday, five times (instance 2, daysofweekmask Tuesday = 0x04)
            {"recurrencepatterntype": 2, "isnthmonthly": True, "instance": 2, "daysofweekmask": 4},
            [D(2026, 1, 13), D(2026, 2, 10), D(2026, 3, 10)],
        ),
        (  # every weekday (a daily pattern with isweekdaypattern)
            {"recurrencepatterntype": 0, "isweekdaypattern": True},
            [D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 5)],
        ),
        (  # yearly on 29 February
            {"recurrencepatterntype": 3, "isnthyearly": False, "dayofmonth": 29, "monthofyear": 2},
            [D(2026, 2, 28), D(2027, 2, 28), D(2028, 2, 29)],
        ),
    ],
)
def test_dataverse_reads_the_pattern_columns(columns: dict[str, Any], expected: list[date]) -> None:
    master = {"patternstartdate": "2026-01-01T00:00:00Z", "patternendtype": 2, "occurrences": 3, **columns}
    pattern = dv.pattern_of(master, UTC)
    assert pattern is not None
    assert dates(pattern) == expected
