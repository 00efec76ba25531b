"""One run's vocabulary, shared by the engine and the kinds: statuses, counts, results, options, context.

The engine (``wizard.sync.engine``) builds a :class:`RunContext` once per run, with the :class:`RunOptions`
taken from the profile, and hands it to each kind's :class:`KindSync`; the kinds report a
:class:`KindResult`. Everything here is plain data, so both sides import it and neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from wizard.settings.enums import DEFAULT_POLICY, ConflictPolicy, Kind

if TYPE_CHECKING:
    from wizard.crm.client import DataverseClient
    from wizard.crm.entities import UserQuery
    from wizard.mailbox.base import MailboxStore
    from wizard.settings.profile import OrgProfile, Profile
    from wizard.sync.state import StateDB


class KindRunStatus(StrEnum):
    """How one kind's part of a run ended (equal to the strings the CLI, the GUI and the JSON use)."""

    OK = "ok"
    ERROR = "error"
    SKIPPED = "skipped"
    NEEDS_CONFIRMATION = "needs_confirmation"  # a mass delete waits for the user's yes


class RunStatus(StrEnum):
    """How a whole run ended."""

    OK = "ok"
    PARTIAL = "partial"  # some kinds failed
    FAILED = "failed"
    NOT_SYNC_COMPUTER = "not_sync_computer"  # another computer holds the synchronizing-computer claim
    DRY_RUN = "dry_run"
    RUNNING = "running"  # in the state DB while the run is under way (or when it died)


@dataclass
class KindCounts:
    """Counts for one kind and one direction."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unlinked: int = 0
    conflicts: int = 0
    errors: int = 0


#: the ``item`` of the run-log entry that carries a kind's "N skipped: already tracked" (not an error)
ALREADY_TRACKED = "already_tracked"


def already_tracked_text(count: int) -> str:
    """The run summary's and the status's words for ``KindResult.skipped``."""
    return f"{count} skipped: already tracked"


@dataclass
class KindResult:
    kind: str  # a Kind
    to_crm: KindCounts = field(default_factory=KindCounts)
    to_mailbox: KindCounts = field(default_factory=KindCounts)
    status: KindRunStatus = KindRunStatus.OK
    message: str = ""  # user text for error / needs_confirmation
    #: mailbox messages not tracked because Dynamics 365 has an email with their Message-ID that another
    #: message of the mailbox is linked to already (email: "N skipped: already tracked")
    skipped: int = 0


@dataclass
class RunSummary:
    run_id: int | None
    started: datetime
    finished: datetime
    status: RunStatus
    kinds: list[KindResult] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # human lines of the plan (dry run)


class Reporter(Protocol):
    """Progress events; the GUI adapts them to Qt signals."""

    def run_started(self, kinds: Sequence[str]) -> None: ...
    def kind_started(self, kind: str) -> None: ...
    def progress(self, kind: str, done: int, total: int | None, message: str = "") -> None: ...
    def kind_finished(self, result: KindResult) -> None: ...
    def run_finished(self, summary: RunSummary) -> None: ...


class NullReporter:
    """A Reporter that does nothing."""

    def run_started(self, kinds: Sequence[str]) -> None:
        pass

    def kind_started(self, kind: str) -> None:
        pass

    def progress(self, kind: str, done: int, total: int | None, message: str = "") -> None:
        pass

    def kind_finished(self, result: KindResult) -> None:
        pass

    def run_finished(self, summary: RunSummary) -> None:
        pass


@dataclass(frozen=True)
class RunOptions:
    """The user's choices a run needs, taken from the profile once per run (the kinds never read the profile).

    ``field_directions``: per kind, field -> direction override (0..3) as the profile stores them.
    """

    conflict_policy: Mapping[str, ConflictPolicy] = field(default_factory=dict)
    field_directions: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    sync_all_addresses: bool = False  # contacts: all three addresses instead of the mailing address only
    send_email: bool = True  # send the user's Pending Send emails
    mailbox_address: str = ""  # the bound mailbox's address ("" when none is bound)

    @classmethod
    def from_profile(cls, profile: Profile) -> RunOptions:
        sync = profile.sync
        return cls(
            conflict_policy={kind: ConflictPolicy(policy) for kind, policy in sync.conflict_policy.items()},
            field_directions={kind: dict(fields) for kind, fields in sync.field_directions.items()},
            sync_all_addresses=sync.sync_all_addresses,
            send_email=sync.send_email,
            mailbox_address=profile.mailbox.address if profile.mailbox else "",
        )

    def policy(self, kind: Kind) -> ConflictPolicy:
        return self.conflict_policy.get(kind, DEFAULT_POLICY)

    def directions(self, kind: Kind) -> Mapping[str, int] | None:
        return self.field_directions.get(kind)


@dataclass
class RunContext:
    """What one run's kinds share: the connections, the state DB, the options and what was read once."""

    crm: DataverseClient
    mailbox: MailboxStore
    state: StateDB
    options: RunOptions
    org: OrgProfile
    user_id: str
    reporter: Reporter
    run_id: int | None
    now: datetime
    planned: list[str] = field(default_factory=list)  # plan lines (dry run, mass delete) the kinds append to
    # Read once per run, shared by the record kinds:
    outlook_filters: list[UserQuery] | None = None  # the user's Outlook filters (all tables)
    sync_contact_company: bool | None = None  # the user's "synchronize the contact's company" setting
    #: what email needs from Dynamics 365 (filtering method, tracking prefix, attachment limit, the user's
    #: address and name: ``wizard.sync.email.common.read_settings``), as plain values the run cache keeps
    email_server: dict[str, Any] | None = None
    attendee_resolver: Callable[[str], tuple[str, str] | None] | None = None  # address -> (table, id)
    missing_columns: set[str] = field(default_factory=set)  # optional columns this organization lacks
    series_touched: set[str] = field(default_factory=set)  # series whose instances changed (appointments)
    #: the engine's claim check (``wizard.sync.claim.ClaimGuard.check``); None in a dry run and in tests
    claim_check: Callable[[], None] | None = None

    def before_writes(self) -> None:
        """Call at the start of each batch of writes to either side: renews the synchronizing-computer
        claim, or raises ``ClaimLost`` (account level: the run stops) when another computer took over."""
        if self.claim_check is not None:
            self.claim_check()


class KindSync(Protocol):
    """One kind's synchronizer; the engine calls run() per kind."""

    kind: str

    def run(self, ctx: RunContext, *, dry_run: bool, force: bool) -> KindResult: ...
