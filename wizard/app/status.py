"""The synchronizing organization's status: what the status window and ``d365sync status`` show (one list of
what waits for the user: the messaging sync's conflicts and the offline decisions going online left open), and
the account check (:func:`check_account`: can this computer synchronize now, and if not, what to do where).

Reading the status never creates the state DB (only the engine does, so two threads never race to build its
schema); a :class:`StatusReader` reads one at a time and holds the same lock while it switches the
synchronizing organization, so no read meets the profile's state DB path half changed.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from wizard.app import instance, offline, orgs
from wizard.app.factory import Factory, NotConfigured
from wizard.app.mailbox import mailbox_readiness
from wizard.errors import D365SyncError
from wizard.offline.store import OfflineConflict
from wizard.settings import Profile
from wizard.sync.state import ConflictRecord, ErrorRecord, RunRecord, StateDB
from wizard.sync.status import StatusSnapshot, status_snapshot

log = logging.getLogger(__name__)


ACTIVITY_RUNS = 50  # how many of the latest runs the Log's activity list shows


@dataclass(frozen=True)
class RunActivity:
    """One run as the state DB keeps it (its counts per kind and direction) with the failures it recorded."""

    run: RunRecord
    errors: list[ErrorRecord] = field(default_factory=list)


@dataclass(frozen=True)
class StatusReport:
    """The state DB's snapshot, the conflicts that wait for a decision, the profile it was read with and,
    when asked for, the latest runs (newest first)."""

    snapshot: StatusSnapshot
    conflicts: list[ConflictRecord]  # unresolved, oldest first
    profile: Profile
    activity: list[RunActivity] = field(default_factory=list)
    queued_offline: dict[str, int] = field(default_factory=dict)  # org id -> offline changes not sent yet
    offline_conflicts: list[OfflineConflict] = field(
        default_factory=list
    )  # open offline decisions, oldest first


class WhoSynchronizes(NamedTuple):
    """The claim check: whether this computer synchronizes (False when none does) and the holder's name."""

    this_computer: bool
    hostname: str


class WizardPage(enum.StrEnum):
    """The Configuration Wizard's page that fixes a problem ("Open the wizard…" opens it there)."""

    NONE = ""  # nothing to fix: the wizard opens where it always does
    ORGANIZATIONS = "organizations"
    MAILBOX = "mailbox"
    COMPUTER = "computer"


@dataclass(frozen=True)
class AccountCheck:
    """The account as the status window starts it: whether it can synchronize (an organization synchronizes
    and the mailbox is bound in it), what to do when not (``user_text``, on ``page``), and who holds the
    synchronizing-computer claim (None: not asked because nothing can run, or Dynamics 365 did not answer)."""

    ready: bool
    user_text: str = ""
    page: WizardPage = WizardPage.NONE
    claim: WhoSynchronizes | None = None


def check_account(factory: Factory) -> AccountCheck:
    """One look at the setup as it is now (after the wizard, a switch, a bind): the synchronizing
    organization, the mailbox's binding there (:func:`wizard.app.mailbox.mailbox_readiness`, which may read
    the mailbox record) and the claim (network). The one source the status window takes its account state
    from, so it never contradicts what the wizard just did."""
    try:
        factory.require_sync_org()
    except NotConfigured as error:
        return AccountCheck(False, error.user_text, WizardPage.ORGANIZATIONS)
    readiness = mailbox_readiness(factory)
    if not readiness.ready:
        return AccountCheck(False, readiness.user_text, WizardPage.MAILBOX)
    try:
        claim = who_synchronizes(factory)
    except D365SyncError as error:  # the run that follows reports it
        log.info("status: could not read the claim: %s", error)
        return AccountCheck(True)
    return AccountCheck(True, "", WizardPage.NONE if claim.this_computer else WizardPage.COMPUTER, claim)


@dataclass
class OrgSwitch:
    """What switching the synchronizing organization came to: the organizations whose flags could not be
    cleared (name -> text) and, when the mailbox is not bound in the new one, what to do."""

    org_name: str
    failed: dict[str, str] = field(default_factory=dict)
    mailbox_text: str = ""  # empty: the mailbox is bound there and synchronization starts


def who_synchronizes(factory: Factory) -> WhoSynchronizes:
    """Read the claim on the synchronizing organization's mailbox record (network)."""
    claim = instance.read_claim(factory)
    if claim is None:
        return WhoSynchronizes(False, "")
    return WhoSynchronizes(claim.instance_id == factory.profile.instance_id, claim.hostname)


def read_status(factory: Factory, *, check_claim: bool = False, activity: bool = False) -> StatusReport:
    """The status of the synchronizing organization from its state DB (an empty one when it was never
    synchronized). ``check_claim``: also ask Dynamics 365 whether this computer synchronizes (a failure to
    ask is logged and leaves it unknown), as ``d365sync status`` does; the window asks separately.
    ``activity``: also the latest runs with their errors (the Log's activity list)."""
    profile = factory.profile
    is_sync: bool | None = None
    if check_claim and profile.sync_org is not None:
        try:
            is_sync = who_synchronizes(factory).this_computer
        except D365SyncError as error:
            log.info("status: could not read the claim: %s", error)
    queued = {o.id: offline.queued_changes(factory, o.id) for o in profile.organizations}
    queued = {org_id: count for org_id, count in queued.items() if count}
    decisions = offline.list_conflicts(factory, unresolved_only=True) if profile.sync_org is not None else []
    state_db = factory.where.state_db  # the synchronizing organization's own
    if not state_db.exists():  # never synchronized: an empty status
        with StateDB.open(":memory:") as empty:
            snapshot = status_snapshot(empty, profile, is_sync_computer=is_sync, next_run=None)
        return StatusReport(snapshot, [], profile, queued_offline=queued, offline_conflicts=decisions)
    with StateDB.open(state_db) as state:
        snapshot = status_snapshot(state, profile, is_sync_computer=is_sync, next_run=None)
        conflicts = state.conflicts(unresolved_only=True)
        runs = (
            [RunActivity(run, state.errors(run.id)) for run in state.runs(ACTIVITY_RUNS)] if activity else []
        )
    return StatusReport(snapshot, conflicts, profile, runs, queued, decisions)


def switch_to(factory: Factory, org_id: str) -> OrgSwitch:
    """Make ``org_id`` the synchronizing organization (server flags in every configured organization, the
    profile) and check the mailbox binding there; the failures are named by organization."""
    org = factory.org(org_id)
    switched = orgs.switch_sync_org(factory, org)
    names = {o.web_url: o.display_name for o in factory.profile.organizations}
    names.update({o.api_url: o.display_name for o in factory.profile.organizations})
    failed = {names.get(url, url): error.user_text for url, error in switched.report.failed.items()}
    mailbox = "" if switched.mailbox.ready else switched.mailbox.user_text
    return OrgSwitch(org.display_name, failed, mailbox)


class StatusReader:
    """The status of one profile for a window whose workers ask concurrently: one read at a time, and no read
    while the synchronizing organization changes."""

    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self._lock = threading.Lock()

    def read(self) -> StatusReport:
        with self._lock:
            return read_status(self.factory, activity=True)

    def switch(self, org_id: str) -> OrgSwitch:
        with self._lock:  # no status read meets the profile's state DB path meanwhile
            return switch_to(self.factory, org_id)

    def who_synchronizes(self) -> WhoSynchronizes:
        return who_synchronizes(self.factory)

    def check(self) -> AccountCheck:
        with self._lock:  # the readiness check may move the binding to the synchronizing organization
            return check_account(self.factory)
