"""The status window's view model: what the window shows that is not a live engine event (the rows per kind,
the conflicts to decide, the mailbox and the organizations), and how it is made from the application layer's
status report. No widgets here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wizard.app.conflicts import field_label
from wizard.app.status import OrgSwitch, RunActivity, StatusReport
from wizard.settings import Profile
from wizard.settings.enums import ALL_KINDS
from wizard.sync.engine import KindCounts
from wizard.sync.state import ConflictRecord
from wizard.sync.status import StatusSnapshot

__all__ = [
    "KIND_ORDER",
    "MAILBOX_KINDS",
    "ConflictView",
    "KindRow",
    "LoadStatus",
    "OrgSwitch",
    "Resolve",
    "StatusView",
    "SwitchOrg",
    "view_from_report",
    "view_from_snapshot",
]

KIND_ORDER = ALL_KINDS
MAILBOX_KINDS = {"exchange": "Exchange", "exchange_online": "Exchange Online", "pop3": "POP3"}
Resolve = Callable[[int, str], None]  # (conflict id, "mailbox" | "crm"); may do I/O: runs on a worker


@dataclass
class KindRow:
    """One row of the table."""

    kind: str
    last_run: datetime | None = None
    last_status: str = ""  # "ok" | "error" | "skipped" | "needs_confirmation" | "" (never ran)
    to_mailbox: KindCounts = field(default_factory=KindCounts)
    to_crm: KindCounts = field(default_factory=KindCounts)
    conflicts: int = 0  # unresolved
    errors: list[str] = field(default_factory=list)  # user texts of the last run's errors
    waiting: int = 0  # occurrence changes that wait for Dynamics 365's expansion window (appointments)


@dataclass
class ConflictView:
    """An unresolved conflict: the record, the field and both values (the state DB's ConflictRecord, trimmed).

    ``field`` is the logical name ("department"), ``label`` its English display name ("Department"; the card
    shows its translation), ``item`` the record's name ("Jörg Bär", a subject) when the log knows it."""

    id: int
    kind: str
    field: str
    crm_value: Any
    mailbox_value: Any
    winner: str | None = (
        None  # the side whose value the policy applied to both ("crm" | "mailbox"); None: ask
    )
    item: str = ""
    label: str = ""


@dataclass(frozen=True)
class OfflineDecisionView:
    """An offline change going online held for the user (``wizard.offline.decide``): a field changed on both
    sides ("ask me"), a record deleted on one side and edited on the other (field ``*``), a duplicate."""

    id: int
    table: str  # the logical name: "contact", "account", …
    field: str
    server_value: Any
    local_value: Any
    reason: str  # "deleted_on_server", "edited_on_server", "duplicate", or the merge's reason for a field
    item: str = ""


@dataclass
class StatusView:
    """Everything the window shows that is not a live engine event."""

    org_name: str = ""
    mailbox_address: str = ""
    mailbox_kind: str = ""
    is_sync_computer: bool | None = None
    sync_computer: str = ""  # the other computer's name when this one does not synchronize
    kinds: list[KindRow] = field(default_factory=list)
    conflicts: list[ConflictView] = field(default_factory=list)
    organizations: list[tuple[str, str]] = field(default_factory=list)  # (id, name) of the configured ones
    sync_org_id: str = ""
    activity: list[RunActivity] = field(default_factory=list)  # the latest runs, newest first (the Log)
    queued_offline: dict[str, int] = field(default_factory=dict)  # org id -> offline changes not sent yet
    offline_decisions: list[OfflineDecisionView] = field(default_factory=list)  # under "Needs your attention"


LoadStatus = Callable[[], StatusView]
SwitchOrg = Callable[[str], OrgSwitch]  # (organization id); flips the server flags: runs on a worker


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def view_from_snapshot(
    snapshot: StatusSnapshot,
    conflicts: list[ConflictRecord],
    hostname: str = "",
    profile: Profile | None = None,
) -> StatusView:
    """The window's view of ``wizard.sync.status.StatusSnapshot`` plus the unresolved ConflictRecords and the
    profile's organizations."""
    rows = [
        KindRow(
            kind=k.kind,
            last_run=_parse_time(k.last_run),
            last_status="" if k.status in ("never", "running") else k.status,
            to_mailbox=KindCounts(**vars(k.to_mailbox)),
            to_crm=KindCounts(**vars(k.to_crm)),
            conflicts=k.unresolved_conflicts,
            errors=list(k.errors),
            waiting=k.waiting,
        )
        for k in snapshot.kinds
        if k.enabled
    ]
    return StatusView(
        org_name=(snapshot.sync_org or {}).get("name", ""),
        mailbox_address=(snapshot.mailbox or {}).get("address", ""),
        mailbox_kind=(snapshot.mailbox or {}).get("kind", ""),
        is_sync_computer=snapshot.is_sync_computer,
        sync_computer=hostname,
        kinds=rows,
        conflicts=[
            ConflictView(
                c.id,
                c.kind,
                c.field,
                c.crm_value,
                c.mailbox_value,
                winner=c.winner,
                item=c.item,
                label=field_label(c.kind, c.field),
            )
            for c in conflicts
        ],
        organizations=[(o.id, o.display_name) for o in getattr(profile, "organizations", [])],
        sync_org_id=getattr(profile, "sync_org_id", None) or "",
    )


def view_from_report(report: StatusReport) -> StatusView:
    """The window's view of :func:`wizard.app.status.read_status`."""
    view = view_from_snapshot(report.snapshot, report.conflicts, profile=report.profile)
    view.activity = list(report.activity)
    view.queued_offline = dict(report.queued_offline)
    view.offline_decisions = [
        OfflineDecisionView(
            c.id, c.table, c.field, c.server_value, c.local_value, c.reason, c.item or c.row_id
        )
        for c in report.offline_conflicts
    ]
    return view
