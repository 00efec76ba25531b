"""Plain values from Graph JSON: timestamps, dateTimeTimeZone both ways (zone names Windows or IANA, mapped with
CLDR's windowsZones as ``tzlocal`` ships it), (name, address) pairs, change keys."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

log = logging.getLogger(__name__)


def parse_dt(text: Any) -> datetime | None:
    if not text:
        return None
    value = str(text).replace("Z", "+00:00")
    if "." in value:  # Graph sends up to 7 fractional digits; Python reads 6
        head, _, tail = value.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        value = f"{head}.{digits[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def zone_named(name: str | None) -> tzinfo | None:
    """The zone a Graph ``timeZone`` names: ``UTC``, an IANA name or a Windows name ("W. Europe Standard Time",
    what Outlook writes and Graph's dateTimeTimeZone lists first); None for a name neither list has."""
    text = (name or "").strip()
    if not text or text.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(win_tz.get(text) or text)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def windows_name(iana: str) -> str:
    """The Windows name of an IANA zone (``Europe/Berlin`` -> ``W. Europe Standard Time``), else the name itself."""
    return tz_win.get(iana, iana)


def from_dtz(value: Any) -> datetime | None:
    """A Graph dateTimeTimeZone as an aware datetime (we ask for UTC; a Windows or IANA zone is read as such)."""
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    moment = parse_dt(str(value["dateTime"]).rstrip("Z"))
    if moment is None:
        return None
    zone_name = str(value.get("timeZone") or "UTC")
    zone = zone_named(zone_name)
    if zone is None:
        log.warning("unknown time zone %r in a Graph answer; read as UTC", zone_name)
        return moment
    return moment.replace(tzinfo=zone)


def to_dtz(moment: datetime, zone_name: str | None = None) -> dict[str, str]:
    """A dateTimeTimeZone: UTC, or the wall-clock time in ``zone_name`` (IANA or Windows), sent under its Windows
    name (``Europe/Berlin`` goes out as ``W. Europe Standard Time``).

    A series' start must be written in the mailbox's zone: Exchange repeats the *wall-clock* time of the start
    in its zone, so a series written in UTC would move by an hour in local time across a DST change.
    """
    zone = zone_named(zone_name) if zone_name else UTC
    if zone is not None and zone is not UTC and zone_name:
        local = moment.astimezone(zone)
        return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": windows_name(zone_name)}
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def date_dtz(day: date) -> dict[str, str]:
    return {"dateTime": f"{day.isoformat()}T00:00:00.0000000", "timeZone": "UTC"}


def name_and_address(value: Any) -> tuple[str, str] | None:
    email = (value or {}).get("emailAddress") if isinstance(value, Mapping) else None
    if not isinstance(email, Mapping) or not email.get("address"):
        return None
    address = str(email["address"])
    name = str(email.get("name") or "")
    return (name if name != address else "", address)


def change_key_of(r: Mapping[str, Any]) -> str | None:
    if r.get("changeKey"):
        return str(r["changeKey"])
    etag = str(r.get("@odata.etag") or "")
    if etag.startswith('W/"') and etag.endswith('"'):
        return etag[3:-1]
    return etag or None


def location_of(resource: Mapping[str, Any]) -> str:
    location = resource.get("location")
    return str(location.get("displayName") or "") if isinstance(location, Mapping) else ""


def if_match(change_key: str | None) -> dict[str, str]:
    return {"If-Match": f'W/"{change_key}"'} if change_key else {}
