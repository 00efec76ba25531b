"""The Configuration Wizard's controller: pages emit intents, this runs the use cases (``wizard.app``) on a worker thread
and answers with signals (Nextcloud's owncloudsetupwizard split: the wizard shows, the controller talks).

All use cases run on one worker thread of their own (``maxThreadCount`` 1): the steps are sequential in
the user's eyes, and the Factory (profile, token cache) is not meant for concurrent use. Results carry copies of
what the GUI shows, so the GUI thread never reads state a worker is changing.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from wizard.app import instance, mailbox, offline, options, orgs
from wizard.app.factory import Factory
from wizard.app.options import OptionsChoice
from wizard.crm.records import Claim, ClaimHeldElsewhere
from wizard.errors import D365SyncError
from wizard.settings import MailboxBinding, OrgProfile, Profile
from wizard.ui.workers import Task, TaskContext, TaskRunner

log = logging.getLogger(__name__)

# Operation names: the first argument of ``busy`` and ``failed``.
OP_DISCOVER = "discover"
OP_CONNECT = "connect"
OP_TEST = "test"
OP_SET_SYNC = "set_sync"
OP_REMOVE = "remove"
OP_CLAIM_READ = "claim_read"
OP_CLAIM = "claim"
OP_RELEASE = "release"
OP_PRIMARY_EMAIL = "primary_email"
OP_MAILBOX_TEST = "mailbox_test"
OP_MAILBOX_BIND = "mailbox_bind"
OP_MAILBOX_UNBIND = "mailbox_unbind"
OP_OPTIONS_LOAD = "options_load"
OP_DEFAULT_FILTERS = "default_filters"
OP_SAVE = "save"

# Connection states shown in the Organizations list.
STATE_UNTESTED = "untested"
STATE_CONNECTED = "connected"
STATE_FAILED = "failed"


@dataclass(frozen=True)
class OrgRow:
    """One row of the Organizations list (a snapshot)."""

    org: OrgProfile
    synchronizes: bool
    state: str  # STATE_*
    detail: str = ""  # why the last test failed


@dataclass(frozen=True)
class ClaimInfo:
    this_hostname: str
    this_instance: str
    claim: Claim | None
    org_name: str

    @property
    def held_here(self) -> bool:
        return self.claim is not None and self.claim.instance_id == self.this_instance


class WizardController(QObject):
    """Signals out to the pages; slots (plain methods) in from the pages' intents."""

    busy = Signal(str, bool)
    failed = Signal(str, object)  # operation, D365SyncError
    orgs_changed = Signal(object)  # list[OrgRow]
    device_code = Signal(object)  # DeviceFlow
    discovered = Signal(str, object)  # username, list[Instance]
    org_added = Signal(object, bool)  # OrgProfile, became the synchronizing organization
    sync_org_changed = Signal(object)  # records.SyncOrgReport
    claim_loaded = Signal(object)  # ClaimInfo
    claimed = Signal(object)  # Claim
    claim_conflict = Signal(object)  # Claim held by another computer
    released = Signal()
    primary_email_found = Signal(str)
    mailbox_tested = Signal(object)  # MailboxBinding with what was found
    mailbox_changed = Signal(object)  # MailboxBinding | None (bound / unbound)
    options_loaded = Signal(object)  # OptionsState
    filters_changed = Signal(object)  # list[UserQuery]
    saved = Signal()

    def __init__(self, factory: Factory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.factory = factory
        pool = QThreadPool(self)
        pool.setMaxThreadCount(1)
        self.runner = TaskRunner(self, pool)
        self._tasks: dict[str, Task] = {}
        self._states: dict[str, tuple[str, str]] = {}
        self._profile: Profile = copy.deepcopy(factory.profile)

    # -- plumbing ------------------------------------------------------------------------------
    def _start(
        self,
        op: str,
        work: Callable[[TaskContext], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[D365SyncError], None] | None = None,
    ) -> Task:
        def failure(error: D365SyncError) -> None:
            if on_failure is not None:
                on_failure(error)
            self.failed.emit(op, error)

        def finished() -> None:
            if self._tasks.get(op) is task:  # else a newer run of the same step is going on
                del self._tasks[op]
                self.busy.emit(op, False)

        task = self.runner.run(
            op, work, on_success=on_success, on_failure=failure, on_progress=self._progress
        )
        task.signals.finished.connect(finished)
        self._tasks[op] = task
        self.busy.emit(op, True)
        return task

    def _progress(self, value: object) -> None:
        from wizard.crm.auth import DeviceFlow

        if isinstance(value, DeviceFlow):
            self.device_code.emit(value)

    def cancel(self, op: str) -> None:
        task = self._tasks.get(op)
        if task is not None:
            task.cancel()

    def is_busy(self, op: str | None = None) -> bool:
        return op in self._tasks if op is not None else bool(self._tasks)

    def shutdown(self, timeout_ms: int = 3000) -> None:
        self.runner.wait_all(timeout_ms)

    @property
    def profile(self) -> Profile:
        """The last snapshot of the profile (safe to read in the GUI thread)."""
        return self._profile

    def _snapshot(self) -> Profile:
        """Called in the worker: a copy for the GUI thread."""
        return copy.deepcopy(self.factory.profile)

    def _take(self, profile: Profile) -> None:
        self._profile = profile
        self.emit_orgs()

    def emit_orgs(self) -> None:
        rows = []
        for org in self._profile.organizations:
            state, detail = self._states.get(org.id, (STATE_UNTESTED, ""))
            rows.append(OrgRow(org, org.id == self._profile.sync_org_id, state, detail))
        self.orgs_changed.emit(rows)

    # -- organizations -------------------------------------------------------------------------
    def discover(
        self,
        *,
        discovery_url: str,
        authority: str,
        ca_file: str = "",
        username: str = "",
        password: str | None = None,
    ) -> Task:
        def work(ctx: TaskContext) -> tuple[str, list[Any]]:
            return orgs.discover(
                self.factory,
                discovery_url=discovery_url,
                authority=authority,
                ca_file=ca_file,
                username=username,
                password=password,
                on_device_code=ctx.progress,
                cancelled=ctx.cancelled,
            )

        return self._start(OP_DISCOVER, work, lambda result: self.discovered.emit(result[0], result[1]))

    def connect_org(
        self,
        url: str,
        *,
        auth_kind: str = "oauth",
        username: str = "",
        password: str | None = None,
        ca_file: str = "",
        authority: str = "",
        discovery_url: str = "",
    ) -> Task:
        """Sign in, confirm with WhoAmI, and add the organization to the profile (the first one synchronizes)."""

        def work(ctx: TaskContext) -> tuple[OrgProfile, bool, Profile]:
            connected: orgs.ConnectedOrg = orgs.connect_org(
                self.factory,
                url,
                auth_kind=auth_kind,
                username=username,
                password=password,
                ca_file=ca_file,
                authority=authority,
                on_device_code=ctx.progress,
                cancelled=ctx.cancelled,
            )
            if discovery_url:
                connected.org.found_via = "discovery"
                connected.org.discovery_url = discovery_url
            became_sync = orgs.save_org(self.factory, connected)
            return copy.deepcopy(connected.org), became_sync, self._snapshot()

        def done(result: tuple[OrgProfile, bool, Profile]) -> None:
            org, became_sync, profile = result
            self._states[org.id] = (STATE_CONNECTED, "")
            self._take(profile)
            self.org_added.emit(org, became_sync)

        return self._start(OP_CONNECT, work, done)

    def test_org(self, org_id: str) -> Task:
        def work(ctx: TaskContext) -> str:
            orgs.check_org(self.factory, self.factory.org(org_id))
            return org_id

        def done(_: str) -> None:
            self._states[org_id] = (STATE_CONNECTED, "")
            self.emit_orgs()

        def fail(error: D365SyncError) -> None:
            self._states[org_id] = (STATE_FAILED, error.user_text)
            self.emit_orgs()

        return self._start(OP_TEST, work, done, fail)

    def set_sync_org(self, org_id: str) -> Task:
        def work(ctx: TaskContext) -> tuple[Any, Profile]:
            switched = orgs.switch_sync_org(self.factory, self.factory.org(org_id))  # the Mailbox page binds
            return switched.report, self._snapshot()

        def done(result: tuple[Any, Profile]) -> None:
            report, profile = result
            self._states[org_id] = (STATE_CONNECTED, "")
            self._take(profile)
            self.sync_org_changed.emit(report)

        return self._start(OP_SET_SYNC, work, done)

    def queued_changes(self, org_id: str) -> int:
        """Offline changes of ``org_id`` not sent yet (a local read, no network): removing or switching away
        from it warns first."""
        return offline.queued_changes(self.factory, org_id)

    def remove_org(self, org_id: str, *, discard_offline: bool = False) -> Task:
        """Remove it with its offline store; its unsent offline changes only with ``discard_offline``."""

        def work(ctx: TaskContext) -> Profile:
            orgs.remove_org(self.factory, self.factory.org(org_id), discard_offline=discard_offline)
            return self._snapshot()

        def done(profile: Profile) -> None:
            self._states.pop(org_id, None)
            self._take(profile)

        return self._start(OP_REMOVE, work, done)

    # -- the synchronizing computer ------------------------------------------------------------
    def read_claim(self) -> Task:
        def work(ctx: TaskContext) -> ClaimInfo:
            org = self.factory.require_sync_org()
            return ClaimInfo(
                instance.hostname(),
                self.factory.profile.instance_id,
                instance.read_claim(self.factory),
                org.display_name,
            )

        return self._start(OP_CLAIM_READ, work, self.claim_loaded.emit)

    def claim(self, *, force: bool = False) -> Task:
        """Make this computer the synchronizing client; another holder is answered with ``claim_conflict``."""

        def work(ctx: TaskContext) -> Claim | ClaimHeldElsewhere:
            try:
                return instance.claim_instance(self.factory, force=force)
            except ClaimHeldElsewhere as held:
                return held

        def done(result: Claim | ClaimHeldElsewhere) -> None:
            if isinstance(result, ClaimHeldElsewhere):
                self.claim_conflict.emit(result.claim)
            else:
                self.claimed.emit(result)

        return self._start(OP_CLAIM, work, done)

    def release(self) -> Task:
        """This computer stops being the synchronizing client (the claim is removed if it is ours)."""
        return self._start(
            OP_RELEASE, lambda ctx: instance.release_claim(self.factory), lambda _: self.released.emit()
        )

    # -- the primary mailbox -------------------------------------------------------------------
    def find_primary_email(self) -> Task:
        return self._start(
            OP_PRIMARY_EMAIL, lambda ctx: mailbox.primary_email(self.factory), self.primary_email_found.emit
        )

    def test_mailbox(self, binding: MailboxBinding, password: str | None) -> Task:
        return self._start(
            OP_MAILBOX_TEST,
            lambda ctx: mailbox.check_mailbox(self.factory, binding, password),
            self.mailbox_tested.emit,
        )

    def bind_mailbox(self, binding: MailboxBinding, password: str | None) -> Task:
        def work(ctx: TaskContext) -> tuple[MailboxBinding, Profile]:
            bound = mailbox.bind_mailbox(self.factory, binding, password)
            return copy.deepcopy(bound), self._snapshot()

        def done(result: tuple[MailboxBinding, Profile]) -> None:
            self._profile = result[1]
            self.mailbox_changed.emit(result[0])

        return self._start(OP_MAILBOX_BIND, work, done)

    def unbind_mailbox(self) -> Task:
        def work(ctx: TaskContext) -> Profile:
            mailbox.unbind_mailbox(self.factory)
            return self._snapshot()

        def done(profile: Profile) -> None:
            self._profile = profile
            self.mailbox_changed.emit(None)

        return self._start(OP_MAILBOX_UNBIND, work, done)

    # -- what to synchronize -------------------------------------------------------------------
    def load_options(self) -> Task:
        return self._start(
            OP_OPTIONS_LOAD, lambda ctx: options.load_options(self.factory), self.options_loaded.emit
        )

    def create_default_filters(self) -> Task:
        return self._start(
            OP_DEFAULT_FILTERS,
            lambda ctx: options.create_default_filters(self.factory),
            self.filters_changed.emit,
        )

    def save(self, choice: OptionsChoice | None) -> Task:
        """Finish: write the filters' states and the user settings to Dynamics 365, then the profile."""

        def work(ctx: TaskContext) -> Profile:
            if choice is not None:
                options.apply_options(self.factory, choice)
            self.factory.save()
            return self._snapshot()

        def done(profile: Profile) -> None:
            self._profile = profile
            self.saved.emit()

        return self._start(OP_SAVE, work, done)
