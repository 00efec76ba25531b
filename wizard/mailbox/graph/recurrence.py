"""Recurrence patterns between Graph's patternedRecurrence and :class:`~wizard.mailbox.base.Recurrence`,
and the zone a series' pattern dates are counted in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, tzinfo
from typing import Any

from wizard.mailbox.base import Recurrence, RecurrencePattern
from wizard.mailbox.graph.values import zone_named

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEXES = ("first", "second", "third", "fourth", "last")
_PATTERNS = {
    RecurrencePattern.DAILY: "daily",
    RecurrencePattern.WEEKLY: "weekly",
    RecurrencePattern.ABSOLUTE_MONTHLY: "absoluteMonthly",
    RecurrencePattern.RELATIVE_MONTHLY: "relativeMonthly",
    RecurrencePattern.ABSOLUTE_YEARLY: "absoluteYearly",
    RecurrencePattern.RELATIVE_YEARLY: "relativeYearly",
}
_PATTERN_OF = {v.lower(): k for k, v in _PATTERNS.items()}


def recurrence_out(rec: Recurrence, zone_name: str = "UTC") -> dict[str, Any]:
    """A Graph patternedRecurrence; the pattern's dates count in ``zone_name`` (the series start's zone)."""
    pattern: dict[str, Any] = {
        "type": _PATTERNS[rec.pattern],
        "interval": rec.interval,
        "firstDayOfWeek": _WEEKDAYS[rec.first_day_of_week],
    }
    if rec.weekdays:
        pattern["daysOfWeek"] = [_WEEKDAYS[d] for d in rec.weekdays]
    if rec.day_of_month is not None:
        pattern["dayOfMonth"] = rec.day_of_month
    if rec.month is not None:
        pattern["month"] = rec.month
    if rec.week_index is not None:
        pattern["index"] = _INDEXES[rec.week_index]
    rng: dict[str, Any] = {"startDate": rec.start_date.isoformat(), "recurrenceTimeZone": zone_name or "UTC"}
    if rec.end_date is not None:
        rng.update(type="endDate", endDate=rec.end_date.isoformat())
    elif rec.occurrences is not None:
        rng.update(type="numbered", numberOfOccurrences=rec.occurrences)
    else:
        rng["type"] = "noEnd"
    return {"pattern": pattern, "range": rng}


def recurrence_from(value: Any) -> Recurrence | None:
    if not isinstance(value, Mapping):
        return None
    pattern = value.get("pattern") or {}
    rng = value.get("range") or {}
    kind = _PATTERN_OF.get(str(pattern.get("type") or "").lower())
    if kind is None or not rng.get("startDate"):
        return None
    weekly_like = kind in (
        RecurrencePattern.WEEKLY,
        RecurrencePattern.RELATIVE_MONTHLY,
        RecurrencePattern.RELATIVE_YEARLY,
    )
    days = tuple(
        _WEEKDAYS.index(d.lower()) for d in pattern.get("daysOfWeek") or [] if d.lower() in _WEEKDAYS
    )
    absolute = kind in (RecurrencePattern.ABSOLUTE_MONTHLY, RecurrencePattern.ABSOLUTE_YEARLY)
    yearly = kind in (RecurrencePattern.ABSOLUTE_YEARLY, RecurrencePattern.RELATIVE_YEARLY)
    relative = kind in (RecurrencePattern.RELATIVE_MONTHLY, RecurrencePattern.RELATIVE_YEARLY)
    index = str(pattern.get("index") or "first").lower()
    first_day = str(pattern.get("firstDayOfWeek") or "sunday").lower()
    range_type = str(rng.get("type") or "noEnd")
    return Recurrence(
        pattern=kind,
        start_date=date.fromisoformat(str(rng["startDate"])),
        interval=int(pattern.get("interval") or 1),
        weekdays=days if weekly_like else (),
        day_of_month=int(pattern["dayOfMonth"]) if absolute and pattern.get("dayOfMonth") else None,
        week_index=_INDEXES.index(index) if relative and index in _INDEXES else None,
        month=int(pattern["month"]) if yearly and pattern.get("month") else None,
        end_date=date.fromisoformat(str(rng["endDate"]))
        if range_type == "endDate" and rng.get("endDate")
        else None,
        occurrences=int(rng["numberOfOccurrences"]) if range_type == "numbered" else None,
        first_day_of_week=_WEEKDAYS.index(first_day) if first_day in _WEEKDAYS else 6,
    )


def recurrence_zone(resource: Mapping[str, Any], fallback: tzinfo) -> tzinfo:
    """The zone a series' pattern dates are counted in (``range.recurrenceTimeZone``, IANA or Windows: series
    made in Outlook carry Windows names); the mailbox zone when it is missing or unknown."""
    recurrence = resource.get("recurrence")
    rng = recurrence.get("range") if isinstance(recurrence, Mapping) else None
    name = str((rng or {}).get("recurrenceTimeZone") or "")
    return (zone_named(name) if name else None) or fallback
