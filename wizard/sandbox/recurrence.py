"""The stand-ins' own recurrence expansion: a documented pattern and range -> its occurrence dates (dateutil rrule).

Exchange (EWS ``Recurrence``), Microsoft Graph (``patternedRecurrence``) and Dataverse
(``recurringappointmentmaster``) describe a series with the same six patterns and three ranges; each stand-in reads
its own wire form into a :class:`Pattern` and this module expands it with ``dateutil.rrule`` (RFC 5545 rules, a
library the product does not use for this), so a misreading in the product is not copied into its oracle.

What the documentation says, and how the rule expresses it:

- daily / weekly: every ``interval`` days / weeks; a weekly pattern's weeks begin on ``first_day_of_week`` and are
  counted from the week that holds the start date (EWS ``FirstDayOfWeek``, Graph ``firstDayOfWeek``): ``WKST``.
- absoluteMonthly / absoluteYearly: "If for a particular month this value is larger than the number of days in the
  month, the last day of the month is assumed" (EWS ``DayOfMonth``): day 31 falls on Apr 30, Feb 29 yearly on
  Feb 28 in common years. Expressed as BYMONTHDAY=28..day with BYSETPOS=-1.
- relativeMonthly / relativeYearly: the first..fourth or last day of the month that is one of the days (EWS
  ``DayOfWeekIndex`` with ``Day`` / ``Weekday`` / ``WeekendDay``; Graph ``index`` with several ``daysOfWeek``): the
  days count as one set, BYDAY with BYSETPOS.
- the range starts at its start date (an occurrence is never before it, the start date itself only if the pattern
  gives it) and ends at an end date (inclusive), after a number of occurrences (deleted ones counted), or never.
  An open-ended series is expanded to at most :data:`MAX_OCCURRENCES` dates, as Exchange caps CalendarView.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dateutil import rrule

PATTERNS = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
#: the most occurrences an open-ended series is expanded to
MAX_OCCURRENCES = 999
#: DayOfWeekIndex / Graph ``index``: 0..3 = first..fourth, 4 = last
LAST = 4
_FREQ = {
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "absoluteMonthly": rrule.MONTHLY,
    "relativeMonthly": rrule.MONTHLY,
    "absoluteYearly": rrule.YEARLY,
    "relativeYearly": rrule.YEARLY,
}


@dataclass(frozen=True)
class Pattern:
    """A series' pattern and range.

    ``days`` are 0 = Monday .. 6 = Sunday; ``index`` 0 = first .. 3 = fourth, 4 = last; ``month`` 1..12;
    ``first_day_of_week`` 0 = Monday .. 6 = Sunday (Sunday unless the client says otherwise).
    The range ends at ``end`` (inclusive), after ``count`` occurrences, or never (both None).
    """

    kind: str
    start: date
    interval: int = 1
    days: tuple[int, ...] = ()
    day_of_month: int | None = None
    index: int = 0
    month: int | None = None
    first_day_of_week: int = 6
    end: date | None = None
    count: int | None = None

    @property
    def ends(self) -> bool:
        return self.end is not None or self.count is not None


def _month_day(day: int) -> dict[str, object]:
    """BYMONTHDAY for "day ``day`` of the month, else the month's last day"."""
    if day <= 28:
        return {"bymonthday": day}
    return {"bymonthday": tuple(range(28, day + 1)), "bysetpos": -1}


def rule(pattern: Pattern) -> rrule.rrule:
    """The pattern as an rrule whose dtstart is the range's start date (midnight, naive)."""
    if pattern.kind not in _FREQ:
        raise ValueError(f"unknown recurrence pattern {pattern.kind!r}")
    kwargs: dict[str, object] = {
        "dtstart": datetime.combine(pattern.start, datetime.min.time()),
        "interval": max(1, pattern.interval),
        "wkst": pattern.first_day_of_week,
    }
    if pattern.kind == "weekly":
        kwargs["byweekday"] = pattern.days or (pattern.start.weekday(),)
    elif pattern.kind.startswith("absolute"):
        kwargs.update(_month_day(pattern.day_of_month or pattern.start.day))
    elif pattern.kind.startswith("relative"):
        kwargs["byweekday"] = pattern.days or tuple(range(7))
        kwargs["bysetpos"] = -1 if pattern.index >= LAST else pattern.index + 1
    if pattern.kind.endswith("Yearly"):
        kwargs["bymonth"] = pattern.month or pattern.start.month
    if pattern.count is not None:
        kwargs["count"] = pattern.count
    elif pattern.end is not None:
        kwargs["until"] = datetime.combine(pattern.end, datetime.min.time())
    return rrule.rrule(_FREQ[pattern.kind], **kwargs)


def dates(pattern: Pattern, *, until: date | None = None, limit: int | None = None) -> list[date]:
    """The pattern's dates in order (deleted occurrences included), up to ``until`` and at most ``limit``
    (and never more than :data:`MAX_OCCURRENCES`)."""
    cap = min(limit, MAX_OCCURRENCES) if limit is not None else MAX_OCCURRENCES
    out: list[date] = []
    if cap <= 0:
        return out
    for moment in rule(pattern):
        day = moment.date()
        if until is not None and day > until:
            break
        out.append(day)
        if len(out) >= cap:
            break
    return out
