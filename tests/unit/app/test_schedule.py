"""One scheduler rule for the command line and the status window (wizard.app.schedule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wizard.app.schedule import Schedule, ServerIntervals, backoff, interval_for
from wizard.crm.records import Claim, ClaimHeldElsewhere
from wizard.errors import ConfigurationError
from wizard.odata.errors import NetworkError, ThrottledError
from wizard.sync.engine import KindResult, RunSummary
from wizard.sync.run import KindRunStatus, RunStatus

MINUTE = timedelta(minutes=1)
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _summary(status: RunStatus, *kinds: KindResult) -> RunSummary:
    return RunSummary(1, NOW, NOW, status, list(kinds))


def test_the_user_interval_below_the_organization_minimum_is_raised_to_it() -> None:
    server = ServerIntervals(user_minutes=20, org_minimum=30)
    assert interval_for(None, server) == 30 * MINUTE
    assert interval_for(25, server) == 30 * MINUTE  # the profile's value obeys the minimum too


def test_the_user_interval_above_the_minimum_is_kept() -> None:
    assert interval_for(None, ServerIntervals(user_minutes=45, org_minimum=30)) == 45 * MINUTE


def test_the_profile_overrides_the_user_setting() -> None:
    assert interval_for(60, ServerIntervals(user_minutes=45, org_minimum=30)) == 60 * MINUTE


def test_an_unknown_minimum_is_15_minutes() -> None:
    assert interval_for(None) == 15 * MINUTE
    assert (
        interval_for(5) == 15 * MINUTE
    )  # never below the original's floor (was max(interval, 1) in the CLI)
    assert interval_for(None, ServerIntervals(user_minutes=10)) == 15 * MINUTE
    assert interval_for(30) == 30 * MINUTE


def test_a_known_minimum_below_15_is_the_organization_s_choice() -> None:
    assert interval_for(None, ServerIntervals(user_minutes=None, org_minimum=10)) == 10 * MINUTE


def test_backoff_grows_to_an_hour() -> None:
    assert [backoff(n, 15 * MINUTE) // MINUTE for n in range(0, 7)] == [15, 5, 10, 20, 40, 60, 60]


def test_failed_runs_back_off_and_a_good_one_resets() -> None:
    schedule = Schedule(None, ServerIntervals(user_minutes=45, org_minimum=30))
    failed = _summary(RunStatus.PARTIAL, KindResult("contacts", status=KindRunStatus.ERROR, message="boom"))
    assert schedule.after_summary(failed) == 5 * MINUTE
    assert schedule.after_summary(failed) == 10 * MINUTE
    assert schedule.failures == 2
    assert schedule.after_summary(_summary(RunStatus.OK)) == 45 * MINUTE
    assert schedule.failures == 0


def test_a_run_that_only_waits_for_a_confirmation_is_not_retried_sooner() -> None:
    schedule = Schedule(30)
    waiting = _summary(
        RunStatus.PARTIAL, KindResult("tasks", status=KindRunStatus.NEEDS_CONFIRMATION, message="Delete 40?")
    )
    assert schedule.after_summary(waiting) == 30 * MINUTE
    assert schedule.failures == 0


def test_errors_that_heal_back_off_and_respect_retry_after() -> None:
    schedule = Schedule(None)
    assert schedule.after_error(NetworkError("down")) == 5 * MINUTE
    assert schedule.after_error(ThrottledError("slow down", retry_after=3600)) == timedelta(seconds=3600)
    assert schedule.failures == 2


def test_errors_that_do_not_heal_schedule_nothing() -> None:
    assert Schedule(None).after_error(ConfigurationError("no", user_text="no")) is None


def test_another_synchronizing_computer_is_asked_again_at_the_interval() -> None:
    holder = Claim("other", "OTHER-PC", NOW, NOW)
    schedule = Schedule(20)
    assert schedule.after_error(ClaimHeldElsewhere(holder)) == 20 * MINUTE
    assert schedule.failures == 0


@pytest.mark.parametrize("minimum", [None, 0])
def test_a_missing_minimum_counts_as_unknown(minimum: int | None) -> None:
    assert interval_for(None, ServerIntervals(user_minutes=None, org_minimum=minimum)) == 15 * MINUTE
