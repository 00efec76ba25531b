"""Event times: zone names (Windows names mapped to IANA with CLDR's windowsZones, as ``tzlocal`` ships it),
Graph's ``dateTimeTimeZone`` read as instants and rendered in the zone a client prefers
(``Prefer: outlook.timezone``, else UTC), and the time window of a calendarView, instances or delta request."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

from wizard.sandbox.graph.protocol import GraphError, Request

_UTC_NAMES = frozenset({"utc", "z", "etc/utc"})
_PREFER_ZONE = re.compile(r'outlook\.timezone\s*=\s*(?:"([^"]*)"|([^,;\s]+))', re.IGNORECASE)


def zone_named(name: str | None) -> tzinfo | None:
    """The zone a dateTimeTimeZone's ``timeZone`` names: ``UTC``, an IANA name, or a Windows name ("W. Europe
    Standard Time", through CLDR's windowsZones); None for a name neither list has."""
    text = (name or "").strip()
    if not text or text.lower() in _UTC_NAMES:
        return UTC
    iana = win_tz.get(text)
    try:
        return ZoneInfo(iana or text)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_or_utc(name: str | None) -> tzinfo:
    return zone_named(name) or UTC


def graph_time(value: Any) -> datetime | None:
    """A dateTimeTimeZone as an aware datetime (names were checked on write; an unknown one counts as UTC)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])[:26].rstrip("Z")
    try:
        naive = datetime.fromisoformat(text[:19])
    except ValueError:
        return None
    return naive.replace(tzinfo=zone_or_utc(str(value.get("timeZone") or "UTC")))


def check_zone(value: Any) -> None:
    """Refuse a dateTimeTimeZone whose zone is neither a Windows nor an IANA name."""
    zone = str(value.get("timeZone") or "") if isinstance(value, dict) else ""
    if isinstance(value, dict) and zone and zone_named(zone) is None:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{zone}'.",
        )


def preferred_zone(req: Request) -> tuple[str, tzinfo] | None:
    """``Prefer: outlook.timezone="<zone>"`` as (name as given, zone); None without it or for an unknown name."""
    match = _PREFER_ZONE.search(req.prefer)
    if match is None:
        return None
    name = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
    zone = zone_named(name)
    return (name, zone) if zone is not None else None


def render_time(value: Any, zone: tzinfo, name: str, *, all_day: bool = False) -> Any:
    """A stored dateTimeTimeZone as the service renders it in ``zone`` (called ``name``). An all-day event's
    dates are not converted: they stay in the zone the event was made in (as answers show the service doing)."""
    moment = graph_time(value)
    if moment is None:
        return value
    if all_day:
        return {
            "dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.0000000"),
            "timeZone": str(value.get("timeZone") or "UTC"),
        }
    return {"dateTime": moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": name}


def time_window(req: Request) -> tuple[datetime, datetime]:
    """``startDateTime`` and ``endDateTime`` of a calendar view, instances or events delta request (both required)."""
    if "startDateTime" not in req.query or "endDateTime" not in req.query:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )
    return (
        _parse_when(req.query["startDateTime"], "startDateTime"),
        _parse_when(req.query["endDateTime"], "endDateTime"),
    )


def _parse_when(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter", f"The value of '{name}' is not a valid date.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
