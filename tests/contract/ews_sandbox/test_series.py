"""Recurring masters in the EWS stand-in through plain exchangelib: expansion, occurrences, exceptions."""

from __future__ import annotations

import datetime as dt

import pytest
from exchangelib import Attendee, CalendarItem, EWSDateTime, EWSTimeZone, Mailbox
from exchangelib.errors import (
    ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange,
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
)
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import (
    DailyPattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    RelativeMonthlyPattern,
    WeeklyPattern,
)

from tests.contract.ews_sandbox.conftest import ANNA, JOERG

BERLIN = EWSTimeZone("Europe/Berlin")


def _series(account, pattern, boundary, *, start: EWSDateTime, **extra) -> CalendarItem:
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Jour fixe",
        location="Room 1",
        start=start,
        end=start + dt.timedelta(minutes=30),
        recurrence=Recurrence(pattern=pattern, boundary=boundary),
        **extra,
    )
    item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def test_calendar_view_expands_occurrences_in_the_series_zone(anna) -> None:
    # 09:00 Berlin across the DST change at the end of March: the wall-clock time stays, the UTC time moves
    start = EWSDateTime(2027, 3, 25, 9, 0, tzinfo=BERLIN)
    _series(anna, DailyPattern(interval=2), NumberedPattern(start=start.date(), number=4), start=start)
    window = list(
        anna.calendar.view(
            start=EWSDateTime(2027, 3, 1, tzinfo=BERLIN), end=EWSDateTime(2027, 4, 30, tzinfo=BERLIN)
        )
    )
    assert [o.start.astimezone(BERLIN).strftime("%m-%d %H:%M") for o in window] == [
        "03-25 09:00",
        "03-27 09:00",
        "03-29 09:00",
        "03-31 09:00",
    ]
    assert {o.type for o in window} == {"Occurrence"}
    assert len({o.id for o in window}) == 4


def test_open_ended_series_is_expanded_up_to_the_window_only(anna) -> None:
    start = EWSDateTime(2027, 1, 4, 8, 0, tzinfo=BERLIN)  # a Monday
    _series(
        anna,
        WeeklyPattern(interval=1, weekdays=["Monday", "Wednesday"], first_day_of_week="Monday"),
        NoEndPattern(start=start.date()),
        start=start,
    )
    window = list(
        anna.calendar.view(
            start=EWSDateTime(2027, 1, 10, tzinfo=BERLIN), end=EWSDateTime(2027, 1, 21, tzinfo=BERLIN)
        )
    )
    assert [o.start.astimezone(BERLIN).day for o in window] == [11, 13, 18, 20]


def test_first_and_last_occurrence_and_relative_monthly(anna) -> None:
    start = EWSDateTime(2027, 1, 1, 10, 0, tzinfo=BERLIN)
    item = _series(
        anna,
        RelativeMonthlyPattern(interval=1, weekday="Friday", week_number="Last"),
        NumberedPattern(start=start.date(), number=3),
        start=start,
    )
    got = anna.calendar.get(id=item.id)
    assert got.type == "RecurringMaster"
    assert got.first_occurrence.start.astimezone(BERLIN).date() == dt.date(2027, 1, 29)
    assert got.last_occurrence.start.astimezone(BERLIN).date() == dt.date(2027, 3, 26)


def test_update_of_an_occurrence_makes_an_exception_and_delete_a_deleted_occurrence(anna, standin) -> None:
    start = EWSDateTime(2027, 2, 1, 9, 0, tzinfo=BERLIN)
    master = _series(
        anna, DailyPattern(interval=1), NumberedPattern(start=start.date(), number=5), start=start
    )
    second = master.occurrence(2)
    second.refresh()
    assert second.type == "Occurrence" and second.subject == "Jour fixe"
    assert second.start.astimezone(BERLIN) == EWSDateTime(2027, 2, 2, 9, 0, tzinfo=BERLIN)
    second.subject = "Moved"
    second.start = EWSDateTime(2027, 2, 2, 14, 0, tzinfo=BERLIN)
    second.end = EWSDateTime(2027, 2, 2, 15, 0, tzinfo=BERLIN)
    second.save(update_fields=["subject", "start", "end"], send_meeting_invitations=SEND_TO_NONE)
    master.refresh()
    master.occurrence(4).delete(send_meeting_cancellations=SEND_TO_NONE)

    got = anna.calendar.get(id=master.id)
    (modified,) = got.modified_occurrences
    assert modified.original_start.astimezone(BERLIN) == EWSDateTime(2027, 2, 2, 9, 0, tzinfo=BERLIN)
    assert modified.start.astimezone(BERLIN) == EWSDateTime(2027, 2, 2, 14, 0, tzinfo=BERLIN)
    (deleted,) = got.deleted_occurrences
    assert deleted.start.astimezone(BERLIN) == EWSDateTime(2027, 2, 4, 9, 0, tzinfo=BERLIN)
    exception = anna.calendar.get(id=modified.id)
    assert exception.type == "Exception" and exception.subject == "Moved"

    window = list(
        anna.calendar.view(
            start=EWSDateTime(2027, 2, 1, tzinfo=BERLIN), end=EWSDateTime(2027, 3, 1, tzinfo=BERLIN)
        )
    )
    assert [(o.subject, o.start.astimezone(BERLIN).strftime("%d %H")) for o in window] == [
        ("Jour fixe", "01 09"),
        ("Moved", "02 14"),
        ("Jour fixe", "03 09"),
        ("Jour fixe", "05 09"),
    ]
    with pytest.raises(ErrorCalendarOccurrenceIsDeletedFromRecurrence):
        master.occurrence(4).refresh()
    with pytest.raises(ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange):
        master.occurrence(6).refresh()
    assert standin.operations.invitations_sent == 0


def test_a_new_pattern_drops_the_exceptions(anna) -> None:
    start = EWSDateTime(2027, 2, 1, 9, 0, tzinfo=BERLIN)
    master = _series(
        anna, DailyPattern(interval=1), NumberedPattern(start=start.date(), number=5), start=start
    )
    master.occurrence(3).delete(send_meeting_cancellations=SEND_TO_NONE)
    master.refresh()
    master.subject = "Renamed"
    master.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
    assert len(anna.calendar.get(id=master.id).deleted_occurrences) == 1  # other fields keep them
    master.refresh()
    master.recurrence = Recurrence(
        pattern=DailyPattern(interval=1), boundary=NumberedPattern(start=start.date(), number=3)
    )
    master.save(update_fields=["recurrence"], send_meeting_invitations=SEND_TO_NONE)
    got = anna.calendar.get(id=master.id)
    assert got.deleted_occurrences is None and got.modified_occurrences is None


def test_occurrence_changes_tell_attendees_only_when_asked(anna, standin) -> None:
    start = EWSDateTime(2027, 2, 1, 9, 0, tzinfo=BERLIN)
    master = _series(
        anna,
        DailyPattern(interval=1),
        NumberedPattern(start=start.date(), number=3),
        start=start,
        required_attendees=[Attendee(mailbox=Mailbox(email_address=JOERG), response_type="Unknown")],
    )
    master.occurrence(1).delete(send_meeting_cancellations=SEND_TO_NONE)
    assert standin.store.list_items(JOERG, "inbox") == [] and standin.operations.invitations_sent == 0
    second = master.occurrence(2)
    second.refresh()
    second.subject = "Loud"
    second.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert [i.tag for i in standin.store.list_items(JOERG, "inbox")] == ["MeetingRequest"]
    assert standin.operations.invitations_sent == 1
    assert standin.store.list_items(ANNA, "calendar")[0].text("Subject") == "Jour fixe"
