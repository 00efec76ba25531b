"""EwsStore and recurring series against the EWS stand-in: deleted and modified occurrences both ways."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from tests.contract.mailbox_contract import ok_values
from tests.contract.test_ews_contract import (  # noqa: F401  (fixtures)
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
from wizard.mailbox.ews.recurrence import instance_indexes

BERLIN = ZoneInfo("Europe/Berlin")
START = dt.datetime(2027, 3, 1, 9, 0, tzinfo=BERLIN)  # a Monday


def _series(rec: Recurrence, **extra: object) -> AppointmentItem:
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


def test_the_plan_addresses_occurrences_by_instance_index() -> None:
    """The shared plan names dates; EWS sends their InstanceIndex (deleted occurrences keep counting)."""
    rec = Recurrence(RecurrencePattern.WEEKLY, START.date(), weekdays=(0, 2), occurrences=6)
    wanted = replace(rec, deleted_occurrences=(dt.date(2027, 3, 8),), modified_occurrences=(_moved(10, 14),))
    plan = occurrence_plan(wanted, None)
    days = [*plan.deletes, *(m.original for m in plan.modifies)]
    assert (plan.reset, days) == (False, [dt.date(2027, 3, 8), dt.date(2027, 3, 10)])
    assert instance_indexes(wanted, days) == {
        dt.date(2027, 3, 1): 1,
        dt.date(2027, 3, 3): 2,
        dt.date(2027, 3, 8): 3,
        dt.date(2027, 3, 10): 4,
    }
    # the same exceptions on the server: nothing to do; one fewer deleted: the pattern again, then both
    assert occurrence_plan(wanted, wanted).deletes == [] and occurrence_plan(wanted, wanted).modifies == []
    restore = occurrence_plan(replace(wanted, deleted_occurrences=()), wanted)
    assert (
        restore.reset
        and restore.deletes == []
        and [m.original for m in restore.modifies] == [dt.date(2027, 3, 10)]
    )
    # a date the pattern never produces is left out, not sent
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
    assert read.change_key == created.change_key  # the create's answer has the key after the occurrences
    assert standin.operations.invitations_sent == 0


def test_updates_add_restore_and_reset_exceptions(make_store, standin) -> None:  # noqa: F811
    store = make_store()
    rec = Recurrence(RecurrencePattern.DAILY, START.date(), occurrences=8)
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [_series(rec)]))
    assert isinstance(created, AppointmentItem)

    def update(recurrence: Recurrence, item: AppointmentItem) -> AppointmentItem:
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
    assert standin.operations.invitations_sent == 0
