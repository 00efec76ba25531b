"""Recurring masters in the EWS stand-in: expansion, occurrence ids, exceptions and deleted occurrences.

Exchange keeps one item per series (the RecurringMaster); occurrences are computed, and a changed occurrence
(an exception) lives inside the master. The stand-in does the same: the master's stored element carries the
real ``ModifiedOccurrences`` / ``DeletedOccurrences`` children (echoed by GetItem) and, hidden from clients,
``SandboxExceptions`` with each exception's full element. ``FirstOccurrence`` / ``LastOccurrence`` are
computed when rendered. Occurrence ids are derived from the master id and the 1-based instance index
(deleted occurrences keep their index, as in Exchange), so an ``ItemId`` of an occurrence, an
``OccurrenceItemId`` (RecurringMasterId + InstanceIndex) and a ``RecurringMasterItemId`` all resolve.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import struct
from dataclasses import dataclass

from wizard.sandbox.ews._soap import Element, el, format_dt, local, parse_dt, set_child, sub, t
from wizard.sandbox.ews.instants import UnknownZone, windows_zone
from wizard.sandbox.recurrence import Pattern, dates

#: hidden container of exception elements inside a master (never rendered)
EXCEPTIONS = "SandboxExceptions"
#: children an occurrence does not inherit from its master
MASTER_ONLY = (
    "Recurrence",
    "ModifiedOccurrences",
    "DeletedOccurrences",
    "FirstOccurrence",
    "LastOccurrence",
    EXCEPTIONS,
    "ItemId",
    "ParentFolderId",
)
_OCC_PREFIX = b"SbxOcc\x00"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK_INDEX = ("First", "Second", "Third", "Fourth", "Last")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_SETS = {"Day": tuple(range(7)), "Weekday": (0, 1, 2, 3, 4), "WeekendDay": (5, 6)}
_RANGES = ("NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence")
#: EWS pattern elements -> the pattern kinds of :mod:`wizard.sandbox.recurrence`
_KINDS = {
    "DailyRecurrence": "daily",
    "WeeklyRecurrence": "weekly",
    "AbsoluteMonthlyRecurrence": "absoluteMonthly",
    "RelativeMonthlyRecurrence": "relativeMonthly",
    "AbsoluteYearlyRecurrence": "absoluteYearly",
    "RelativeYearlyRecurrence": "relativeYearly",
}


class SeriesError(Exception):
    """A reference to an occurrence that does not exist; ``code`` is the EWS ResponseCode."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


# -- ids ------------------------------------------------------------------------------------------------
def occurrence_id(master_id: str, index: int) -> str:
    return base64.b64encode(_OCC_PREFIX + master_id.encode("ascii") + struct.pack(">I", index)).decode()


def parse_occurrence_id(value: str) -> tuple[str, int] | None:
    """(master id, instance index) of an occurrence id, None for any other id."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    if not raw.startswith(_OCC_PREFIX) or len(raw) < len(_OCC_PREFIX) + 5:
        return None
    body = raw[len(_OCC_PREFIX) :]
    return body[:-4].decode("ascii", "replace"), int(struct.unpack(">I", body[-4:])[0])


# -- the pattern ----------------------------------------------------------------------------------------
def _int(elem: Element, name: str, default: int | None = None) -> int | None:
    text = elem.findtext(t(name))
    return int(text) if text and text.strip() else default


def _day_set(text: str | None) -> tuple[int, ...]:
    names = (text or "").split()
    out: set[int] = set()
    for name in names:
        if name in _DAY_SETS:
            out.update(_DAY_SETS[name])
        elif name in _WEEKDAYS:
            out.add(_WEEKDAYS.index(name))
    return tuple(sorted(out))


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    return dt.date.fromisoformat(text.strip()[:10])


def pattern_of(elem: Element) -> Pattern | None:
    """The master's ``<t:Recurrence>`` as a :class:`Pattern` (None for a single item or a task)."""
    rec = elem.find(t("Recurrence"))
    if rec is None:
        return None
    pattern = rng = None
    for node in rec:
        name = local(node.tag)
        if name in _RANGES:
            rng = node
        elif name.endswith("Recurrence"):
            pattern = node
    if pattern is None or rng is None:
        return None
    start = _date(rng.findtext(t("StartDate")))
    kind = _KINDS.get(local(pattern.tag))
    if start is None or kind is None:
        return None  # task regeneration patterns
    month_text = (pattern.findtext(t("Month")) or "").strip()
    index_text = (pattern.findtext(t("DayOfWeekIndex")) or "").strip()
    first = (pattern.findtext(t("FirstDayOfWeek")) or "Sunday").strip()
    return Pattern(
        kind,
        start,
        # the yearly patterns have no Interval: every year
        interval=(_int(pattern, "Interval", 1) or 1) if not kind.endswith("Yearly") else 1,
        days=_day_set(pattern.findtext(t("DaysOfWeek"))),
        day_of_month=_int(pattern, "DayOfMonth"),
        index=_WEEK_INDEX.index(index_text) if index_text in _WEEK_INDEX else 0,
        month=_MONTHS.index(month_text) + 1 if month_text in _MONTHS else None,
        first_day_of_week=_WEEKDAYS.index(first) if first in _WEEKDAYS else 6,
        end=_date(rng.findtext(t("EndDate"))) if local(rng.tag) == "EndDateRecurrence" else None,
        count=_int(rng, "NumberOfOccurrences") if local(rng.tag) == "NumberedRecurrence" else None,
    )


def _zone(elem: Element, start: dt.datetime) -> dt.tzinfo:
    """The zone the pattern's dates are in: StartTimeZone (a Windows id), else the Start's offset."""
    zone = elem.find(t("StartTimeZone"))
    name = zone.get("Id") if zone is not None else None
    if name:
        try:
            return windows_zone(name)
        except UnknownZone:
            pass  # refused when the item was written; an item stored before that check keeps its Start's zone
    return start.tzinfo or dt.UTC


# -- occurrences ----------------------------------------------------------------------------------------
@dataclass
class Occurrence:
    index: int  # 1-based InstanceIndex
    original_start: dt.datetime  # UTC
    start: dt.datetime
    end: dt.datetime
    deleted: bool = False
    exception: Element | None = None  # the stored exception element, if changed


def _exceptions(elem: Element) -> dict[str, Element]:
    holder = elem.find(t(EXCEPTIONS))
    if holder is None:
        return {}
    return {format_dt(parse_dt(x.findtext(t("OriginalStart"))) or dt.datetime.min): x for x in holder}


def _deleted(elem: Element) -> set[str]:
    holder = elem.find(t("DeletedOccurrences"))
    if holder is None:
        return set()
    return {format_dt(parse_dt(d.findtext(t("Start"))) or dt.datetime.min) for d in holder}


def occurrences(
    elem: Element, *, until: dt.datetime | None = None, limit: int | None = None
) -> list[Occurrence]:
    """The master's occurrences in order (deleted ones flagged), up to ``until`` / ``limit``."""
    pattern = pattern_of(elem)
    start = parse_dt(elem.findtext(t("Start")))
    end = parse_dt(elem.findtext(t("End"))) or start
    if pattern is None or start is None or end is None:
        return []
    tz = _zone(elem, start)
    local_start = start.astimezone(tz)
    duration = end - start
    last = until.astimezone(tz).date() if until is not None else None
    exceptions, deleted = _exceptions(elem), _deleted(elem)
    out = []
    for n, day in enumerate(dates(pattern, until=last, limit=limit), start=1):
        original = dt.datetime.combine(day, local_start.time(), tzinfo=tz).astimezone(dt.UTC)
        key = format_dt(original)
        exception = exceptions.get(key)
        occ_start, occ_end = original, original + duration
        if exception is not None:
            occ_start = parse_dt(exception.findtext(t("Start"))) or occ_start
            occ_end = parse_dt(exception.findtext(t("End"))) or occ_end
        out.append(Occurrence(n, original, occ_start, occ_end, key in deleted, exception))
    return out


def occurrence_at(elem: Element, index: int) -> Occurrence:
    """The occurrence with InstanceIndex ``index``; Exchange's errors for a wrong or deleted one."""
    if pattern_of(elem) is None:
        raise SeriesError("ErrorItemNotFound", "The specified object was not found in the store.")
    found = occurrences(elem, limit=index) if index >= 1 else []
    if len(found) < index or index < 1:
        raise SeriesError(
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
            "The occurrence index is out of the recurrence range.",
        )
    occ = found[index - 1]
    if occ.deleted:
        raise SeriesError(
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
            "Occurrence with this index was previously deleted from the recurrence.",
        )
    return occ


def occurrence_element(master: Element, master_id: str, changekey: str, occ: Occurrence) -> Element:
    """An occurrence as GetItem / CalendarView answer it (an Exception if it was changed)."""
    if occ.exception is not None:
        out = copy.deepcopy(occ.exception)
    else:
        out = el(t("CalendarItem"))
        for node in master:
            if local(node.tag) not in MASTER_ONLY:
                out.append(copy.deepcopy(node))
        set_child(out, "Start", format_dt(occ.start))
        set_child(out, "End", format_dt(occ.end))
    for old in out.findall(t("ItemId")):
        out.remove(old)
    out.insert(0, el(t("ItemId"), attrs={"Id": occurrence_id(master_id, occ.index), "ChangeKey": changekey}))
    parent = master.find(t("ParentFolderId"))
    if parent is not None:
        out.insert(1, copy.deepcopy(parent))
    set_child(out, "OriginalStart", format_dt(occ.original_start))
    set_child(out, "CalendarItemType", "Exception" if occ.exception is not None else "Occurrence")
    set_child(out, "IsRecurring", True)
    return out


def _occurrence_info(tag: str, master_id: str, changekey: str, occ: Occurrence) -> Element:
    info = el(t(tag))
    sub(info, "t:ItemId", attrs={"Id": occurrence_id(master_id, occ.index), "ChangeKey": changekey})
    sub(info, "t:Start", format_dt(occ.start))
    sub(info, "t:End", format_dt(occ.end))
    sub(info, "t:OriginalStart", format_dt(occ.original_start))
    return info


def first_last(master: Element, master_id: str, changekey: str) -> list[Element]:
    """FirstOccurrence, and LastOccurrence for a series that ends (computed on read, as Exchange does)."""
    pattern = pattern_of(master)
    if pattern is None:
        return []
    ended = pattern.ends
    alive = [o for o in occurrences(master, limit=None if ended else 1) if not o.deleted]
    if not alive:
        return []
    out = [_occurrence_info("FirstOccurrence", master_id, changekey, alive[0])]
    if ended:
        out.append(_occurrence_info("LastOccurrence", master_id, changekey, alive[-1]))
    return out


def _refresh_modified(master: Element, master_id: str, changekey: str) -> None:
    """Rebuild ``ModifiedOccurrences`` from the stored exceptions (ids, times, original starts)."""
    for old in master.findall(t("ModifiedOccurrences")):
        master.remove(old)
    changed = [o for o in occurrences(master) if o.exception is not None and not o.deleted]
    if changed:
        holder = sub(master, "t:ModifiedOccurrences")
        for occ in changed:
            holder.append(_occurrence_info("Occurrence", master_id, changekey, occ))


def store_exception(
    master: Element, master_id: str, changekey: str, occ: Occurrence, changed: Element
) -> None:
    """Keep ``changed`` (an occurrence element with the client's updates) as the occurrence's exception."""
    holder = master.find(t(EXCEPTIONS))
    if holder is None:
        holder = sub(master, f"t:{EXCEPTIONS}")
    key = format_dt(occ.original_start)
    for old in list(holder):
        if format_dt(parse_dt(old.findtext(t("OriginalStart"))) or dt.datetime.min) == key:
            holder.remove(old)
    kept = copy.deepcopy(changed)
    for name in ("ItemId", "ParentFolderId"):
        for old in kept.findall(t(name)):
            kept.remove(old)
    set_child(kept, "OriginalStart", key)
    holder.append(kept)
    _refresh_modified(master, master_id, changekey)


def delete_occurrence(master: Element, master_id: str, changekey: str, occ: Occurrence) -> None:
    """Add a DeletedOccurrence (its original start) and drop any exception of that occurrence."""
    key = format_dt(occ.original_start)
    holder = master.find(t(EXCEPTIONS))
    if holder is not None:
        for old in list(holder):
            if format_dt(parse_dt(old.findtext(t("OriginalStart"))) or dt.datetime.min) == key:
                holder.remove(old)
    deleted = master.find(t("DeletedOccurrences"))
    if deleted is None:
        deleted = sub(master, "t:DeletedOccurrences")
    sub(sub(deleted, "t:DeletedOccurrence"), "t:Start", key)
    _refresh_modified(master, master_id, changekey)


def reset_exceptions(master: Element) -> None:
    """A new pattern drops every exception and deleted occurrence (Exchange does the same)."""
    for name in ("ModifiedOccurrences", "DeletedOccurrences", EXCEPTIONS):
        for old in master.findall(t(name)):
            master.remove(old)


def refresh_ids(master: Element, master_id: str, changekey: str) -> None:
    """After the master got a new ChangeKey: the ModifiedOccurrences ids carry it too."""
    if master.find(t("ModifiedOccurrences")) is not None:
        _refresh_modified(master, master_id, changekey)
