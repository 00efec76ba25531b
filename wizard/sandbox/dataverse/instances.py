"""Recurring appointments in the Dataverse stand-in: the instances Dataverse makes of a master.

What the product relies on, done the way Dataverse does it:

- Creating a ``recurringappointmentmaster`` creates its instances as ``appointment`` rows with ``seriesid``,
  ``instancetypecode`` 2 (recurring instance) and ``originalstartdate``, with the master's subject,
  location, body, owner, state and parties, for the occurrences inside the expansion window: from the
  organization's ``pastexpansionwindow`` months before now to its ``futureexpansionwindow`` months after it
  (Dataverse's "partial expansion model"). Dataverse expands the rest later in an asynchronous job; the
  stand-in has no background jobs, so ``DataverseEnvironment.run_expansion_job`` runs it when a test says
  time has passed (or the window was raised).
- Updating a master's pattern or times (``PATTERN_COLUMNS``) drops every instance, exceptions included, and
  clears ``deletedexceptionslist``, then expands again (Dataverse regenerates the series the same way).
  Any other update (subject, location, body, state, parties) is copied to the instances that are not
  exceptions.
- Updating an instance's time, subject, location or body turns it into an exception (instancetypecode 3).
- Deleting an instance records its original start in the master's ``deletedexceptionslist`` (a
  comma-separated list of UTC ISO instants here; opaque in Dataverse). Deleting a master deletes its instances.

The pattern's calendar dates are in the owner's zone: the stand-in takes the zone whose midnight
``patternstartdate`` is (the IANA zone of the owner's ``timezonecode`` when that fits, else the fixed offset).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from wizard.sandbox.dataverse.store import LOOKUP_NAME, Store, iso
from wizard.sandbox.recurrence import Pattern, dates

#: the stand-in organization's expansion windows, in months (organization.pastexpansionwindow and
#: futureexpansionwindow; Dataverse allows 1-140 for the future one)
PAST_MONTHS = 1
FUTURE_MONTHS = 4
#: columns whose change regenerates the series
PATTERN_COLUMNS = frozenset(
    {
        "recurrencepatterntype",
        "interval",
        "daysofweekmask",
        "dayofmonth",
        "instance",
        "monthofyear",
        "firstdayofweek",
        "patternstartdate",
        "patternenddate",
        "patternendtype",
        "occurrences",
        "isnthmonthly",
        "isnthyearly",
        "isweekdaypattern",
        "starttime",
        "endtime",
        "duration",
        "isalldayevent",
    }
)
#: master columns an instance carries (kept in step on instances that are not exceptions)
COPIED = ("subject", "location", "description", "isalldayevent", "statecode", "statuscode", "prioritycode")
EXCEPTION_COLUMNS = frozenset({"scheduledstart", "scheduledend", "subject", "location", "description"})
#: Windows time zones of usersettings.timezonecode the demo users have
TIMEZONE_CODES = {110: "Europe/Berlin", 85: "Europe/London", 35: "America/New_York", 4: "America/Los_Angeles"}


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _zone(store: Store, master: Mapping[str, Any]) -> tzinfo:
    start = _parse(master.get("patternstartdate"))
    if start is None:
        return UTC
    settings = store.get("usersettingscollection", str(master.get("_ownerid_value") or "")) or {}
    name = TIMEZONE_CODES.get(int(settings.get("timezonecode") or -1))
    if name is not None:
        zone = ZoneInfo(name)
        if start.astimezone(zone).time() == time():
            return zone
    shift = timedelta(hours=start.hour, minutes=start.minute)
    offset = -shift if shift <= timedelta(hours=12) else timedelta(days=1) - shift
    return timezone(offset) if offset else UTC


def _local_date(value: Any, tz: tzinfo) -> date | None:
    parsed = _parse(value)
    return parsed.astimezone(tz).date() if parsed is not None else None


def _weekdays(mask: int) -> tuple[int, ...]:
    """``daysofweekmask`` (Sunday 0x01, Monday 0x02 .. Saturday 0x40) as 0 = Monday .. 6 = Sunday."""
    return tuple(sorted((bit + 6) % 7 for bit in range(7) if mask & (1 << bit)))


def pattern_of(master: Mapping[str, Any], tz: tzinfo) -> Pattern | None:
    """The master's pattern columns as a :class:`Pattern`, its range dates read in the owner's zone ``tz``.

    recurrencepatterntype 0 Daily, 1 Weekly, 2 Monthly, 3 Yearly; isnthmonthly / isnthyearly pick "the Nth
    day" (instance 1 First .. 4 Fourth, 5 Last); isweekdaypattern is "every weekday"; monthofyear 1..12;
    firstdayofweek 0 = Sunday; patternendtype 1 No End Date, 2 Occurrences, 3 Pattern End Date.
    """
    kind_code = master.get("recurrencepatterntype")
    start = _local_date(master.get("patternstartdate"), tz)
    if kind_code is None or start is None:
        return None
    kind_code = int(kind_code)
    days = _weekdays(int(master.get("daysofweekmask") or 0))
    interval = int(master.get("interval") or 1)
    if kind_code == 0:
        kind = "daily"
        if master.get("isweekdaypattern"):
            kind, days, interval = "weekly", (0, 1, 2, 3, 4), 1
    elif kind_code == 1:
        kind = "weekly"
        if master.get("isweekdaypattern") and not days:
            days = (0, 1, 2, 3, 4)
    elif kind_code in (2, 3):
        nth = master.get("isnthmonthly" if kind_code == 2 else "isnthyearly")
        relative = (
            bool(nth) if nth is not None else bool(master.get("instance") and not master.get("dayofmonth"))
        )
        kind = ("relative" if relative else "absolute") + ("Monthly" if kind_code == 2 else "Yearly")
    else:
        return None
    end_type = int(master.get("patternendtype") or 1)
    first = master.get("firstdayofweek")
    return Pattern(
        kind,
        start,
        interval=interval,
        days=days,
        day_of_month=int(master["dayofmonth"]) if master.get("dayofmonth") else None,
        index=int(master.get("instance") or 1) - 1,
        month=int(master["monthofyear"]) if master.get("monthofyear") else None,
        first_day_of_week=(int(first) + 6) % 7 if first is not None else 6,
        end=_local_date(master.get("patternenddate"), tz) if end_type == 3 else None,
        count=(int(master.get("occurrences") or 0) or None) if end_type == 2 else None,
    )


def _dates(master: Mapping[str, Any], tz: tzinfo, until: date) -> list[date]:
    """The series' pattern dates up to ``until``."""
    pattern = pattern_of(master, tz)
    return dates(pattern, until=until) if pattern is not None else []


def instances_of(store: Store, master_id: str) -> list[dict[str, Any]]:
    return [r for r in store.rows("appointments") if r.get("_seriesid_value") == master_id]


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole calendar months (the day clamped to the month's last)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def window(store: Store) -> tuple[datetime, datetime]:
    """The instants between which series have instances now: the organization's expansion windows."""
    orgs = store.rows("organizations")
    org = orgs[0] if orgs else {}
    past = int(org.get("pastexpansionwindow") or PAST_MONTHS)
    future = int(org.get("futureexpansionwindow") or FUTURE_MONTHS)
    now = store.clock()
    return add_months(now, -past), add_months(now, future)


def expand(store: Store, master_id: str, copy_parties: Callable[[str, str], None]) -> int:
    """Create the instances of the master inside the window (those already there, deleted ones and exceptions
    are left alone); returns how many it made."""
    master = store.get("recurringappointmentmasters", master_id)
    if master is None:
        return 0
    start, end = _parse(master.get("starttime")), _parse(master.get("endtime"))
    if start is None or end is None:
        return 0
    tz = _zone(store, master)
    first, last = window(store)
    made = 0
    deleted = set(deleted_list(master))
    have = {str(r.get("originalstartdate")) for r in instances_of(store, master_id)}
    local_start = start.astimezone(tz)
    for day in _dates(master, tz, (last.astimezone(tz)).date()):
        original = datetime.combine(day, local_start.time(), tzinfo=tz).astimezone(UTC)
        key = iso(original)
        if original < first or original > last or key in deleted or key in have:
            continue
        row: dict[str, Any] = {k: master.get(k) for k in COPIED if k in master}
        row.update(
            scheduledstart=key,
            scheduledend=iso(original + (end - start)),
            originalstartdate=key,
            instancetypecode=2,
            _seriesid_value=master_id,
            _ownerid_value=master.get("_ownerid_value"),
        )
        row["_seriesid_value" + LOOKUP_NAME] = "recurringappointmentmaster"
        row["_ownerid_value" + LOOKUP_NAME] = master.get("_ownerid_value" + LOOKUP_NAME) or "systemuser"
        instance_id = store.create("appointments", row)
        copy_parties(master_id, instance_id)
        made += 1
    return made


def deleted_list(master: Mapping[str, Any]) -> list[str]:
    return [p for p in str(master.get("deletedexceptionslist") or "").split(",") if p]


def after_master_update(
    store: Store,
    master_id: str,
    changed: Mapping[str, Any],
    parties_changed: bool,
    delete_instance: Callable[[str], None],
    copy_parties: Callable[[str, str], None],
) -> None:
    """A new pattern regenerates the series; other changes reach the instances that are not exceptions."""
    master = store.get("recurringappointmentmasters", master_id)
    if master is None:
        return
    if PATTERN_COLUMNS & set(changed):
        for row in instances_of(store, master_id):
            delete_instance(str(row["activityid"]))
        if master.get("deletedexceptionslist"):
            store.update("recurringappointmentmasters", master_id, {"deletedexceptionslist": None})
        expand(store, master_id, copy_parties)
        return
    copied = {k: changed[k] for k in COPIED if k in changed}
    for row in instances_of(store, master_id):
        if row.get("instancetypecode") != 2:
            continue
        if copied:
            store.update("appointments", str(row["activityid"]), copied)
        if parties_changed:
            copy_parties(master_id, str(row["activityid"]))


def after_instance_update(store: Store, instance: Mapping[str, Any], changed: Mapping[str, Any]) -> None:
    """Changing an occurrence's time or text makes it an exception."""
    if instance.get("instancetypecode") == 2 and EXCEPTION_COLUMNS & set(changed):
        store.update("appointments", str(instance["activityid"]), {"instancetypecode": 3})


def after_instance_delete(store: Store, instance: Mapping[str, Any]) -> None:
    """A deleted occurrence goes on the master's deletedexceptionslist."""
    master_id = instance.get("_seriesid_value")
    original = instance.get("originalstartdate")
    if not master_id or not original:
        return
    master = store.get("recurringappointmentmasters", str(master_id))
    if master is None:
        return
    entries = deleted_list(master)
    if original not in entries:
        entries.append(str(original))
        store.update(
            "recurringappointmentmasters", str(master_id), {"deletedexceptionslist": ",".join(entries)}
        )
