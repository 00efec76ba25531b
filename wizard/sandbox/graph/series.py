"""Recurring events in the Graph stand-in: expanding a master's ``patternedRecurrence`` into instances.

Graph (v1.0 event resource) shows a series as a ``seriesMaster`` event plus instances that are not stored
items of their own: ``occurrence`` (as the pattern makes it) and ``exception`` (an occurrence changed on
its own). A cancelled (deleted) occurrence is simply absent. Instances carry ``seriesMasterId`` and
``originalStart`` (the UTC start the pattern gave them). The stand-in keeps exceptions and cancellations
on the master entry, keyed by the occurrence's original date in the recurrence time zone, and derives the
instances from the pattern here. This is written from the Graph reference (recurrencePattern,
recurrenceRange, patternedRecurrence), independently of the product's own expansion in
``wizard.mailbox.base``, so a shared misreading would not go unnoticed.
"""

from __future__ import annotations

import base64
import calendar
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INDEXES = ("first", "second", "third", "fourth", "last")
#: the most instances the stand-in expands a series to (Exchange also caps its expansion)
MAX_INSTANCES = 999
OCCURRENCE_PREFIX = "AAMkOCC"


class PatternError(ValueError):
    """A recurrence the service would refuse (400 ``ErrorInvalidRecurrence``-like)."""


def zone_of(name: str | None) -> tzinfo:
    if not name or name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def validate(recurrence: Any) -> None:
    """Refuse what Graph refuses: an unknown pattern type, a missing start date, a bad range."""
    if recurrence is None:
        return
    if not isinstance(recurrence, Mapping):
        raise PatternError("recurrence must be an object")
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    kind = str(pattern.get("type") or "")
    if kind not in (
        "daily",
        "weekly",
        "absoluteMonthly",
        "relativeMonthly",
        "absoluteYearly",
        "relativeYearly",
    ):
        raise PatternError(f"unknown recurrence pattern type {kind!r}")
    if int(pattern.get("interval") or 0) < 1:
        raise PatternError("the recurrence interval must be at least 1")
    if kind in ("weekly", "relativeMonthly", "relativeYearly") and not pattern.get("daysOfWeek"):
        raise PatternError(f"a {kind} pattern needs daysOfWeek")
    if any(str(d).lower() not in DAYS for d in pattern.get("daysOfWeek") or []):
        raise PatternError("unknown day in daysOfWeek")
    if not rng.get("startDate"):
        raise PatternError("the recurrence range needs a startDate")
    try:
        date.fromisoformat(str(rng["startDate"]))
        if rng.get("type") == "endDate":
            date.fromisoformat(str(rng.get("endDate") or ""))
    except ValueError as exc:
        raise PatternError("a recurrence range date is not a date") from exc
    if rng.get("type") == "numbered" and int(rng.get("numberOfOccurrences") or 0) < 1:
        raise PatternError("numberOfOccurrences must be at least 1")
    if rng.get("type") not in ("endDate", "numbered", "noEnd"):
        raise PatternError(f"unknown recurrence range type {rng.get('type')!r}")


def _month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _candidates(pattern: Mapping[str, Any], start: date) -> Iterator[date]:
    kind = str(pattern.get("type"))
    step = max(1, int(pattern.get("interval") or 1))
    days = {DAYS.index(str(d).lower()) for d in pattern.get("daysOfWeek") or []}
    if kind == "daily":
        day = start
        while day.year < 9999:
            yield day
            day += timedelta(days=step)
        return
    if kind == "weekly":
        first = DAYS.index(str(pattern.get("firstDayOfWeek") or "sunday").lower())
        week = start - timedelta(days=(start.weekday() - first) % 7)
        while week.year < 9999:
            for offset in range(7):
                day = week + timedelta(days=offset)
                if day >= start and day.weekday() in days:
                    yield day
            week += timedelta(weeks=step)
        return
    yearly = kind.endswith("Yearly")
    year = start.year
    month = int(pattern.get("month") or start.month) if yearly else start.month
    months = 12 * step if yearly else step
    while year < 9999:
        if kind.startswith("absolute"):
            wanted = int(pattern.get("dayOfMonth") or start.day)
            found: date | None = date(year, month, min(wanted, _month_days(year, month)))
        else:
            matching = [
                date(year, month, d)
                for d in range(1, _month_days(year, month) + 1)
                if date(year, month, d).weekday() in days
            ]
            index = INDEXES.index(str(pattern.get("index") or "first").lower())
            if not matching:
                found = None
            elif index == 4:
                found = matching[-1]
            else:
                found = matching[index] if index < len(matching) else None
        if found is not None and found >= start:
            yield found
        month += months
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def pattern_dates(recurrence: Mapping[str, Any], *, until: date | None = None) -> list[date]:
    """The dates the pattern gives, cancelled ones included, in order (at most :data:`MAX_INSTANCES`)."""
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    start = date.fromisoformat(str(rng["startDate"]))
    kind = str(rng.get("type") or "noEnd")
    count = int(rng.get("numberOfOccurrences") or 0) if kind == "numbered" else MAX_INSTANCES
    last = date.fromisoformat(str(rng["endDate"])) if kind == "endDate" else None
    if until is not None and (last is None or until < last):
        last = until
    out: list[date] = []
    for day in _candidates(pattern, start):
        if len(out) >= min(count, MAX_INSTANCES) or (last is not None and day > last):
            break
        out.append(day)
    return out


def occurrence_id(master_id: str, day: date) -> str:
    """An instance's id: opaque to clients (they find it through ``instances``), decodable here."""
    raw = f"{master_id}|{day.isoformat()}".encode()
    return OCCURRENCE_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def parse_occurrence_id(item_id: str) -> tuple[str, date] | None:
    if not item_id.startswith(OCCURRENCE_PREFIX):
        return None
    body = item_id[len(OCCURRENCE_PREFIX) :]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        master_id, _, day = text.rpartition("|")
        return (master_id, date.fromisoformat(day)) if master_id else None
    except (ValueError, UnicodeDecodeError):
        return None


def series_zone(resource: Mapping[str, Any]) -> tzinfo:
    """The zone pattern dates are counted in: ``range.recurrenceTimeZone``, else the master's start zone."""
    recurrence = resource.get("recurrence") or {}
    name = (recurrence.get("range") or {}).get("recurrenceTimeZone") or (resource.get("start") or {}).get(
        "timeZone"
    )
    return zone_of(str(name) if name else None)


def occurrence_times(
    resource: Mapping[str, Any], day: date, master_start: datetime, master_end: datetime
) -> tuple[datetime, datetime]:
    """Start and end of the occurrence on ``day``: the master's time of day in the series zone."""
    zone = series_zone(resource)
    local = master_start.astimezone(zone)
    start = datetime.combine(day, local.timetz().replace(tzinfo=None), zone)
    return start, start + (master_end - master_start)
