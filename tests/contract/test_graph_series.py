"""GraphStore and recurring series against the Graph stand-in: deleted and modified occurrences both ways.

Mirrors tests/contract/test_ews_series.py, so a series reads the same from either backend; plus what is
Graph's own: instances found through ``/instances``, the request cost, and no invitation or cancellation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from tests.contract.mailbox_contract import drain, ok_values
from tests.contract.test_graph_contract import (  # noqa: F401  (fixtures)
    ANNA,
    directory,
    make_store,
    sandbox_tls,
    signer,
    standin,
)
from wizard.mailbox.base import (
    AppointmentItem,
    FolderKind,
    ModifiedOccurrence,
    Recurrence,
    RecurrencePattern,
    occurrence_plan,
)

BERLIN = ZoneInfo("Europe/Berlin")
START = dt.datetime(2027, 3, 1, 9, 0, tzinfo=BERLIN)  # a Monday


def _series(rec: Recurrence | None, **extra: object) -> AppointmentItem:
    return AppointmentItem(
        id="",
        subject="Jour fixe",
        location="Room 1",
        start=START,
        end=START + dt.timedelta(minutes=30),
        recurrence=rec,
        **extra,  # type: ignore[arg-type]
    )


def _moved(day: int, hour: int, subject: str | None = None) -> ModifiedOccurrence:
    start = dt.datetime(2027, 3, day, hour, 0, tzinfo=BERLIN)
    return ModifiedOccurrence(dt.date(2027, 3, day), start, start + dt.timedelta(hours=1), subject, None)


def test_the_plan_addresses_occurrences_by_original_date() -> None:
    rec = Recurrence(RecurrencePattern.WEEKLY, START.date(), weekdays=(0, 2), occurrences=6)
    wanted = replace(rec, deleted_occurrences=(dt.date(2027, 3, 8),), modified_occurrences=(_moved(10, 14),))
    plan = occurrence_plan(wanted, None)
    assert (plan.reset, plan.deletes, [m.original for m in plan.modifies]) == (
        False,
        [dt.date(2027, 3, 8)],
        [dt.date(2027, 3, 10)],
    )
    # the same exceptions on the server: nothing to do; one fewer deleted: the pattern again, then both
    same = occurrence_plan(wanted, wanted)
    assert (same.reset, same.deletes, same.modifies) == (False, [], [])
    restore = occurrence_plan(replace(wanted, deleted_occurrences=()), wanted)
    assert (
        restore.reset
        and restore.deletes == []
        and [m.original for m in restore.modifies] == [dt.date(2027, 3, 10)]
    )
    # a new pattern resets; a date the pattern never produces is left out, not sent
    assert occurrence_plan(replace(wanted, occurrences=5), wanted).reset
    odd = occurrence_plan(replace(rec, deleted_occurrences=(dt.date(2027, 3, 2),)), None)
    assert odd.deletes == [] and odd.skipped == [dt.date(2027, 3, 2)]


@pytest.mark.parametrize(
    "rec",
    [
        Recurrence(RecurrencePattern.DAILY, START.date(), occurrences=10),
        Recurrence(RecurrencePattern.WEEKLY, START.date(), weekdays=(0, 1, 2), end_date=dt.date(2027, 3, 31)),
        Recurrence(RecurrencePattern.ABSOLUTE_MONTHLY, START.date(), day_of_month=1),
    ],
    ids=["daily-count", "weekly-date", "monthly-never"],
)
def test_exceptions_round_trip_through_create_and_get(make_store, standin, rec: Recurrence) -> None:  # noqa: F811
    store = make_store()
    dates = rec.dates(limit=4)
    wanted = replace(
        rec,
        deleted_occurrences=(dates[1],),
        modified_occurrences=(
            ModifiedOccurrence(
                dates[2],
                dt.datetime.combine(dates[2], dt.time(15), BERLIN),
                dt.datetime.combine(dates[2], dt.time(16), BERLIN),
                "Special",
                None,
            ),
        ),
    )
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [_series(wanted)]))
    (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
    assert isinstance(read, AppointmentItem) and read.recurrence is not None
    assert read.recurrence.deleted_occurrences == (dates[1],)
    (modified,) = read.recurrence.modified_occurrences
    assert (modified.original, modified.subject, modified.location) == (dates[2], "Special", None)
    assert modified.start == dt.datetime.combine(dates[2], dt.time(15), BERLIN)
    assert read.recurrence == wanted  # the same value EWS reads for this series
    assert read.change_key == created.change_key  # the create's answer has the key after the occurrences
    assert standin.invitations == [] and standin.cancellations == []


def test_updates_add_restore_and_reset_exceptions(make_store, standin) -> None:  # noqa: F811
    store = make_store()
    rec = Recurrence(RecurrencePattern.DAILY, START.date(), occurrences=8)
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [_series(rec)]))
    assert isinstance(created, AppointmentItem)

    def update(recurrence: Recurrence | None, item: AppointmentItem) -> AppointmentItem:
        (done,) = ok_values(store.update_many(FolderKind.CALENDAR, [replace(item, recurrence=recurrence)]))
        (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [item.id]))
        assert isinstance(done, AppointmentItem) and isinstance(read, AppointmentItem)
        assert done.change_key == read.change_key
        return read

    step1 = replace(
        rec, deleted_occurrences=(dt.date(2027, 3, 3),), modified_occurrences=(_moved(5, 11, "Late"),)
    )
    read = update(step1, created)
    assert read.recurrence is not None
    assert read.recurrence.deleted_occurrences == step1.deleted_occurrences
    assert read.recurrence.modified_occurrences == step1.modified_occurrences
    # restore the deleted one and keep the change: the pattern is sent again and the change re-applied
    step2 = replace(step1, deleted_occurrences=())
    read = update(step2, read)
    assert read.recurrence is not None
    assert read.recurrence.deleted_occurrences == ()
    assert read.recurrence.modified_occurrences == step1.modified_occurrences
    # a subject change of the series alone keeps the exceptions without sending the pattern again
    read.subject = "Renamed"
    read = update(step2, read)
    assert read.subject == "Renamed" and read.recurrence is not None
    assert [m.subject for m in read.recurrence.modified_occurrences] == ["Late"]
    # a new pattern: exceptions that still fit are written again
    step3 = replace(step2, occurrences=6)
    read = update(step3, read)
    assert read.recurrence is not None and read.recurrence.occurrences == 6
    assert read.recurrence.modified_occurrences == step1.modified_occurrences
    # no pattern any more: a single appointment
    read = update(None, read)
    assert read.recurrence is None
    assert standin.invitations == [] and standin.cancellations == []


def test_exceptions_made_on_the_server_are_read_and_survive_an_unrelated_update(make_store, standin) -> None:  # noqa: F811
    """What Outlook on the web does (PATCH / DELETE an instance) reads back like ours; a later update of the
    series (the engine's, with the exceptions it read) leaves them in place."""
    store = make_store()
    rec = Recurrence(RecurrencePattern.WEEKLY, START.date(), weekdays=(0, 2), occurrences=6)
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [_series(rec)]))
    session = store._session
    instances = session.get_json(
        f"me/events/{created.id}/instances",
        params={"startDateTime": "2027-02-01T00:00:00Z", "endDateTime": "2027-05-01T00:00:00Z"},
    )["value"]
    assert [i["type"] for i in instances] == ["occurrence"] * 6
    assert {i["seriesMasterId"] for i in instances} == {created.id}
    session.request("DELETE", f"me/events/{instances[1]['id']}")
    session.request("PATCH", f"me/events/{instances[3]['id']}", json={"location": {"displayName": "Room 2"}})
    (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
    assert isinstance(read, AppointmentItem) and read.recurrence is not None
    assert read.recurrence.deleted_occurrences == (dt.date(2027, 3, 3),)
    (changed,) = read.recurrence.modified_occurrences
    assert (changed.original, changed.subject, changed.location) == (dt.date(2027, 3, 10), None, "Room 2")
    assert changed.start == dt.datetime(2027, 3, 10, 9, 0, tzinfo=BERLIN)

    read.body = "Agenda attached"
    (done,) = ok_values(store.update_many(FolderKind.CALENDAR, [read]))
    (again,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
    assert isinstance(again, AppointmentItem) and again.body == "Agenda attached"
    assert again.recurrence == read.recurrence
    assert done.change_key == again.change_key


def test_request_cost(make_store, standin) -> None:  # noqa: F811
    """Reading a series is one more request per 20 masters; an update that keeps the exceptions writes no
    instance; a single appointment costs nothing extra."""
    store = make_store()
    rec = Recurrence(RecurrencePattern.DAILY, START.date(), occurrences=5)
    single, series = ok_values(store.create_many(FolderKind.CALENDAR, [_series(None), _series(rec)]))
    before = store.request_count
    ok_values(store.get_many(FolderKind.CALENDAR, [single.id]))
    assert store.request_count - before == 1
    before = store.request_count
    ok_values(store.get_many(FolderKind.CALENDAR, [single.id, series.id]))
    assert store.request_count - before == 2  # the items' $batch, then the instances' $batch
    standin.server.reset_counts()
    assert isinstance(series, AppointmentItem)
    series.subject = "Renamed"
    ok_values(store.update_many(FolderKind.CALENDAR, [series]))
    paths = [p.split("?")[0] for _, p in standin.server.request_log]
    assert paths == ["/v1.0/$batch"] * 3  # masters, instances, the PATCH: no instance written


def test_changes_report_a_series_once_by_its_master_also_after_an_occurrence_is_deleted(make_store) -> None:  # noqa: F811
    store = make_store()
    rec = Recurrence(RecurrencePattern.DAILY, START.date(), occurrences=4)
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [_series(rec)]))
    first = drain(store, FolderKind.CALENDAR, None)
    assert first.created == [created.id]  # four instance rows, one master
    assert drain(store, FolderKind.CALENDAR, first.cursor).created == []
    assert isinstance(created, AppointmentItem)
    gone = replace(rec, deleted_occurrences=(dt.date(2027, 3, 2),))
    ok_values(store.update_many(FolderKind.CALENDAR, [replace(created, recurrence=gone)]))
    later = drain(store, FolderKind.CALENDAR, first.cursor)
    # changed, not deleted (reported as created when made in the same second as the last round began)
    assert later.updated + later.created == [created.id]
    # the cancelled instance's @removed row carries only its own id (never the master's)
    assert created.id not in later.deleted and len(later.deleted) == 1


@pytest.mark.parametrize("zone", ["Europe/Berlin", None])
def test_a_series_across_a_dst_change_keeps_its_wall_clock_time(make_store, zone: str | None) -> None:  # noqa: F811
    """Exchange repeats the start's wall-clock time in the series' zone: written in the mailbox's zone, a
    09:00 series stays at 09:00 Berlin time after the clocks change on 28 March 2027. (Without a mailbox zone
    the series is counted in UTC and moves to 10:00 local — what a series made in UTC means.)"""
    store = make_store(timezone=zone)
    rec = Recurrence(RecurrencePattern.WEEKLY, START.date(), weekdays=(0,), occurrences=6)  # 1 .. 5 April
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [_series(rec)]))
    instances = store._session.get_json(
        f"me/events/{created.id}/instances",
        params={"startDateTime": "2027-02-01T00:00:00Z", "endDateTime": "2027-05-01T00:00:00Z"},
        headers={"Prefer": 'outlook.timezone="UTC"'},
    )["value"]
    starts = [
        dt.datetime.fromisoformat(i["start"]["dateTime"][:19]).replace(tzinfo=dt.UTC).astimezone(BERLIN)
        for i in instances
    ]
    assert len(starts) == 6
    expected_hours = [9] * 6 if zone else [9, 9, 9, 9, 10, 10]
    assert [s.hour for s in starts] == expected_hours
    (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
    assert isinstance(read, AppointmentItem) and read.recurrence is not None
    assert read.recurrence.deleted_occurrences == () and read.recurrence.modified_occurrences == ()
