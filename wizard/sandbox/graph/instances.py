"""Recurring events in the Graph stand-in: expanding a master's ``patternedRecurrence`` into instances.

Graph (v1.0 event resource) shows a series as a ``seriesMaster`` event plus instances that are not stored
items of their own: ``occurrence`` (as the pattern makes it) and ``exception`` (an occurrence changed on
its own). A cancelled (deleted) occurrence is simply absent. Instances carry ``seriesMasterId`` and
``originalStart`` (the UTC start the pattern gave them). The stand-in keeps exceptions and cancellations
on the master entry, keyed by the occurrence's original date in the recurrence time zone, and derives the
instances from the pattern here. This is written from the Graph reference (recurrencePattern,
recurrenceRange, patternedRecurrence); the dates come from the stand-ins' own expansion
(:mod:`wizard.sandbox.recurrence`), not from the product's.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from wizard.sandbox.graph.times import zone_named, zone_or_utc
from wizard.sandbox.recurrence import MAX_OCCURRENCES, PATTERNS, Pattern, dates

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INDEXES = ("first", "second", "third", "fourth", "last")
#: the most instances the stand-in expands a series to (Exchange also caps its expansion)
MAX_INSTANCES = MAX_OCCURRENCES
OCCURRENCE_PREFIX = "AAMkOCC"


class PatternError(ValueError):
    """A recurrence the service would refuse (400 ``ErrorInvalidRecurrence``-like)."""


def validate(recurrence: Any) -> None:
    """Refuse what Graph refuses: an unknown pattern type, a missing start date, a bad range."""
    if recurrence is None:
        return
    if not isinstance(recurrence, Mapping):
        raise PatternError("recurrence must be an object")
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    kind = str(pattern.get("type") or "")
    if kind not in PATTERNS:
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
    if rng.get("recurrenceTimeZone") and zone_named(str(rng["recurrenceTimeZone"])) is None:
        raise PatternError(f"the recurrenceTimeZone {rng['recurrenceTimeZone']!r} is not supported")
    if rng.get("type") not in ("endDate", "numbered", "noEnd"):
        raise PatternError(f"unknown recurrence range type {rng.get('type')!r}")


def pattern_of(recurrence: Mapping[str, Any]) -> Pattern:
    """A validated ``patternedRecurrence`` as a :class:`Pattern` (recurrencePattern, recurrenceRange)."""
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    kind = str(rng.get("type") or "noEnd")
    index = str(pattern.get("index") or "first").lower()
    return Pattern(
        str(pattern.get("type")),
        date.fromisoformat(str(rng["startDate"])),
        interval=max(1, int(pattern.get("interval") or 1)),
        days=tuple(sorted({DAYS.index(str(d).lower()) for d in pattern.get("daysOfWeek") or []})),
        day_of_month=int(pattern["dayOfMonth"]) if pattern.get("dayOfMonth") else None,
        index=INDEXES.index(index) if index in INDEXES else 0,
        month=int(pattern["month"]) if pattern.get("month") else None,
        first_day_of_week=DAYS.index(str(pattern.get("firstDayOfWeek") or "sunday").lower()),
        end=date.fromisoformat(str(rng["endDate"])) if kind == "endDate" else None,
        count=int(rng.get("numberOfOccurrences") or 0) if kind == "numbered" else None,
    )


def pattern_dates(recurrence: Mapping[str, Any], *, until: date | None = None) -> list[date]:
    """The dates the pattern gives, cancelled ones included, in order (at most :data:`MAX_INSTANCES`)."""
    return dates(pattern_of(recurrence), until=until)


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
    return zone_or_utc(str(name) if name else None)


def occurrence_times(
    resource: Mapping[str, Any], day: date, master_start: datetime, master_end: datetime
) -> tuple[datetime, datetime]:
    """Start and end of the occurrence on ``day``: the master's time of day in the series zone."""
    zone = series_zone(resource)
    local = master_start.astimezone(zone)
    start = datetime.combine(day, local.timetz().replace(tzinfo=None), zone)
    return start, start + (master_end - master_start)
