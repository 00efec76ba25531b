"""Date-times and time zones as Exchange handles them.

A client's ``xs:dateTime`` text is read in the zone the request gives it ("Time zones and EWS in Exchange",
table 2: an offset or ``Z`` wins; a value without one is read in StartTimeZone / EndTimeZone / MeetingTimeZone
for the calendar fields they cover, else in the SOAP header's TimeZoneContext, else as UTC), stored as one
canonical UTC instant, and rendered as Exchange answers: UTC with ``Z``, to the second, or to the millisecond
when the request's ``DateTimePrecision`` header says ``Milliseconds``. Task ``StartDate``/``DueDate`` are dates
held in a dateTime: the stand-in keeps the calendar date the client wrote and answers midnight of it in the
request's zone. Windows zone names map to IANA zones through CLDR's windowsZones table as tzlocal ships it
(``tzlocal.windows_tz``), never through the product's EWS client library.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from tzlocal.windows_tz import tz_win, win_tz

from wizard.sandbox.ews._soap import TNS, Element, local, t

#: item elements typed xs:dateTime in types.xsd (the ones a mailbox item or attachment can carry)
DATETIME_FIELDS = frozenset(
    {
        "AppointmentReplyTime",
        "AssignedTime",
        "Birthday",
        "CompleteDate",
        "DateTimeCreated",
        "DateTimeReceived",
        "DateTimeSent",
        "DateTimeStamp",
        "DueDate",
        "End",
        "LastModifiedTime",
        "OriginalStart",
        "PostedTime",
        "ProposedEnd",
        "ProposedStart",
        "RecurrenceId",
        "ReminderDueBy",
        "ReminderNextTime",
        "RetentionDate",
        "Start",
        "StartDate",
        "WeddingAnniversary",
    }
)
#: Task fields that are dates kept in a dateTime
TASK_DATES = frozenset({"StartDate", "DueDate"})
#: recurrence ranges: their StartDate/EndDate are xs:date, not instants
_RANGES = frozenset({"NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence"})
#: the calendar items whose own StartTimeZone/EndTimeZone/MeetingTimeZone read their naive values
_CALENDAR_TAGS = frozenset({"CalendarItem", "MeetingRequest", "MeetingCancellation", "MeetingResponse"})
_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


class UnknownZone(ValueError):
    """A time zone name that CLDR's windowsZones table does not know."""


class BadDateTime(ValueError):
    """dateTime text that is not an xs:dateTime."""


def windows_zone(name: str) -> dt.tzinfo:
    """The zone of a Windows time zone id ("W. Europe Standard Time", "UTC"), by CLDR's windowsZones."""
    iana = win_tz.get(name.strip())
    if iana is None:
        raise UnknownZone(f"The time zone '{name}' is not a Windows time zone id.")
    try:
        return zoneinfo.ZoneInfo(iana)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:  # tzdata without this zone
        raise UnknownZone(f"The time zone '{name}' ({iana}) is not available.") from exc


def windows_name(zone: dt.tzinfo) -> str | None:
    """The Windows id of an IANA zone (the other direction of the same CLDR table); None if it has none."""
    key = getattr(zone, "key", None)
    if key is None:
        return "UTC" if zone.utcoffset(None) == dt.timedelta(0) else None
    return tz_win.get(key)


@dataclass(frozen=True)
class TimeContext:
    """What the SOAP header says about date-times: TimeZoneContext's zone and DateTimePrecision."""

    zone: dt.tzinfo = dt.UTC
    zone_id: str | None = None  # the TimeZoneContext's Windows id, None without one
    milliseconds: bool = False

    @classmethod
    def from_header(cls, header: Element | None) -> TimeContext:
        """Raises :class:`UnknownZone` for a TimeZoneContext whose zone id is unknown."""
        if header is None:
            return cls()
        precision = (header.findtext(t("DateTimePrecision")) or "").strip()
        definition = header.find(f"{t('TimeZoneContext')}/{t('TimeZoneDefinition')}")
        zone_id = definition.get("Id") if definition is not None else None
        zone = windows_zone(zone_id) if zone_id else dt.UTC
        if definition is not None and not zone_id:
            raise UnknownZone("A TimeZoneDefinition without an Id is not supported by the sandbox.")
        return cls(zone=zone, zone_id=zone_id, milliseconds=precision == "Milliseconds")


_REQUEST: ContextVar[TimeContext] = ContextVar("ews_request_time", default=TimeContext())  # noqa: B039


@contextmanager
def request_time(context: TimeContext) -> Iterator[TimeContext]:
    """The time context of the request this thread is answering (read by :func:`normalize_item`)."""
    token = _REQUEST.set(context)
    try:
        yield context
    finally:
        _REQUEST.reset(token)


def current() -> TimeContext:
    return _REQUEST.get()


# -- instants ------------------------------------------------------------------------------------------------
def parse_instant(text: str, zone: dt.tzinfo = dt.UTC) -> dt.datetime:
    """An aware datetime from xs:dateTime text; a value without offset is wall-clock time in ``zone``."""
    value = text.strip()
    if not value or "T" not in value:
        raise BadDateTime(f"'{text}' is not a dateTime.")
    try:
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise BadDateTime(f"'{text}' is not a dateTime.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(dt.UTC)


def stored(value: dt.datetime) -> str:
    """The canonical stored form of an instant: UTC, milliseconds, ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def now() -> str:
    """The stored form of the present moment (the server's own timestamps)."""
    return stored(dt.datetime.now(dt.UTC))


def rendered(value: dt.datetime, *, milliseconds: bool = False) -> str:
    """As Exchange answers an instant: UTC with ``Z``, to the second unless milliseconds were asked for."""
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if milliseconds:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def _is_instant(node: Element) -> bool:
    if not isinstance(node.tag, str) or not node.tag.startswith("{" + TNS + "}"):
        return False
    name = local(node.tag)
    if name not in DATETIME_FIELDS or len(node):
        return False
    parent = node.getparent()
    parent_name = local(parent.tag) if parent is not None else ""
    if name == "StartDate" or name == "DueDate":
        return parent_name in ("Task", "Flag")
    return parent_name not in _RANGES


def _is_task_date(node: Element) -> bool:
    parent = node.getparent()
    return local(node.tag) in TASK_DATES and parent is not None and local(parent.tag) == "Task"


def _system_time_values(elem: Element) -> Iterator[Element]:
    for prop in elem.iter(t("ExtendedProperty")):
        uri = prop.find(t("ExtendedFieldURI"))
        if uri is not None and uri.get("PropertyType") == "SystemTime":
            yield from prop.iter(t("Value"))


def _zone_attr(elem: Element, name: str) -> dt.tzinfo | None:
    """The zone of an item's StartTimeZone/EndTimeZone (Id) or MeetingTimeZone (TimeZoneName)."""
    node = elem.find(t(name))
    if node is None:
        return None
    zone_name = node.get("TimeZoneName") if name == "MeetingTimeZone" else node.get("Id")
    if zone_name:
        return windows_zone(zone_name)
    offset = node.findtext(t("BaseOffset"))  # Exchange 2007's MeetingTimeZone without a name: a fixed bias
    if name == "MeetingTimeZone" and offset and (bias := _duration(offset)) is not None:
        return dt.timezone(-bias)
    raise UnknownZone(f"{name} names no time zone.")


def _duration(text: str) -> dt.timedelta | None:
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    sign, days, hours, minutes, seconds = match.groups()
    value = dt.timedelta(
        days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0)
    )
    return -value if sign else value


def item_zones(elem: Element, tag: str) -> dict[str, dt.tzinfo]:
    """The zones that read this item's naive Start/ReminderDueBy/End (and every field, for MeetingTimeZone).

    Raises :class:`UnknownZone` for a zone the CLDR table does not know."""
    if tag not in _CALENDAR_TAGS:
        return {}
    zones: dict[str, dt.tzinfo] = {}
    meeting = _zone_attr(elem, "MeetingTimeZone")
    start = _zone_attr(elem, "StartTimeZone")
    end = _zone_attr(elem, "EndTimeZone")
    if meeting is not None:
        zones["*"] = meeting
    if start is not None:
        zones["Start"] = zones["ReminderDueBy"] = start
    if end is not None:
        zones["End"] = end
    return zones


def normalize_item(elem: Element, tag: str, context: TimeContext | None = None) -> None:
    """Store every dateTime of an item as an instant (task dates as the date the client wrote).

    Raises :class:`UnknownZone` for a time zone that does not exist, :class:`BadDateTime` for bad text."""
    context = context or current()
    zones = item_zones(elem, tag)
    for node in elem.iter():
        if not _is_instant(node) or not (node.text or "").strip():
            continue
        text = node.text.strip()
        if _is_task_date(node):
            # a date in a dateTime: the calendar date as the client wrote it (stored as the bare date)
            if len(text) != 10:
                parse_instant(text)  # still a dateTime
            try:
                node.text = dt.date.fromisoformat(text[:10]).isoformat()
            except ValueError:
                raise BadDateTime(f"'{text}' is not a dateTime.") from None
            continue
        zone = zones.get(local(node.tag)) if node.getparent() is elem else None
        zone = zone or zones.get("*") or context.zone
        node.text = stored(parse_instant(text, zone))
    for value in _system_time_values(elem):
        if (value.text or "").strip():
            value.text = stored(parse_instant(value.text, context.zone))


def render_instants(root: Element, context: TimeContext) -> None:
    """Rewrite every dateTime below ``root`` as Exchange answers it for this request."""
    for node in root.iter():
        if not _is_instant(node) or not (node.text or "").strip():
            continue
        text = node.text.strip()
        if _is_task_date(node):
            node.text = _task_date(text, context)
            continue
        try:
            node.text = rendered(parse_instant(text), milliseconds=context.milliseconds)
        except BadDateTime:
            continue
    for value in _system_time_values(root):
        try:
            value.text = rendered(parse_instant(value.text or ""), milliseconds=context.milliseconds)
        except BadDateTime:
            continue


def _task_date(text: str, context: TimeContext) -> str:
    """Midnight of a task date in the request's zone, with that zone's offset (``Z`` for UTC)."""
    try:
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        return text
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=context.zone)
    offset = midnight.utcoffset() or dt.timedelta(0)
    if offset == dt.timedelta(0):
        return midnight.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    return midnight.isoformat(timespec="seconds")


def duration_text(start: dt.datetime, end: dt.datetime) -> str:
    """An xs:duration as Exchange writes a calendar item's Duration (``PT30M``, ``PT1H30M``, ``P1D``)."""
    total = int((end - start).total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P" + (f"{days}D" if days else "")
    clock = (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{seconds}S" if seconds else "")
    )
    if clock:
        text += "T" + clock
    return text if text != f"{sign}P" else "PT0S"
