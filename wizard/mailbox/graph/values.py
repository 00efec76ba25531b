"""Plain values from Graph JSON: timestamps, dateTimeTimeZone both ways, (name, address) pairs, change keys."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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


def from_dtz(value: Any) -> datetime | None:
    """A Graph dateTimeTimeZone (we always ask for / write UTC) as an aware datetime."""
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    moment = parse_dt(str(value["dateTime"]).rstrip("Z"))
    if moment is None:
        return None
    zone_name = str(value.get("timeZone") or "UTC")
    if zone_name.upper() != "UTC":
        try:
            return moment.replace(tzinfo=ZoneInfo(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            return moment
    return moment


def to_dtz(moment: datetime, zone_name: str | None = None) -> dict[str, str]:
    """A dateTimeTimeZone: UTC, or the wall-clock time in ``zone_name`` (an IANA name Graph accepts).

    A series' start must be written in the mailbox's zone: Exchange repeats the *wall-clock* time of the start
    in its zone, so a series written in UTC would move by an hour in local time across a DST change.
    """
    if zone_name and zone_name.upper() != "UTC":
        try:
            local = moment.astimezone(ZoneInfo(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            local = None
        if local is not None:
            return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}
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
