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


def _dates(master: Mapping[str, Any], tz: tzinfo, until: date) -> list[date]:
    """The series' pattern dates up to ``until`` (the shared mailbox model does the expansion)."""
    from wizard.sync import recurrence as rec

    zone_name = getattr(tz, "key", None) or "UTC"
    canon = rec.from_crm(master, zone_name if isinstance(tz, ZoneInfo) else "UTC")
    if canon is None:
        return []
    if not isinstance(tz, ZoneInfo):  # a fixed offset: read the range dates with it
        start = _parse(master.get("patternstartdate"))
        end = _parse(master.get("patternenddate"))
        canon["start_date"] = start.astimezone(tz).date().isoformat() if start else canon["start_date"]
        if end is not None and canon["end_date"] is not None:
            canon["end_date"] = end.astimezone(tz).date().isoformat()
    return rec.to_mailbox({**canon, "deleted": [], "modified": []}).dates(until=until)


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
