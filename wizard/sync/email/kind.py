"""The email kind (:class:`~wizard.sync.run.KindSync`): one pass of crash recovery, sending and tracking."""

from __future__ import annotations

import logging
from collections.abc import Callable

from wizard.errors import D365SyncError, Severity
from wizard.mailbox.base import LISTING_PAGE, NotSupported
from wizard.settings.enums import Kind
from wizard.sync.email.common import KIND, EmailSettings, read_settings
from wizard.sync.email.recover import recover
from wizard.sync.email.send import Sender
from wizard.sync.email.track import Tracker
from wizard.sync.run import (
    ALREADY_TRACKED,
    KindCounts,
    KindResult,
    KindRunStatus,
    RunContext,
    already_tracked_text,
)

log = logging.getLogger(__name__)


class EmailSync:
    """The email kind (``KindSync``): tracking to Dynamics 365 and sending from it."""

    kind: str = KIND

    def __init__(
        self,
        *,
        page_size: int = 100,
        listing_size: int = LISTING_PAGE,
        msgid_factory: Callable[[str], str] | None = None,
    ) -> None:
        self.tracker = Tracker(page_size=page_size, listing_size=listing_size)
        self.sender = Sender(msgid_factory)

    @property
    def page_size(self) -> int:
        """Messages read, checked, created and stamped together."""
        return self.tracker.page_size

    @property
    def listing_size(self) -> int:
        """Changes per listing request (whole pages of work)."""
        return self.tracker.listing_size

    def run(self, ctx: RunContext, *, dry_run: bool, force: bool) -> KindResult:
        """One pass: resolve crashed sends/tracks, send Pending Send emails, then track new mail.

        ``force`` has no meaning here: email never deletes, so no safety rail can stop it."""
        result = KindResult(kind=KIND, to_crm=KindCounts(), to_mailbox=KindCounts(), status=KindRunStatus.OK)
        ctx.reporter.progress(KIND, 0, None, "Reading email settings")
        try:
            settings: EmailSettings = read_settings(ctx)
        except D365SyncError as exc:
            self._fail(result, exc)
            return result
        phases: list[Callable[[], None]] = []
        if not dry_run:
            phases.append(lambda: recover(ctx, settings, result, page_size=self.page_size))
        phases.append(lambda: self.sender.send_pending(ctx, settings, result, dry_run=dry_run))
        phases.append(lambda: self.tracker.track(ctx, settings, result, dry_run=dry_run))
        for phase in phases:
            try:
                phase()
            except D365SyncError as exc:
                self._fail(result, exc)  # a kind-level failure of sending does not stop tracking
        if result.skipped and ctx.run_id is not None:  # in the run's log, for the status (not an error)
            text = already_tracked_text(result.skipped)
            log.info("email: %s", text)
            ctx.state.record_error(ctx.run_id, Kind.EMAIL, Severity.ITEM, text, ALREADY_TRACKED)
        return result

    @staticmethod
    def _fail(result: KindResult, exc: D365SyncError) -> None:
        """Report a failure in the result (the engine logs it); account-level ones stop the whole run."""
        if exc.severity >= Severity.ACCOUNT and not isinstance(exc, NotSupported):
            raise exc
        log.warning("email: %s", exc)
        result.status = KindRunStatus.ERROR
        result.message = result.message or exc.user_text
