"""When the next synchronization runs: one rule for ``d365sync sync`` and the status window (DESIGN section 4).

The interval is the user's (the profile's ``sync.interval_minutes`` when set, else the user's
``usersettings.outlooksyncinterval``), never under the organization's ``minoutlooksyncinterval``, and never under
15 minutes (the original's floor) while that minimum is unknown. After a failure that may heal by itself the
next run comes sooner and then later (5, 10, 20, 40 minutes, at most an hour; a server's Retry-After is
respected); a failure that will not heal (sign-in, configuration) schedules nothing: only the user can retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from wizard.app.factory import Factory
from wizard.crm.records import ClaimHeldElsewhere
from wizard.errors import D365SyncError
from wizard.sync.run import KindRunStatus, RunStatus

if TYPE_CHECKING:
    from wizard.sync.engine import RunSummary

log = logging.getLogger(__name__)

FLOOR_MINUTES = 15  # the original product's minimum, used while the organization's own is unknown
FIRST_RETRY = timedelta(minutes=5)
MAX_RETRY = timedelta(minutes=60)


@dataclass(frozen=True)
class ServerIntervals:
    """What Dynamics 365 says about the interval; None where it was not read or is not set."""

    user_minutes: int | None = None  # usersettings.outlooksyncinterval
    org_minimum: int | None = None  # organization.minoutlooksyncinterval


def read_server_intervals(factory: Factory) -> ServerIntervals:
    """The user's interval and the organization's minimum from the synchronizing organization (network: call
    it on a worker, where the engine is built, never in the GUI thread)."""
    org = factory.require_sync_org()
    client = factory.dataverse(org)
    user = client.user_settings(org.user_id or None)
    return ServerIntervals(user.outlooksyncinterval, client.organization_settings().minoutlooksyncinterval)


def interval_for(profile_minutes: int | None, server: ServerIntervals | None = None) -> timedelta:
    """max(the user's interval, the organization's minimum, or 15 minutes when that minimum is unknown)."""
    server = server or ServerIntervals()
    minimum = server.org_minimum if server.org_minimum else FLOOR_MINUTES
    wanted = profile_minutes or server.user_minutes or minimum
    return timedelta(minutes=max(wanted, minimum))


def backoff(failures: int, interval: timedelta) -> timedelta:
    """5, 10, 20, 40 minutes … after consecutive failures, at most an hour (and never more than that
    even when the interval is longer: an error should not hide for hours)."""
    if failures <= 0:
        return interval
    delay: timedelta = FIRST_RETRY * (2 ** (failures - 1))
    return min(delay, MAX_RETRY)


class Schedule:
    """The delay until the next run after each outcome; counts consecutive failures."""

    def __init__(self, profile_minutes: int | None = None, server: ServerIntervals | None = None) -> None:
        self.profile_minutes = profile_minutes
        self.server = server
        self.failures = 0

    @property
    def interval(self) -> timedelta:
        return interval_for(self.profile_minutes, self.server)

    def reset(self) -> None:
        self.failures = 0

    def after_summary(self, summary: RunSummary) -> timedelta:
        """After a run that ended with a summary: the interval, or the back-off when a kind failed (a run
        that only waits for a confirmation is not retried sooner: that cannot help)."""
        if summary.status in (RunStatus.PARTIAL, RunStatus.FAILED):
            failed = [k for k in summary.kinds if k.status == KindRunStatus.ERROR]
            waiting = [k for k in summary.kinds if k.status == KindRunStatus.NEEDS_CONFIRMATION]
            if failed or not waiting:
                self.failures += 1
                return backoff(self.failures, self.interval)
        self.failures = 0
        return self.interval

    def after_error(self, error: D365SyncError) -> timedelta | None:
        """After a run that raised: the interval when another computer synchronizes, the back-off (or the
        server's Retry-After when longer) when the error may heal, None when it will not heal by itself."""
        if isinstance(error, ClaimHeldElsewhere):
            return self.interval
        if not error.retriable:
            return None
        self.failures += 1
        delay = backoff(self.failures, self.interval)
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > delay.total_seconds():
            delay = timedelta(seconds=retry_after)
        return delay
