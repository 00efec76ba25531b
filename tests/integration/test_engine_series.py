"""Recurring series end to end against the stand-ins: Dataverse recurringappointmentmasters <-> EWS masters.

Set up like :mod:`tests.integration.test_engine` (a sandbox per test, a profile configured through
``Factory``). Series start tomorrow so their occurrences are inside Dataverse's expansion window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from tests.integration.test_engine import Setup, _items, _ok, _totals
from wizard.mailbox.base import (
    TRACKED_CATEGORY,
    AppointmentItem,
    FolderKind,
    ModifiedOccurrence,
    Recurrence,
    RecurrencePattern,
)
from wizard.settings.enums import Kind
from wizard.sync import recurrence as rec
from wizard.sync import timezones as tzs
from wizard.sync.status import StatusSnapshot, status_lines, status_snapshot
from wizard.sync.timezones import local_zone_name

INSTANCE_SELECT = ["activityid", "subject", "scheduledstart", "originalstartdate", "instancetypecode"]


def _zone(setup: Setup) -> str:
    return getattr(getattr(setup.store, "settings", None), "timezone", None) or local_zone_name()


def _tomorrow_at(setup: Setup, hour: int) -> dt.datetime:
    tz = tzs.zone(_zone(setup))
    day = dt.datetime.now(tz).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz)


def _z(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quiet(setup: Setup) -> None:
    summary = setup.run()
    _ok(summary)
    assert _totals(summary) == dict.fromkeys(_totals(summary), 0), _totals(summary)


def _series_in_mailbox(setup: Setup) -> list[AppointmentItem]:
    return [a for a in _items(setup.store, FolderKind.CALENDAR, AppointmentItem) if a.recurrence is not None]


def _crm_series(setup: Setup, subject: str, canonical: dict[str, Any], *, attendee: str | None = None) -> str:
    start = _tomorrow_at(setup, 9)
    parties: list[dict[str, Any]] = [
        {"partyid_systemuser@odata.bind": f"/systemusers({setup.user_id})", "participationtypemask": 7}
    ]
    if attendee:
        parties.append({"addressused": attendee, "participationtypemask": 5})
    body = {
        "subject": subject,
        "location": "Room 1",
        "starttime": _z(start),
        "endtime": _z(start + dt.timedelta(minutes=30)),
        "recurringappointmentmaster_activity_parties": parties,
        **rec.to_crm({"start_date": start.date().isoformat(), **canonical}, _zone(setup), creating=True),
    }
    return setup.client.create("recurringappointmentmasters", body)


def _instances(setup: Setup, master_id: str) -> list[dict[str, Any]]:
    rows = setup.client.query(
        "appointments",
        select=INSTANCE_SELECT,
        filter=f"_seriesid_value eq {master_id}",
        orderby="originalstartdate",
    )
    return list(rows)


PATTERNS: dict[str, dict[str, Any]] = {
    "daily-count": {"pattern": "daily", "interval": 1, "occurrences": 5},
    "weekly-date": {"pattern": "weekly", "weekdays": [0, 2, 4], "end_date": "+20"},
    "monthly-never": {"pattern": "absolute_monthly", "day_of_month": 0},
    "yearly-count": {"pattern": "absolute_yearly", "day_of_month": 0, "month": 0, "occurrences": 3},
}


def _canonical(setup: Setup, name: str) -> dict[str, Any]:
    start = _tomorrow_at(setup, 9).date()
    out = dict(PATTERNS[name])
    if out.get("end_date") == "+20":
        out["end_date"] = (start + dt.timedelta(days=20)).isoformat()
    if out.get("day_of_month") == 0:
        out["day_of_month"] = start.day
    if out.get("month") == 0:
        out["month"] = start.month
    return out


@pytest.mark.parametrize("name", list(PATTERNS))
def test_a_series_made_in_dynamics_appears_in_the_mailbox_without_invitations(
    setup: Setup, name: str
) -> None:
    other = setup.sandbox.port_info()["users"][1]["primary_email"]
    master_id = _crm_series(setup, f"Series {name}", _canonical(setup, name), attendee=other)
    _ok(setup.run())
    (item,) = _series_in_mailbox(setup)
    assert item.subject == f"Series {name}" and item.props.crmid == master_id
    canonical = rec.normalize(
        {"start_date": _tomorrow_at(setup, 9).date().isoformat(), **_canonical(setup, name)}
    )
    assert rec.from_mailbox(item.recurrence) == canonical
    assert item.start == _tomorrow_at(setup, 9)
    assert [a for _n, a in item.required_attendees] == [other]
    assert setup.sandbox.ews.operations.invitations_sent == 0  # SendToNone, always
    assert setup.sandbox.ews.store.list_items(other, "inbox") == []
    _quiet(setup)


@pytest.mark.parametrize("name", ["weekly-date", "yearly-count"])
def test_a_tracked_series_goes_to_dynamics_with_its_exceptions(setup: Setup, name: str) -> None:
    start = _tomorrow_at(setup, 10)
    pattern = rec.to_mailbox({"start_date": start.date().isoformat(), **_canonical(setup, name)})
    dates = pattern.dates(limit=3)
    moved = dt.datetime.combine(dates[1], dt.time(15), start.tzinfo)
    extra: dict[str, Any] = {}
    if len(dates) == 3 and dates[2] - dates[0] < dt.timedelta(days=100):  # inside the expansion window
        extra = {
            "deleted_occurrences": (dates[2],),
            "modified_occurrences": (
                ModifiedOccurrence(dates[1], moved, moved + dt.timedelta(hours=1), "Moved", None),
            ),
        }
    item = AppointmentItem(
        id="",
        subject="Planning",
        start=start,
        end=start + dt.timedelta(minutes=45),
        recurrence=replace(pattern, **extra),
        categories=[TRACKED_CATEGORY],
    )
    assert setup.store.create_many(FolderKind.CALENDAR, [item])[0].ok
    _ok(setup.run())
    (master,) = setup.client.query(
        "recurringappointmentmasters",
        select=["activityid", "subject", "recurrencepatterntype", "patternendtype"],
    )
    assert master["subject"] == "Planning"
    assert not list(setup.client.query("appointments", select=["activityid"], filter="instancetypecode eq 0"))
    (mine,) = _series_in_mailbox(setup)
    assert mine.props.crmid == master["activityid"]
    if extra:
        rows = _instances(setup, master["activityid"])
        by_date = {tzs.local_date(r["originalstartdate"], _zone(setup)): r for r in rows}
        assert dates[2] not in by_date  # deleted
        assert by_date[dates[1]]["instancetypecode"] == 3 and by_date[dates[1]]["subject"] == "Moved"
        assert by_date[dates[1]]["scheduledstart"] == _z(moved)
    _quiet(setup)


def test_occurrence_changes_in_dynamics_reach_the_mailbox(setup: Setup) -> None:
    master_id = _crm_series(setup, "Stand-up", _canonical(setup, "daily-count"))
    _ok(setup.run())
    first, second, third, *_ = _instances(setup, master_id)
    moved = _tomorrow_at(setup, 14) + dt.timedelta(days=1)
    setup.client.update(
        "appointments",
        second["activityid"],
        {
            "subject": "Stand-up (late)",
            "scheduledstart": _z(moved),
            "scheduledend": _z(moved + dt.timedelta(hours=1)),
        },
    )
    setup.client.delete("appointments", third["activityid"])
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["updated"] == 1
    (item,) = _series_in_mailbox(setup)
    assert item.recurrence is not None
    day = _tomorrow_at(setup, 9).date()
    assert item.recurrence.deleted_occurrences == (day + dt.timedelta(days=2),)
    (changed,) = item.recurrence.modified_occurrences
    assert (changed.original, changed.subject, changed.start) == (
        day + dt.timedelta(days=1),
        "Stand-up (late)",
        moved,
    )
    assert setup.sandbox.ews.operations.invitations_sent == 0
    _quiet(setup)
    del first


def test_occurrence_changes_in_the_mailbox_reach_dynamics(setup: Setup) -> None:
    master_id = _crm_series(setup, "Stand-up", _canonical(setup, "daily-count"))
    _ok(setup.run())
    (item,) = _series_in_mailbox(setup)
    assert item.recurrence is not None
    day = _tomorrow_at(setup, 9).date()
    moved = _tomorrow_at(setup, 16) + dt.timedelta(days=3)
    item.recurrence = replace(
        item.recurrence,
        deleted_occurrences=(day,),
        modified_occurrences=(
            ModifiedOccurrence(
                day + dt.timedelta(days=3), moved, moved + dt.timedelta(minutes=30), None, "Cafe"
            ),
        ),
    )
    assert setup.store.update_many(FolderKind.CALENDAR, [item])[0].ok
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["updated"] == 1
    rows = {tzs.local_date(r["originalstartdate"], _zone(setup)): r for r in _instances(setup, master_id)}
    assert day not in rows
    assert rows[day + dt.timedelta(days=3)]["instancetypecode"] == 3
    assert rows[day + dt.timedelta(days=3)]["scheduledstart"] == _z(moved)
    master = setup.client.get("recurringappointmentmasters", master_id, select=["deletedexceptionslist"])
    assert master["deletedexceptionslist"]
    _quiet(setup)
    # a restored occurrence: the pattern goes again and the exception that is still wanted is re-applied
    (item,) = _series_in_mailbox(setup)
    assert item.recurrence is not None
    item.recurrence = replace(item.recurrence, deleted_occurrences=())
    assert setup.store.update_many(FolderKind.CALENDAR, [item])[0].ok
    _ok(setup.run())
    rows = {tzs.local_date(r["originalstartdate"], _zone(setup)): r for r in _instances(setup, master_id)}
    assert day in rows and rows[day + dt.timedelta(days=3)]["instancetypecode"] == 3
    _quiet(setup)


def test_deleting_a_series_on_either_side(setup: Setup) -> None:
    kept = _crm_series(setup, "Kept", _canonical(setup, "daily-count"))
    dropped = _crm_series(setup, "Dropped in Dynamics", _canonical(setup, "weekly-date"))
    _ok(setup.run())
    assert {s.subject for s in _series_in_mailbox(setup)} == {"Kept", "Dropped in Dynamics"}
    setup.client.delete("recurringappointmentmasters", dropped)
    summary = setup.run()
    _ok(summary)
    assert [s.subject for s in _series_in_mailbox(setup)] == ["Kept"]
    (item,) = _series_in_mailbox(setup)
    assert setup.store.delete_many(FolderKind.CALENDAR, [item.id])[0].ok
    _ok(setup.run())
    assert not list(setup.client.query("recurringappointmentmasters", select=["activityid"]))
    assert _instances(setup, kept) == []
    _quiet(setup)


def _tracked_review(setup: Setup, recurrence: Recurrence | None = None) -> dt.datetime:
    """A "Review" tomorrow at 11 in the mailbox, tracked, synchronized once; returns its start."""
    start = _tomorrow_at(setup, 11)
    made = setup.store.create_many(
        FolderKind.CALENDAR,
        [
            AppointmentItem(
                id="",
                subject="Review",
                start=start,
                end=start + dt.timedelta(hours=1),
                categories=[TRACKED_CATEGORY],
                recurrence=recurrence,
            )
        ],
    )
    assert made[0].ok
    _ok(setup.run())
    return start


def test_an_appointment_that_becomes_a_series_and_back_keeps_its_id(setup: Setup) -> None:
    start = _tracked_review(setup)
    (row,) = setup.client.query("appointments", select=["activityid"])
    (item,) = _items(setup.store, FolderKind.CALENDAR, AppointmentItem)
    item.recurrence = Recurrence(RecurrencePattern.DAILY, start.date(), occurrences=3)
    assert setup.store.update_many(FolderKind.CALENDAR, [item])[0].ok
    _ok(setup.run())
    (master,) = setup.client.query("recurringappointmentmasters", select=["activityid", "subject"])
    assert master["activityid"] == row["activityid"] and master["subject"] == "Review"
    assert len(_instances(setup, master["activityid"])) == 3
    _quiet(setup)
    (item,) = _items(setup.store, FolderKind.CALENDAR, AppointmentItem)
    item.recurrence = None
    assert setup.store.update_many(FolderKind.CALENDAR, [item])[0].ok
    _ok(setup.run())
    assert not list(setup.client.query("recurringappointmentmasters", select=["activityid"]))
    (single,) = setup.client.query("appointments", select=["activityid", "subject"])
    assert single["activityid"] == row["activityid"]
    _quiet(setup)


def test_a_series_relinks_after_the_state_db_is_lost(setup: Setup) -> None:
    _crm_series(setup, "Weekly", _canonical(setup, "weekly-date"))
    _ok(setup.run())
    setup.lose_state()
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["created"] == 0
    assert len(_series_in_mailbox(setup)) == 1
    assert len(list(setup.client.query("recurringappointmentmasters", select=["activityid"]))) == 1
    with setup.state() as state:
        assert state.count_links(Kind.APPOINTMENTS) == 1


class _Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the engine catches it."""


@pytest.mark.parametrize("back", [False, True], ids=["to-series", "to-single"])
def test_a_crash_between_the_delete_and_the_create_of_a_conversion_loses_nothing(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, back: bool
) -> None:
    """Turning an appointment into a series (or back) deletes the row and creates it in the other table under
    the same id. Killed between the two, the next run must put the row back, not read it as deleted in
    Dynamics 365 and delete the mailbox's copy."""
    from wizard.crm.client import DataverseClient

    tomorrow = _tomorrow_at(setup, 11).date()
    start = _tracked_review(
        setup, Recurrence(RecurrencePattern.DAILY, tomorrow, occurrences=3) if back else None
    )
    old_set, new_set = (
        ("recurringappointmentmasters", "appointments")
        if back
        else ("appointments", "recurringappointmentmasters")
    )
    (row,) = setup.client.query(old_set, select=["activityid"])
    (item,) = _items(setup.store, FolderKind.CALENDAR, AppointmentItem)
    item.recurrence = None if back else Recurrence(RecurrencePattern.DAILY, start.date(), occurrences=3)
    item.subject = "Review (moved)"
    assert setup.store.update_many(FolderKind.CALENDAR, [item])[0].ok

    real_create = DataverseClient.create

    def dying_create(self: DataverseClient, entity_set: str, *args: Any, **kwargs: Any) -> Any:
        if entity_set == new_set:
            raise _Killed
        return real_create(self, entity_set, *args, **kwargs)

    monkeypatch.setattr(DataverseClient, "create", dying_create)
    with pytest.raises(_Killed):
        setup.run()
    assert not list(setup.client.query(old_set, select=["activityid"]))  # deleted, not yet created anew
    monkeypatch.setattr(DataverseClient, "create", real_create)
    if not back:  # Dynamics 365 unreachable for the repair: appointments wait, nothing is deleted
        from wizard.odata.errors import ServerError

        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise ServerError("503 Service Unavailable")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("wizard.sync.records.appointment_series.finish_conversion", unavailable)
            summary = setup.run()
        (result,) = [k for k in summary.kinds if k.kind == "appointments"]
        assert result.status == "error" and "not synchronized" in (result.message or "")
        assert [a.id for a in _items(setup.store, FolderKind.CALENDAR, AppointmentItem)] == [item.id]
    _ok(setup.run())
    (again,) = setup.client.query(new_set, select=["activityid", "subject"])
    assert again["activityid"] == row["activityid"] and again["subject"] == "Review (moved)"
    (kept,) = _items(setup.store, FolderKind.CALENDAR, AppointmentItem)
    assert kept.id == item.id and kept.subject == "Review (moved)"
    assert (kept.recurrence is None) == back
    if not back:
        assert len(_instances(setup, again["activityid"])) == 3
    _quiet(setup)
    with setup.state() as state:
        assert state.count_links(Kind.APPOINTMENTS) == 1 and not state.pending_creates()


def _status(setup: Setup) -> StatusSnapshot:
    with setup.state() as state:
        return status_snapshot(state, setup.factory.profile, is_sync_computer=True, next_run=None)


def _far_dates(setup: Setup, start: dt.datetime) -> tuple[dt.date, dt.date, dt.date]:
    """Of a weekly series from ``start``: one date inside the stand-in's expansion window (4 months) and two
    beyond it."""
    dates = rec.to_mailbox({"start_date": start.date().isoformat(), **_weekly(start)}).dates(limit=40)
    near = dates[2]
    far = [d for d in dates if d - start.date() > dt.timedelta(days=150)]
    return near, far[0], far[1]


def _weekly(start: dt.datetime) -> dict[str, Any]:
    return {"pattern": "weekly", "weekdays": [start.weekday()], "end_date": None}


@pytest.mark.parametrize("how", ["created", "edited", "converted"])
def test_exceptions_beyond_the_expansion_window_wait_for_their_occurrences(setup: Setup, how: str) -> None:
    """Dataverse has instances only inside the organization's expansion window (Dynamics 365 for Outlook
    synchronized nothing beyond it either). A mailbox exception on a later date is no error: it waits, is not
    taken back from the mailbox, costs no request while it waits, and is written once Dataverse's expansion
    job has made its occurrence."""
    start = _tomorrow_at(setup, 10)
    near, far_moved, far_deleted = _far_dates(setup, start)
    weekly = rec.to_mailbox({"start_date": start.date().isoformat(), **_weekly(start)})
    moved = dt.datetime.combine(far_moved, dt.time(15), start.tzinfo)
    near_moved = dt.datetime.combine(near, dt.time(8), start.tzinfo)
    exceptions = replace(
        weekly,
        deleted_occurrences=(far_deleted,),
        modified_occurrences=(
            ModifiedOccurrence(near, near_moved, near_moved + dt.timedelta(hours=1), "Early", None),
            ModifiedOccurrence(far_moved, moved, moved + dt.timedelta(hours=1), "Late", "Annex"),
        ),
    )
    if how == "created":
        made = AppointmentItem(
            id="",
            subject="Planning",
            start=start,
            end=start + dt.timedelta(hours=1),
            recurrence=exceptions,
            categories=[TRACKED_CATEGORY],
        )
        assert setup.store.create_many(FolderKind.CALENDAR, [made])[0].ok
    else:
        _tracked_review(setup, weekly if how == "edited" else None)
        (item,) = _items(setup.store, FolderKind.CALENDAR, AppointmentItem)
        item.recurrence = replace(exceptions, start_date=item.start.date())
        if how == "converted":  # a single appointment tomorrow at 11 that becomes the weekly series
            item.recurrence = replace(exceptions, start_date=start.date())
        assert setup.store.update_many(FolderKind.CALENDAR, [item])[0].ok
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["errors"] == 0
    (master,) = setup.client.query("recurringappointmentmasters", select=["activityid"])
    master_id = master["activityid"]
    by_date = {tzs.local_date(r["originalstartdate"], _zone(setup)): r for r in _instances(setup, master_id)}
    assert by_date[near]["instancetypecode"] == 3 and by_date[near]["subject"] == "Early"
    assert far_moved not in by_date and far_deleted not in by_date  # beyond the window: no instances yet
    with setup.state() as state:
        link = state.link_by_crm(Kind.APPOINTMENTS, master_id)
    assert link is not None and link.base is not None
    assert link.base["@waiting"] == sorted([far_moved.isoformat(), far_deleted.isoformat()])
    assert _status(setup).kind("appointments").waiting == 2
    assert any("2 changed or deleted occurrence(s)" in line for line in status_lines(_status(setup)))
    _quiet(setup)  # waiting is not a change: nothing is sent, and the mailbox keeps its exceptions
    (item,) = _series_in_mailbox(setup)
    assert item.recurrence is not None
    assert item.recurrence.deleted_occurrences == (far_deleted,)
    assert {m.original for m in item.recurrence.modified_occurrences} == {near, far_moved}

    # An occurrence deleted in Dynamics 365 meanwhile: Dynamics' recurrence goes to the mailbox, which keeps
    # its own exceptions on the waiting dates (Dynamics 365 says nothing about those).
    dropped = next(d for d, r in by_date.items() if d > near and r["instancetypecode"] == 2)
    setup.client.delete("appointments", by_date[dropped]["activityid"])
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["updated"] == 1
    (item,) = _series_in_mailbox(setup)
    assert item.recurrence is not None
    assert item.recurrence.deleted_occurrences == (dropped, far_deleted)
    assert {m.original for m in item.recurrence.modified_occurrences} == {near, far_moved}
    _quiet(setup)

    # An occurrence deleted in Outlook inside the window goes at once; the far ones still wait (seed 155 of the
    # simulation: writing the near one forgot that the others waited, and they never arrived).
    also = next(d for d in sorted(by_date) if d > dropped and by_date[d]["instancetypecode"] == 2)
    item.recurrence = replace(item.recurrence, deleted_occurrences=(dropped, also, far_deleted))
    assert setup.store.update_many(FolderKind.CALENDAR, [item])[0].ok
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["updated"] == 1
    assert also not in {
        tzs.local_date(r["originalstartdate"], _zone(setup)) for r in _instances(setup, master_id)
    }
    with setup.state() as state:
        link = state.link_by_crm(Kind.APPOINTMENTS, master_id)
    assert link is not None and link.base is not None
    assert link.base["@waiting"] == sorted([far_moved.isoformat(), far_deleted.isoformat()])
    _quiet(setup)

    # Time passes (here: the administrator raises the window) and Dataverse's job makes the occurrences.
    env = setup.sandbox.environments[0]
    env.store.update("organizations", env.org.id, {"futureexpansionwindow": 12})
    assert env.run_expansion_job() > 0
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["updated"] == 1 and _totals(summary)["errors"] == 0
    by_date = {tzs.local_date(r["originalstartdate"], _zone(setup)): r for r in _instances(setup, master_id)}
    assert far_deleted not in by_date
    late = by_date[far_moved]
    assert (late["instancetypecode"], late["subject"], late["scheduledstart"]) == (3, "Late", _z(moved))
    (item,) = _series_in_mailbox(setup)
    assert item.recurrence is not None
    assert item.recurrence.deleted_occurrences == (dropped, also, far_deleted)
    assert {m.original for m in item.recurrence.modified_occurrences} == {near, far_moved}
    with setup.state() as state:
        link = state.link_by_crm(Kind.APPOINTMENTS, master_id)
    assert link is not None and link.base is not None and "@waiting" not in link.base
    assert _status(setup).kind("appointments").waiting == 0
    _quiet(setup)
