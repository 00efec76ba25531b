"""Time-zone arithmetic shared by the field mappings.

Dataverse returns and accepts date-times in UTC ("2026-11-25T10:00:00Z"); mailbox items carry wall-clock
times in the mailbox's zone. Every conversion goes through :mod:`zoneinfo` so daylight-saving switches
are handled by the tz database, never by fixed offsets. All-day values are snapped to the *nearest*
local midnight so an all-day event written by a client in a slightly different zone (CRM user zone vs.
mailbox zone, or a backend that reports midnight UTC) never moves by a day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "from_utc_iso",
    "local_date",
    "local_date_nearest",
    "local_midnight",
    "local_zone_name",
    "parse_date",
    "parse_datetime",
    "to_local",
    "to_utc_iso",
    "zone",
]


def local_zone_name() -> str:
    """The computer's IANA zone (exchangelib's default for mailbox times), UTC when unknown."""
    try:
        import tzlocal

        return str(tzlocal.get_localzone_name() or "UTC")
    except Exception:
        return "UTC"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a clear ValueError for a name the tz database does not know."""
    if not name:
        raise ValueError("no time zone given for the mailbox (expected an IANA name like 'Europe/Berlin')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name like 'Europe/Berlin')") from exc


def parse_datetime(value: str | datetime | None, tz: str = "UTC") -> datetime | None:
    """An aware UTC datetime from an ISO string or datetime.

    Strings without an offset and naive datetimes are read as wall-clock time in ``tz`` (for CRM values
    ``tz`` is UTC, which is what the Web API means by an offset-less value).
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    elif isinstance(value, datetime):
        parsed = value
    else:  # a plain date: midnight in tz
        parsed = datetime.combine(value, time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(tz))
    return parsed.astimezone(UTC)


def to_utc_iso(value: str | datetime | None, tz: str = "UTC") -> str | None:
    """Canonical form: ``YYYY-MM-DDTHH:MM:SSZ`` (seconds precision), None stays None."""
    parsed = parse_datetime(value, tz)
    if parsed is None:
        return None
    return parsed.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_utc_iso(value: str | datetime | None, tz: str) -> datetime | None:
    """An aware datetime in ``tz`` for a canonical UTC value (what a mailbox item carries)."""
    parsed = parse_datetime(value)
    return None if parsed is None else parsed.astimezone(zone(tz))


def to_local(value: datetime, tz: str) -> datetime:
    """``value`` (naive = already wall-clock in ``tz``) as an aware datetime in ``tz``."""
    if value.tzinfo is None:
        return value.replace(tzinfo=zone(tz))
    return value.astimezone(zone(tz))


def local_date(value: str | datetime, tz: str) -> date:
    """The calendar date of an instant as seen in ``tz``."""
    parsed = parse_datetime(value)
    assert parsed is not None
    return parsed.astimezone(zone(tz)).date()


def local_date_nearest(value: str | datetime, tz: str) -> date:
    """The date of the local midnight nearest to ``value`` in ``tz`` (all-day values; tolerant of ±12 h)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        local = value
    else:
        parsed = parse_datetime(value)
        assert parsed is not None
        local = parsed.astimezone(zone(tz)).replace(tzinfo=None)
    return (local + timedelta(hours=12)).date()


def local_midnight(day: date, tz: str) -> datetime:
    """00:00 of ``day`` in ``tz`` as an aware datetime (normalized through UTC across DST gaps)."""
    aware = datetime.combine(day, time(), tzinfo=zone(tz))
    return aware.astimezone(UTC).astimezone(zone(tz))


def parse_date(value: str | date | datetime | None, tz: str) -> date | None:
    """A date-only value: ``YYYY-MM-DD`` as is; a date-time (a UserLocal column) as its local date in ``tz``.

    Birthdays and recurrence range dates are calendar dates; they must never move with a time zone, so a
    plain date is returned untouched and only a full timestamp is interpreted (nearest local midnight).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return local_date_nearest(value, tz)
    if isinstance(value, date):
        return value
    text = value.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return local_date_nearest(text, tz)
