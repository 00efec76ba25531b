"""The synchronizing-computer claim during a run: renewed (with ``If-Match``) before every batch of writes.

DESIGN section 1: one computer synchronizes a user's mailbox. The engine checks the claim before a run;
another computer may take over while the run is under way (``instance claim --yes`` on a second
computer). :class:`ClaimGuard` renews the claim's heartbeat, a conditional write of the user's mailbox
record, and raises :class:`ClaimLost` when the claim names another computer (or none). Each heartbeat is a
single PATCH with ``If-Match`` on the ETag of the row as last seen (the claim check's read, the run cache's
kept row, or the previous heartbeat's answer), and a 412 (the row changed: someone claimed) reads the row
and decides (``records.renew_heartbeat``); without a row the first one reads it first. The writers call
it through ``RunContext.before_writes`` at the start of each batch of writes to either side, so an engine
that has lost the claim writes nothing more; the engine then ends the run with the lost claim's message.
A run that writes nothing renews the heartbeat only when it is older than ``run_cache.HEARTBEAT_EVERY``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from wizard.crm import records
from wizard.errors import D365SyncError, Severity

if TYPE_CHECKING:
    from wizard.crm.client import DataverseClient
    from wizard.crm.entities import MailboxRecord

log = logging.getLogger(__name__)


class ClaimLost(D365SyncError):
    """Another computer took over (or the claim was released) while this computer synchronized."""

    severity = Severity.ACCOUNT

    def __init__(self, holder: str | None) -> None:
        if holder:
            text = f"Another computer, {holder}, now synchronizes this organization; this computer stopped."
        else:
            text = (
                "No computer is the synchronizing computer any more (the claim was released); "
                "this computer stopped."
            )
        super().__init__(f"synchronizing-computer claim lost to {holder or 'nobody'}", user_text=text)
        self.holder = holder


class ClaimGuard:
    """Renews this instance's claim before each batch of writes; :class:`ClaimLost` once it is gone.

    Once lost, every further :meth:`check` raises again without a request, so nothing written later can
    slip through a caller that caught the first error.
    """

    def __init__(
        self,
        crm: DataverseClient,
        instance_id: str,
        clock: Callable[[], datetime],
        row: MailboxRecord | None = None,
    ) -> None:
        self.crm = crm
        self.instance_id = instance_id
        self.clock = clock
        self.checks = 0
        self.lost: ClaimLost | None = None
        #: the mailbox record as our last heartbeat wrote it, or as the claim was last read or kept (run
        #: cache): the next heartbeat PATCHes with ``If-Match`` on its ETag, a 412 reads the row and decides
        self.row: MailboxRecord | None = row
        self.renewed_at: datetime | None = None  # when a heartbeat of this guard last succeeded

    def check(self) -> None:
        if self.lost is not None:
            raise self.lost
        self.checks += 1
        now = self.clock()
        try:
            self.row = records.renew_heartbeat(self.crm, self.instance_id, self.row, now=now)
            self.renewed_at = now
        except records.ClaimHeldElsewhere as held:
            self.lost = ClaimLost(held.holder.hostname)
        except records.ClaimReleased:
            self.lost = ClaimLost(None)
        if self.lost is not None:
            log.warning("%s", self.lost)
            raise self.lost
