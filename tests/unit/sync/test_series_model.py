"""Series model pieces: pattern expansion, exceptions in the mailbox Recurrence, series helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from wizard.crm.fetchxml import master_fetch
from wizard.mailbox.base import ModifiedOccurrence, Recurrence, RecurrencePattern
from wizard.settings.enums import Kind
from wizard.sync import recurrence as rec
from wizard.sync.records import appointment_series as series


@pytest.mark.parametrize(
    ("recurrence", "expected"),
    [
        (
            Recurrence(RecurrencePattern.DAILY, date(2027, 1, 30), interval=2, occurrences=3),
            ["01-30", "02-01", "02-03"],
        ),
        (  # every 2 weeks on Mon + Thu, weeks starting Monday, from a Friday: that week's Mon/Thu are before it
            Recurrence(
                RecurrencePattern.WEEKLY,
                date(2027, 1, 1),
                interval=2,
                weekdays=(0, 3),
                end_date=date(2027, 1, 31),
            ),
            ["01-11", "01-14", "01-25", "01-28"],
        ),
        (  # day 31 in shorter months: their last day, as Outlook does
            Recurrence(RecurrencePattern.ABSOLUTE_MONTHLY, date(2027, 1, 31), day_of_month=31, occurrences=3),
            ["01-31", "02-28", "03-31"],
        ),
        (  # the last weekday of the month
            Recurrence(
                RecurrencePattern.RELATIVE_MONTHLY,
                date(2027, 1, 1),
                weekdays=(0, 1, 2, 3, 4),
                week_index=4,
                occurrences=2,
            ),
            ["01-29", "02-26"],
        ),
        (
            Recurrence(
                RecurrencePattern.ABSOLUTE_YEARLY, date(2027, 3, 1), day_of_month=29, month=2, occurrences=2
            ),
            ["02-29", "02-28"],  # 2028 is a leap year, 2029 is not
        ),
        (  # Thanksgiving: the fourth Thursday of November
            Recurrence(
                RecurrencePattern.RELATIVE_YEARLY,
                date(2027, 1, 1),
                weekdays=(3,),
                week_index=3,
                month=11,
                occurrences=2,
            ),
            ["11-25", "11-23"],
        ),
    ],
    ids=["daily", "weekly", "monthly", "relative-monthly", "yearly", "relative-yearly"],
)
def test_pattern_dates(recurrence: Recurrence, expected: list[str]) -> None:
    assert [d.strftime("%m-%d") for d in recurrence.dates()] == expected


def test_open_ended_series_stop_at_until_or_the_limit() -> None:
    daily = Recurrence(RecurrencePattern.DAILY, date(2027, 1, 1))
    assert len(daily.dates()) == 999
    assert daily.dates(until=date(2027, 1, 10))[-1] == date(2027, 1, 10)
    assert (
        len(
            Recurrence(RecurrencePattern.DAILY, date(2027, 1, 1), occurrences=5).dates(until=date(2027, 1, 3))
        )
        == 3
    )


def test_exceptions_travel_through_the_mailbox_recurrence() -> None:
    canonical = rec.normalize(
        {
            "pattern": "daily",
            "start_date": "2027-01-04",
            "occurrences": 5,
            "deleted": ["2027-01-05"],
            "modified": [
                {
                    "original": "2027-01-06",
                    "start": "2027-01-06T14:00:00Z",
                    "end": "2027-01-06T15:00:00Z",
                    "subject": "Moved",
                    "location": None,
                }
            ],
        }
    )
    assert canonical is not None
    mailbox = rec.to_mailbox(canonical)
    assert mailbox.deleted_occurrences == (date(2027, 1, 5),)
    assert mailbox.modified_occurrences == (
        ModifiedOccurrence(
            date(2027, 1, 6),
            datetime(2027, 1, 6, 14, tzinfo=UTC),
            datetime(2027, 1, 6, 15, tzinfo=UTC),
            "Moved",
            None,
        ),
    )
    assert rec.from_mailbox(mailbox) == canonical
    assert rec.exceptions_supported()
    assert rec.pattern_only(canonical) == {**canonical, "deleted": [], "modified": []}


def test_exception_values_equal_to_the_series_are_blank() -> None:
    canonical = rec.normalize(
        {
            "pattern": "daily",
            "start_date": "2027-01-04",
            "modified": [{"original": "2027-01-06", "subject": "Stand-up", "location": "Room 2"}],
        }
    )
    stripped = rec.strip_same_as_series(canonical, "Stand-up", "Room 1")
    assert stripped is not None
    assert stripped["modified"][0]["subject"] is None and stripped["modified"][0]["location"] == "Room 2"


def test_the_master_query_and_when_a_pattern_must_be_sent_again() -> None:
    fetch = '<fetch><entity name="appointment"><attribute name="activityid"/></entity></fetch>'
    assert 'name="recurringappointmentmaster"' in (master_fetch(fetch) or "")
    assert master_fetch('<fetch><entity name="task"/></fetch>') is None
    base = rec.normalize({"pattern": "daily", "start_date": "2027-01-04", "deleted": ["2027-01-05"]})
    assert base is not None
    assert not series.needs_reset(None, base)
    assert not series.needs_reset(base, {**base, "deleted": ["2027-01-05", "2027-01-06"]})
    assert series.needs_reset(base, {**base, "deleted": []})  # a restored occurrence
    assert series.needs_reset(base, {**base, "interval": 2})  # a new pattern
    assert series.without_exceptions(base, ["2027-01-05"]) == {**base, "deleted": []}
    assert series.is_series_version('S|W/"1"|abc') and not series.is_series_version('W/"1"')


def test_a_counted_series_ends_after_its_last_occurrence() -> None:
    from wizard.sync import mapping

    ctx = mapping.MappingContext(
        user_id="u",
        org_id="o",
        mailbox_tz="Europe/Berlin",
        sync_contact_company=False,
        all_addresses=False,
        account_names={},
        now=datetime(2027, 1, 1, tzinfo=UTC),
    )
    master = {
        "activityid": "a",
        "subject": "Weekly",
        "starttime": "2027-01-04T08:00:00Z",
        "endtime": "2027-01-04T09:00:00Z",
        "recurrencepatterntype": 1,
        "interval": 1,
        "daysofweekmask": 2,
        "patternstartdate": "2027-01-03T23:00:00Z",
        "patternendtype": 2,
        "occurrences": 3,
    }
    view = mapping.crm_view(Kind.APPOINTMENTS, master, ctx)
    assert view["@end"] == "2027-01-18T23:00:00Z"  # the day after Monday 18 January, local midnight


def _moved(day: str, subject: str) -> dict[str, object]:
    return {
        "original": day,
        "start": f"{day}T14:00:00Z",
        "end": f"{day}T15:00:00Z",
        "subject": subject,
        "location": None,
    }


def test_what_goes_to_the_mailbox_keeps_the_mailbox_exceptions_on_waiting_dates() -> None:
    weekly = {"pattern": "weekly", "weekdays": [0], "start_date": "2027-01-04"}
    mailbox = rec.normalize(
        {
            **weekly,
            "deleted": ["2027-09-06"],
            "modified": [_moved("2027-01-11", "Mine"), _moved("2027-08-30", "Far")],
        }
    )
    crm = rec.normalize({**weekly, "deleted": ["2027-01-18"], "modified": [_moved("2027-01-11", "Theirs")]})
    waiting = ["2027-08-30", "2027-09-06"]
    kept = series.keep_waiting(crm, mailbox, waiting)
    assert kept is not None
    assert kept["deleted"] == ["2027-01-18", "2027-09-06"]
    assert [(m["original"], m["subject"]) for m in kept["modified"]] == [
        ("2027-01-11", "Theirs"),  # not waiting: Dynamics 365's value goes
        ("2027-08-30", "Far"),  # waiting: the mailbox's own stays
    ]
    # nothing waits, or a new pattern (which drops every exception in the mailbox): as Dynamics 365 has it
    assert series.keep_waiting(crm, mailbox, []) == crm
    new_pattern = {**(crm or {}), "interval": 2}
    assert series.keep_waiting(new_pattern, mailbox, waiting) == rec.normalize(new_pattern)
    assert series.keep_waiting(None, mailbox, waiting) is None
    # the planner's view leaves them out, and so does the merge base
    assert series.without_exceptions(mailbox, waiting) == {
        **(mailbox or {}),
        "deleted": [],
        "modified": [_moved("2027-01-11", "Mine")],
    }
    base: dict[str, object] = {"subject": "Weekly", "recurrence": mailbox}
    series.leave_out(base, waiting)
    assert base["recurrence"] == series.without_exceptions(mailbox, waiting)
    assert series.waiting_dates(base) == waiting  # noted with the base, in the same write
    series.leave_out(base, [])  # written: nothing waits any more
    assert "@waiting" not in base and series.waiting_dates(base) == []


def test_plans_carry_a_series_waiting_dates_over() -> None:
    from wizard.sync.model import Direction, Link
    from wizard.sync.planner import (
        WAITING,
        CrmChanges,
        MailboxChanges,
        Rules,
        UpdateBase,
        UpdateMailbox,
        plan,
    )

    base = {"subject": "Weekly", "location": "Room 1", WAITING: ["2027-08-30"]}
    link = Link(Kind.APPOINTMENTS, "c1", "m1", base)
    rules = Rules({"subject": Direction.BOTH, "location": Direction.BOTH}, datetime(2027, 1, 1, tzinfo=UTC))
    crm = CrmChanges({"c1": {"subject": "Renamed", "location": "Room 1"}}, frozenset(), frozenset())
    the_plan = plan(Kind.APPOINTMENTS, {"c1": link}, crm, MailboxChanges({}, frozenset()), rules)
    (update,) = [op for op in the_plan.operations if isinstance(op, UpdateMailbox)]
    assert update.changes["subject"] == "Renamed" and WAITING not in update.changes
    (stored,) = [op for op in the_plan.operations if isinstance(op, UpdateBase)]
    assert stored.base[WAITING] == ["2027-08-30"] and stored.base["subject"] == "Renamed"


def test_what_still_waits_after_a_series_was_written() -> None:
    weekly = rec.normalize({"pattern": "weekly", "weekdays": [0], "start_date": "2027-01-04"})
    assert weekly is not None
    base: dict[str, object] = {"recurrence": weekly, "@waiting": ["2027-08-30"]}
    near = {"recurrence": {**weekly, "deleted": ["2027-01-11"]}}
    # a near exception written: the far one (left out of what the planner saw) still waits, with new ones
    assert series.still_waiting(base, {"recurrence": weekly}, near, ["2027-09-06"], whole=False) == [
        "2027-08-30",
        "2027-09-06",
    ]
    # the mailbox copy was planned whole: only what was left out this time waits
    assert series.still_waiting(base, {"recurrence": weekly}, near, [], whole=True) == []
    # a new pattern drops the mailbox's exceptions, and a change of other fields writes none
    new_pattern = {"recurrence": {**weekly, "interval": 2}}
    assert series.still_waiting(base, {"recurrence": weekly}, new_pattern, [], whole=False) == []
    assert series.still_waiting(base, {"recurrence": weekly}, {"subject": "x"}, [], whole=False) == [
        "2027-08-30"
    ]
