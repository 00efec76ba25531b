"""Recurring series: Dataverse ``recurringappointmentmaster`` columns <-> canonical dict <-> mailbox Recurrence.

The canonical recurrence is a plain JSON dict so the planner can compare and hash it:

```
{"pattern": "daily" | "weekly" | "absolute_monthly" | "relative_monthly" | "absolute_yearly" | "relative_yearly",
 "interval": 1.., "weekdays": [0=Mon..6=Sun, sorted], "day_of_month": 1..31 | None,
 "week_index": 0=first..4=last | None, "month": 1..12 | None, "first_day_of_week": 0=Mon..6=Sun,
 "start_date": "YYYY-MM-DD", "end_date": "YYYY-MM-DD" | None, "occurrences": int | None,
 "deleted": ["YYYY-MM-DD", ...],                        # original dates of deleted occurrences
 "modified": [{"original": "YYYY-MM-DD", "start": iso, "end": iso, "subject": str | None,
               "location": str | None}, ...]}         # changed occurrences, sorted by original date
```

Only the keys that mean something for the pattern are set (the rest are None / [] / 0), so two
descriptions of the same series always compare equal. Dataverse facts (PAD recurringappointmentmaster):
recurrencepatterntype 0 Daily, 1 Weekly, 2 Monthly, 3 Yearly; patternendtype 1 No End Date,
2 Occurrences, 3 Pattern End Date; instance 1 First .. 4 Fourth, 5 Last; monthofyear 1..12;
daysofweekmask bit 1 = Sunday .. 64 = Saturday (Outlook's OlDaysOfWeek); firstdayofweek 0 = Sunday;
isnthmonthly / isnthyearly select the "the Nth weekday" forms; isweekdaypattern = "every weekday".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from wizard.mailbox.base import ModifiedOccurrence, Recurrence, RecurrencePattern
from wizard.sync import timezones as tzs

__all__ = [
    "PATTERNS",
    "from_crm",
    "from_mailbox",
    "mask_from_weekdays",
    "normalize",
    "pattern_only",
    "strip_same_as_series",
    "to_crm",
    "to_mailbox",
    "weekdays_from_mask",
]

PATTERNS: tuple[str, ...] = tuple(p.value for p in RecurrencePattern)

# recurrencepatterntype
CRM_DAILY, CRM_WEEKLY, CRM_MONTHLY, CRM_YEARLY = 0, 1, 2, 3
# patternendtype
END_NEVER, END_COUNT, END_DATE = 1, 2, 3
#: Monday..Friday, the "every weekday" pattern
WORKDAYS = (0, 1, 2, 3, 4)

_WEEKDAY_PATTERNS = {"weekly", "relative_monthly", "relative_yearly"}
_DAY_PATTERNS = {"absolute_monthly", "absolute_yearly"}
_MONTH_PATTERNS = {"absolute_yearly", "relative_yearly"}
_INDEX_PATTERNS = {"relative_monthly", "relative_yearly"}


def mask_from_weekdays(weekdays: Iterable[int]) -> int:
    """0=Mon..6=Sun -> Dataverse/Outlook bitmask (Sunday 1, Monday 2, ... Saturday 64)."""
    mask = 0
    for day in weekdays:
        if not 0 <= day <= 6:
            raise ValueError(f"weekday {day} is not 0 (Monday) .. 6 (Sunday)")
        mask |= 1 << ((day + 1) % 7)
    return mask


def weekdays_from_mask(mask: int | None) -> list[int]:
    """Inverse of :func:`mask_from_weekdays`, sorted Monday first."""
    if not mask:
        return []
    if not 0 < mask <= 127:
        raise ValueError(f"daysofweekmask {mask} is outside 1..127")
    return sorted((bit - 1) % 7 for bit in range(7) if mask & (1 << bit))


def _iso_date(value: Any, tz: str) -> str | None:
    parsed = tzs.parse_date(value, tz)
    return parsed.isoformat() if parsed is not None else None


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    return int(value)


def _normalize_modified(entries: Iterable[Mapping[str, Any]], tz: str = "UTC") -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        original = _iso_date(entry.get("original"), tz)
        if original is None:
            raise ValueError("a modified occurrence needs its original date")
        out[original] = {
            "original": original,
            "start": tzs.to_utc_iso(entry.get("start")),
            "end": tzs.to_utc_iso(entry.get("end")),
            "subject": entry.get("subject") or None,
            "location": entry.get("location") or None,
        }
    return [out[key] for key in sorted(out)]


def normalize(rec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The canonical form of a recurrence dict; raises ValueError when it describes no valid series."""
    if rec is None:
        return None
    pattern = rec.get("pattern")
    if pattern not in PATTERNS:
        raise ValueError(f"unknown recurrence pattern {pattern!r}")
    raw_interval = _int(rec.get("interval"))
    interval = 1 if raw_interval is None else raw_interval
    if not 1 <= interval <= 1000:
        raise ValueError(f"recurrence interval {interval} is outside 1..1000")
    weekdays = sorted({int(d) for d in rec.get("weekdays") or ()})
    if any(not 0 <= d <= 6 for d in weekdays):
        raise ValueError(f"weekdays {weekdays} must be 0 (Monday) .. 6 (Sunday)")
    day_of_month = _int(rec.get("day_of_month"))
    week_index = _int(rec.get("week_index"))
    month = _int(rec.get("month"))
    start = _iso_date(rec.get("start_date"), "UTC")
    if start is None:
        raise ValueError("a recurrence needs a start date")
    end = _iso_date(rec.get("end_date"), "UTC")
    occurrences = _int(rec.get("occurrences"))
    if end is not None and occurrences is not None:
        raise ValueError("a recurrence ends by date or after a count, not both")
    if end is not None and end < start:
        raise ValueError(f"recurrence ends ({end}) before it starts ({start})")
    if occurrences is not None and not 1 <= occurrences <= 999:
        raise ValueError(f"occurrences {occurrences} is outside 1..999")
    if pattern in _WEEKDAY_PATTERNS:
        if not weekdays:
            raise ValueError(f"a {pattern} recurrence needs at least one weekday")
    else:
        weekdays = []
    if pattern in _DAY_PATTERNS:
        if day_of_month is None or not 1 <= day_of_month <= 31:
            raise ValueError(f"a {pattern} recurrence needs a day of month 1..31")
    else:
        day_of_month = None
    if pattern in _INDEX_PATTERNS:
        if week_index is None or not 0 <= week_index <= 4:
            raise ValueError(f"a {pattern} recurrence needs a week index 0 (first) .. 4 (last)")
    else:
        week_index = None
    if pattern in _MONTH_PATTERNS:
        if month is None or not 1 <= month <= 12:
            raise ValueError(f"a {pattern} recurrence needs a month 1..12")
    else:
        month = None
    first_day = _int(rec.get("first_day_of_week")) or 0
    # the week start only changes which days occur for "every N weeks" (N > 1); elsewhere it is noise
    if not (pattern == "weekly" and interval > 1):
        first_day = 0
    if not 0 <= first_day <= 6:
        raise ValueError(f"first day of week {first_day} is outside 0..6")
    deleted = sorted({d for d in (_iso_date(v, "UTC") for v in rec.get("deleted") or ()) if d})
    modified = _normalize_modified(rec.get("modified") or ())
    return {
        "pattern": pattern,
        "interval": interval,
        "weekdays": weekdays,
        "day_of_month": day_of_month,
        "week_index": week_index,
        "month": month,
        "first_day_of_week": first_day,
        "start_date": start,
        "end_date": end,
        "occurrences": occurrences,
        "deleted": deleted,
        "modified": modified,
    }


# --------------------------------------------------------------------------------------------------
# Dataverse


def _parse_deleted_list(value: Any, tz: str) -> list[str]:
    """``deletedexceptionslist`` is an opaque server string; accept comma/semicolon separated dates."""
    if not value:
        return []
    if isinstance(value, str):
        parts: Sequence[Any] = [p for p in value.replace(";", ",").split(",") if p.strip()]
    else:
        parts = list(value)
    out = []
    for part in parts:
        try:
            parsed = tzs.parse_date(part.strip() if isinstance(part, str) else part, tz)
        except ValueError:
            continue
        if parsed is not None:
            out.append(parsed.isoformat())
    return out


def from_crm(
    master: Mapping[str, Any], tz: str, *, instances: Iterable[Mapping[str, Any]] = ()
) -> dict[str, Any] | None:
    """Canonical recurrence from a ``recurringappointmentmaster`` row (None when it carries no pattern).

    ``instances`` are the series' appointment rows; those with ``instancetypecode`` 3 (recurring
    exception) become "modified" entries, canceled ones (statecode 2) "deleted" ones.
    """
    kind = _int(master.get("recurrencepatterntype"))
    if kind is None:
        return None
    interval = _int(master.get("interval")) or 1
    weekdays = weekdays_from_mask(_int(master.get("daysofweekmask")))
    instance = _int(master.get("instance"))
    week_index = instance - 1 if instance else None
    day_of_month = _int(master.get("dayofmonth"))
    month = _int(master.get("monthofyear")) or None
    weekday_pattern = bool(master.get("isweekdaypattern"))
    if kind == CRM_DAILY:
        pattern = "weekly" if weekday_pattern else "daily"
        if weekday_pattern:
            weekdays, interval = list(WORKDAYS), 1
    elif kind == CRM_WEEKLY:
        pattern = "weekly"
        if weekday_pattern and not weekdays:
            weekdays = list(WORKDAYS)
    elif kind == CRM_MONTHLY:
        nth = master.get("isnthmonthly")
        nth = bool(nth) if nth is not None else (instance is not None and not day_of_month)
        pattern = "relative_monthly" if nth else "absolute_monthly"
    elif kind == CRM_YEARLY:
        nth = master.get("isnthyearly")
        nth = bool(nth) if nth is not None else (instance is not None and not day_of_month)
        pattern = "relative_yearly" if nth else "absolute_yearly"
    else:
        raise ValueError(f"unknown recurrencepatterntype {kind}")
    end_type = _int(master.get("patternendtype")) or END_NEVER
    end_date = _iso_date(master.get("patternenddate"), tz) if end_type == END_DATE else None
    occurrences = _int(master.get("occurrences")) if end_type == END_COUNT else None
    firstday = _int(master.get("firstdayofweek"))
    deleted = _parse_deleted_list(master.get("deletedexceptionslist"), tz)
    modified: list[dict[str, Any]] = []
    for row in instances:
        if _int(row.get("instancetypecode")) not in (3, 4):
            continue
        original = row.get("originalstartdate") or row.get("scheduledstart")
        if original is None:
            continue
        if _int(row.get("statecode")) == 2:
            deleted.append(tzs.local_date(original, tz).isoformat())
            continue
        modified.append(
            {
                "original": tzs.local_date(original, tz).isoformat(),
                "start": row.get("scheduledstart"),
                "end": row.get("scheduledend"),
                "subject": row.get("subject"),
                "location": row.get("location"),
            }
        )
    return normalize(
        {
            "pattern": pattern,
            "interval": interval,
            "weekdays": weekdays,
            "day_of_month": day_of_month,
            "week_index": week_index,
            "month": month,
            "first_day_of_week": (firstday + 6) % 7 if firstday is not None else 0,
            "start_date": _iso_date(master.get("patternstartdate"), tz),
            "end_date": end_date,
            "occurrences": occurrences,
            "deleted": deleted,
            "modified": modified,
        }
    )


def to_crm(rec: Mapping[str, Any], tz: str, *, creating: bool = False) -> dict[str, Any]:
    """The ``recurringappointmentmaster`` pattern columns for a canonical recurrence.

    Range dates are DateOnly/UserLocal columns: they are sent as the UTC instant of local midnight in
    ``tz`` and read back with :func:`wizard.sync.timezones.parse_date`, so they never shift. Exceptions
    are not columns (a deleted occurrence is a deleted instance); the executor handles them.
    ``firstdayofweek`` is create-only in Dataverse.
    """
    canon = normalize(rec)
    assert canon is not None
    pattern = canon["pattern"]
    kind = {
        "daily": CRM_DAILY,
        "weekly": CRM_WEEKLY,
        "absolute_monthly": CRM_MONTHLY,
        "relative_monthly": CRM_MONTHLY,
        "absolute_yearly": CRM_YEARLY,
        "relative_yearly": CRM_YEARLY,
    }[pattern]
    start = date.fromisoformat(canon["start_date"])
    out: dict[str, Any] = {
        "recurrencepatterntype": kind,
        "interval": canon["interval"],
        "daysofweekmask": mask_from_weekdays(canon["weekdays"]) if canon["weekdays"] else None,
        "dayofmonth": canon["day_of_month"],
        "instance": canon["week_index"] + 1 if canon["week_index"] is not None else None,
        "monthofyear": canon["month"],
        "isnthmonthly": pattern == "relative_monthly",
        "isnthyearly": pattern == "relative_yearly",
        "isweekdaypattern": False,
        "patternstartdate": tzs.to_utc_iso(tzs.local_midnight(start, tz)),
    }
    if canon["end_date"] is not None:
        end = date.fromisoformat(canon["end_date"])
        out.update(patternendtype=END_DATE, patternenddate=tzs.to_utc_iso(tzs.local_midnight(end, tz)))
        out["occurrences"] = None
    elif canon["occurrences"] is not None:
        out.update(patternendtype=END_COUNT, occurrences=canon["occurrences"], patternenddate=None)
    else:
        out.update(patternendtype=END_NEVER, occurrences=None, patternenddate=None)
    if creating:
        out["firstdayofweek"] = (canon["first_day_of_week"] + 1) % 7
    return out


# --------------------------------------------------------------------------------------------------
# Mailbox


def _as_date_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def _entry_from_object(entry: Any) -> dict[str, Any]:
    if isinstance(entry, Mapping):
        return dict(entry)
    return {
        "original": getattr(entry, "original", None) or getattr(entry, "original_start", None),
        "start": getattr(entry, "start", None),
        "end": getattr(entry, "end", None),
        "subject": getattr(entry, "subject", None),
        "location": getattr(entry, "location", None),
    }


def from_mailbox(
    rec: Recurrence | None,
    *,
    deleted: Iterable[date | datetime | str] = (),
    modified: Iterable[Any] = (),
) -> dict[str, Any] | None:
    """Canonical recurrence from a mailbox :class:`Recurrence`, its exceptions included (plus any passed in)."""
    if rec is None:
        return None
    return normalize(
        {
            "pattern": rec.pattern.value,
            "interval": rec.interval,
            "weekdays": list(rec.weekdays),
            "day_of_month": rec.day_of_month,
            "week_index": rec.week_index,
            "month": rec.month,
            "first_day_of_week": rec.first_day_of_week,
            "start_date": rec.start_date.isoformat(),
            "end_date": rec.end_date.isoformat() if rec.end_date else None,
            "occurrences": rec.occurrences,
            "deleted": [_as_date_str(d) for d in (*rec.deleted_occurrences, *deleted)],
            "modified": [_entry_from_object(m) for m in (*rec.modified_occurrences, *modified)],
        }
    )


def to_mailbox(rec: Mapping[str, Any]) -> Recurrence:
    """A mailbox :class:`Recurrence` for a canonical recurrence, deleted and modified occurrences included."""
    canon = normalize(rec)
    assert canon is not None
    return Recurrence(
        pattern=RecurrencePattern(canon["pattern"]),
        start_date=date.fromisoformat(canon["start_date"]),
        interval=canon["interval"],
        weekdays=tuple(canon["weekdays"]),
        day_of_month=canon["day_of_month"],
        week_index=canon["week_index"],
        month=canon["month"],
        end_date=date.fromisoformat(canon["end_date"]) if canon["end_date"] else None,
        occurrences=canon["occurrences"],
        first_day_of_week=canon["first_day_of_week"],
        deleted_occurrences=tuple(date.fromisoformat(d) for d in canon["deleted"]),
        modified_occurrences=tuple(
            ModifiedOccurrence(
                original=date.fromisoformat(m["original"]),
                start=tzs.parse_datetime(m["start"]) if m["start"] else None,
                end=tzs.parse_datetime(m["end"]) if m["end"] else None,
                subject=m["subject"],
                location=m["location"],
            )
            for m in canon["modified"]
        ),
    )


def exceptions_supported() -> bool:
    """Whether the mailbox Recurrence dataclass can carry deleted/modified occurrences (it can)."""
    names = {f.name for f in dataclasses.fields(Recurrence)}
    return "deleted_occurrences" in names


def pattern_only(rec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The canonical recurrence without its exceptions (what decides whether a series is the same series)."""
    canon = normalize(rec)
    if canon is None:
        return None
    return {**canon, "deleted": [], "modified": []}


def strip_same_as_series(
    rec: dict[str, Any] | None, subject: str | None, location: str | None
) -> dict[str, Any] | None:
    """Blank a modified occurrence's subject/location where it equals the series' own.

    Both sides then describe an exception by what it changes, so renaming the series does not make every
    exception look changed (Exchange and Dataverse differ in whether a rename reaches the exceptions).
    """
    if rec is None:
        return None
    for entry in rec.get("modified") or ():
        if entry.get("subject") == (subject or None):
            entry["subject"] = None
        if entry.get("location") == (location or None):
            entry["location"] = None
    return rec
