"""Event times: Graph's ``dateTimeTimeZone`` read as UTC instants, and the time window of a calendarView,
instances or events delta request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wizard.sandbox.graph.protocol import GraphError, Request

# -- time windows (calendarView) --------------------------------------------------------------------


def graph_time(value: Any) -> datetime | None:
    """A dateTimeTimeZone as an aware datetime (UTC or an IANA zone; unknown zones count as UTC)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])[:26].rstrip("Z")
    try:
        naive = datetime.fromisoformat(text[:19])
    except ValueError:
        return None
    zone_name = str(value.get("timeZone") or "UTC")
    try:
        zone: Any = UTC if zone_name.upper() in ("UTC", "Z") else ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return naive.replace(tzinfo=zone)


def as_utc_value(value: Any) -> Any:
    moment = graph_time(value)
    if moment is None:
        return value
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


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
