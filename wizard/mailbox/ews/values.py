"""Plain Python values from exchangelib field values: texts, aware datetimes, dates, (name, address) pairs."""

from __future__ import annotations

import datetime as dt
from typing import Any


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def as_aware(value: Any) -> dt.datetime | None:
    """A plain aware datetime (EWSDateTime is a datetime subclass; keep the zone it carries)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        out = dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo or dt.UTC,
        )
        return out
    return None


def in_zone(value: Any, tz: Any) -> dt.datetime | None:
    aware = as_aware(value)
    return None if aware is None else as_aware(aware.astimezone(tz))


def as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return None


def name_and_address(mailbox: Any) -> tuple[str, str] | None:
    if mailbox is None:
        return None
    return (as_text(getattr(mailbox, "name", "")), as_text(getattr(mailbox, "email_address", "")))
