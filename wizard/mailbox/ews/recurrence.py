"""Recurrence patterns between exchangelib and :class:`~wizard.mailbox.base.Recurrence`.

The pattern and its boundary both ways, EWS's InstanceIndex of an occurrence, and a master's series as the
server has it (pattern plus deleted and modified occurrences, dates in the mailbox zone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from exchangelib import EWSDate
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from exchangelib.recurrence import Recurrence as XRecurrence

from wizard.mailbox.base import ModifiedOccurrence, Recurrence, RecurrencePattern
from wizard.mailbox.ews.values import as_date, in_zone

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK_NUMBERS = ("First", "Second", "Third", "Fourth", "Last")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def recurrence_to_ews(rec: Recurrence) -> XRecurrence:
    """base.Recurrence -> exchangelib Recurrence (pattern + boundary)."""
    p = rec.pattern

    def one_weekday() -> str:
        days = tuple(sorted(rec.weekdays))
        if days == tuple(range(7)):
            return "Day"
        if days == (0, 1, 2, 3, 4):
            return "Weekday"
        if days == (5, 6):
            return "WeekendDay"
        return _WEEKDAYS[days[0] if days else 0]

    week = _WEEK_NUMBERS[rec.week_index if rec.week_index is not None else 0]
    month = _MONTHS[(rec.month or 1) - 1]
    pattern: Any
    if p is RecurrencePattern.DAILY:
        pattern = DailyPattern(interval=rec.interval)
    elif p is RecurrencePattern.WEEKLY:
        pattern = WeeklyPattern(
            interval=rec.interval,
            weekdays=[_WEEKDAYS[d] for d in rec.weekdays] or [_WEEKDAYS[rec.start_date.weekday()]],
            first_day_of_week=_WEEKDAYS[rec.first_day_of_week],
        )
    elif p is RecurrencePattern.ABSOLUTE_MONTHLY:
        pattern = AbsoluteMonthlyPattern(interval=rec.interval, day_of_month=rec.day_of_month or 1)
    elif p is RecurrencePattern.RELATIVE_MONTHLY:
        pattern = RelativeMonthlyPattern(interval=rec.interval, weekday=one_weekday(), week_number=week)
    elif p is RecurrencePattern.ABSOLUTE_YEARLY:
        pattern = AbsoluteYearlyPattern(day_of_month=rec.day_of_month or 1, month=month)
    else:
        pattern = RelativeYearlyPattern(weekday=one_weekday(), week_number=week, month=month)
    start = EWSDate.from_date(rec.start_date)
    boundary: Any
    if rec.end_date is not None:
        boundary = EndDatePattern(start=start, end=EWSDate.from_date(rec.end_date))
    elif rec.occurrences is not None:
        boundary = NumberedPattern(start=start, number=rec.occurrences)
    else:
        boundary = NoEndPattern(start=start)
    return XRecurrence(pattern=pattern, boundary=boundary)


def _weekday_index(value: Any) -> int:
    if isinstance(value, int):
        return value - 1
    return _WEEKDAYS.index(str(value))


def _weekday_set(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and value > 7:
        value = ("Day", "Weekday", "WeekendDay")[value - 8]
    if value == "Day":
        return tuple(range(7))
    if value == "Weekday":
        return (0, 1, 2, 3, 4)
    if value == "WeekendDay":
        return (5, 6)
    return (_weekday_index(value),)


def _index_of(value: Any, names: Sequence[str]) -> int:
    """0-based index of an exchangelib enum value (it keeps some as 1-based ints, some as names)."""
    if isinstance(value, int):
        return value - 1
    return list(names).index(str(value))


def recurrence_from_ews(xrec: Any) -> Recurrence | None:
    if xrec is None or getattr(xrec, "pattern", None) is None:
        return None
    xp = xrec.pattern
    boundary = xrec.boundary
    start = as_date(getattr(boundary, "start", None)) or dt.date(1970, 1, 1)
    end_date = as_date(getattr(boundary, "end", None)) if isinstance(boundary, EndDatePattern) else None
    occurrences = int(boundary.number) if isinstance(boundary, NumberedPattern) else None
    base: dict[str, Any] = {"start_date": start, "end_date": end_date, "occurrences": occurrences}
    if isinstance(xp, DailyPattern):
        return Recurrence(RecurrencePattern.DAILY, interval=int(xp.interval), **base)
    if isinstance(xp, WeeklyPattern):
        days = xp.weekdays or []
        if not isinstance(days, list | tuple):
            days = [days]
        return Recurrence(
            RecurrencePattern.WEEKLY,
            interval=int(xp.interval),
            weekdays=tuple(_weekday_index(d) for d in days),
            first_day_of_week=_weekday_index(xp.first_day_of_week) if xp.first_day_of_week else 0,
            **base,
        )
    if isinstance(xp, AbsoluteMonthlyPattern):
        return Recurrence(
            RecurrencePattern.ABSOLUTE_MONTHLY,
            interval=int(xp.interval),
            day_of_month=int(xp.day_of_month),
            **base,
        )
    if isinstance(xp, RelativeMonthlyPattern):
        return Recurrence(
            RecurrencePattern.RELATIVE_MONTHLY,
            interval=int(xp.interval),
            weekdays=_weekday_set(xp.weekday),
            week_index=_index_of(xp.week_number, _WEEK_NUMBERS),
            **base,
        )
    if isinstance(xp, AbsoluteYearlyPattern):
        return Recurrence(
            RecurrencePattern.ABSOLUTE_YEARLY,
            day_of_month=int(xp.day_of_month),
            month=_index_of(xp.month, _MONTHS) + 1,
            **base,
        )
    if isinstance(xp, RelativeYearlyPattern):
        return Recurrence(
            RecurrencePattern.RELATIVE_YEARLY,
            weekdays=_weekday_set(xp.weekday),
            week_index=_index_of(xp.week_number, _WEEK_NUMBERS),
            month=_index_of(xp.month, _MONTHS) + 1,
            **base,
        )
    return None  # regenerating patterns (tasks) have no counterpart in the item model


def instance_indexes(target: Recurrence, days: Sequence[dt.date]) -> dict[dt.date, int]:
    """EWS's InstanceIndex of each date: its 1-based position in the pattern, deleted occurrences counted."""
    if not days:
        return {}
    return {day: n for n, day in enumerate(target.dates(until=max(days)), start=1)}


def series_from_ews(x: Any, tz: Any) -> Recurrence | None:
    """The pattern plus deleted and modified occurrences (dates in the mailbox zone).

    A modified occurrence's subject and location need the exception itself:
    ``OccurrenceWrites._fill_exceptions`` (occurrences.py).
    """
    rec = recurrence_from_ews(x.recurrence)
    if rec is None:
        return None

    def day(value: Any) -> dt.date | None:
        local = in_zone(value, tz)
        return local.date() if local is not None else None

    deleted = sorted({d for d in (day(o.start) for o in x.deleted_occurrences or []) if d is not None})
    modified = []
    for occ in x.modified_occurrences or []:
        original = day(occ.original_start)
        if original is not None:
            modified.append(ModifiedOccurrence(original, in_zone(occ.start, tz), in_zone(occ.end, tz)))
    return replace(
        rec,
        deleted_occurrences=tuple(deleted),
        modified_occurrences=tuple(sorted(modified, key=lambda m: m.original)),
    )
