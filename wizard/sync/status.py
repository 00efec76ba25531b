"""What the status window and ``d365sync status`` show: per kind the last run, its counts, conflicts, errors.

Built from the state DB alone (plus facts the caller knows: whether this computer synchronizes and when the
next run is due), so it costs no network request. ``StatusSnapshot.to_json()`` is the documented
``d365sync status --json`` shape::

    {"is_sync_computer": true | false | null,
     "sync_org": {"id": "…", "name": "…"} | null,
     "mailbox": {"address": "…", "kind": "exchange"} | null,
     "last_run": {"id": 3, "started": "…Z", "finished": "…Z", "status": "ok"} | null,
     "next_run": "…Z" | null,
     "kinds": [{"kind": "contacts", "enabled": true, "last_run": "…Z" | null,
                "status": "ok" | "error" | "needs_confirmation" | "running" | "never",
                "to_crm": {"created": 0, "updated": 0, "deleted": 0, "unlinked": 0, "conflicts": 0, "errors": 0},
                "to_mailbox": {…same keys…}, "linked": 12, "unresolved_conflicts": 0,
                "waiting": 0, "skipped": 0, "errors": ["…user text…"]}, …]}

``waiting`` (appointments): changed or deleted occurrences of recurring series made in the mailbox that wait
for Dynamics 365 to have those occurrences (beyond its expansion window; docs/field-mappings.md).
``skipped`` (email): messages of the last run not tracked because another message of the mailbox is the
Dynamics 365 email with their Message-ID already ("N skipped: already tracked"; not an error).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from wizard.errors import Severity
from wizard.isotime import iso_z
from wizard.settings.enums import ALL_KINDS, Kind
from wizard.settings.profile import Profile
from wizard.sync.reporter import describe_counts
from wizard.sync.run import ALREADY_TRACKED, KindCounts, KindRunStatus, RunStatus, already_tracked_text
from wizard.sync.state import RunCounts, RunRecord, StateDB

NEVER = "never"  # a kind no run included yet


@dataclass
class KindStatus:
    kind: str
    enabled: bool
    last_run: str | None = None
    status: str = NEVER  # a KindRunStatus, RunStatus.RUNNING or NEVER
    to_crm: RunCounts = field(default_factory=RunCounts)
    to_mailbox: RunCounts = field(default_factory=RunCounts)
    linked: int = 0
    unresolved_conflicts: int = 0
    waiting: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "enabled": self.enabled,
            "last_run": self.last_run,
            "status": self.status,
            "to_crm": asdict(self.to_crm),
            "to_mailbox": asdict(self.to_mailbox),
            "linked": self.linked,
            "unresolved_conflicts": self.unresolved_conflicts,
            "waiting": self.waiting,
            "skipped": self.skipped,
            "errors": list(self.errors),
        }


@dataclass
class StatusSnapshot:
    is_sync_computer: bool | None
    sync_org: dict[str, str] | None
    mailbox: dict[str, str] | None
    last_run: dict[str, Any] | None
    next_run: str | None
    kinds: list[KindStatus]

    def kind(self, name: str) -> KindStatus:
        return next(k for k in self.kinds if k.kind == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "is_sync_computer": self.is_sync_computer,
            "sync_org": self.sync_org,
            "mailbox": self.mailbox,
            "last_run": self.last_run,
            "next_run": self.next_run,
            "kinds": [k.to_json() for k in self.kinds],
        }


def for_people(value: object) -> str:
    """An ISO moment as local time to the minute ("25 Nov 2026 10:42"); anything else as it is."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    return moment.astimezone().strftime("%d %b %Y %H:%M")


def _kind_status(state: StateDB, kind: str, enabled: bool, runs: list[RunRecord]) -> KindStatus:
    out = KindStatus(kind, enabled)
    out.linked = state.count_links(kind)  # type: ignore[arg-type]
    out.unresolved_conflicts = len(state.conflicts(kind, unresolved_only=True))  # type: ignore[arg-type]
    out.waiting = state.count_waiting(kind) if kind == Kind.APPOINTMENTS else 0  # type: ignore[arg-type]
    for run in runs:  # newest first: the last run that included this kind
        if not any(k == kind for k, _ in run.counts):
            continue
        out.last_run = run.finished or run.started
        out.to_crm = run.counts.get((kind, "to_crm"), RunCounts())
        out.to_mailbox = run.counts.get((kind, "to_mailbox"), RunCounts())
        errors = [e for e in state.errors(run.id) if e.kind == kind and e.item != ALREADY_TRACKED]
        out.errors = [e.message for e in errors]
        out.skipped = sum(
            _leading_count(e.message)
            for e in state.errors(run.id)
            if e.kind == kind and e.item == ALREADY_TRACKED
        )
        if run.status == RunStatus.RUNNING:
            out.status = RunStatus.RUNNING
        elif any(
            e.item == KindRunStatus.NEEDS_CONFIRMATION for e in errors
        ):  # the engine's mass-delete marker
            out.status = KindRunStatus.NEEDS_CONFIRMATION
        elif any(e.severity >= Severity.KIND for e in errors):
            out.status = KindRunStatus.ERROR
        else:
            out.status = KindRunStatus.OK
        break
    return out


def status_snapshot(
    state: StateDB, profile: Profile, *, is_sync_computer: bool | None, next_run: datetime | None
) -> StatusSnapshot:
    """The status of every kind from the state DB (newest run first); no network access."""
    runs = state.runs(limit=50)
    org = profile.sync_org
    binding = profile.mailbox
    last = runs[0] if runs else None
    kinds = [_kind_status(state, k, bool(profile.sync.kinds.get(k, True)), runs) for k in ALL_KINDS]
    return StatusSnapshot(
        is_sync_computer=is_sync_computer,
        sync_org={"id": org.id, "name": org.display_name} if org else None,
        mailbox={"address": binding.address, "kind": binding.kind} if binding else None,
        last_run=(
            {"id": last.id, "started": last.started, "finished": last.finished, "status": last.status}
            if last
            else None
        ),
        next_run=iso_z(next_run),
        kinds=kinds,
    )


def status_lines(snapshot: StatusSnapshot) -> list[str]:
    """The status as a small table for people (``d365sync status``, ``demo --headless``)."""
    lines: list[str] = []
    org = snapshot.sync_org["name"] if snapshot.sync_org else "none"
    mailbox = f"{snapshot.mailbox['address']} ({snapshot.mailbox['kind']})" if snapshot.mailbox else "none"
    lines.append(f"Synchronizing organization: {org}")
    lines.append(f"Mailbox: {mailbox}")
    if snapshot.is_sync_computer is not None:
        lines.append(
            "This computer synchronizes."
            if snapshot.is_sync_computer
            else "This computer is not the synchronizing computer: nothing is synchronized here."
        )
    if snapshot.last_run:
        when = for_people(snapshot.last_run["finished"] or snapshot.last_run["started"])
        lines.append(f"Last run: {when} ({snapshot.last_run['status']})")
    else:
        lines.append("Last run: never")
    if snapshot.next_run:
        lines.append(f"Next run: {for_people(snapshot.next_run)}")
    rows = []
    for k in snapshot.kinds:
        rows.append(
            [
                k.kind,
                k.status if k.enabled else "off",
                describe_counts(_kc(k.to_crm)),
                describe_counts(_kc(k.to_mailbox)),
                str(k.linked),
                str(k.unresolved_conflicts),
            ]
        )
    headers = ["Kind", "Status", "To Dynamics 365", "To mailbox", "Linked", "Conflicts"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines.append("")
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    for k in snapshot.kinds:
        if k.skipped:
            lines.append(f"  {k.kind}: {already_tracked_text(k.skipped)}")
        for message in k.errors[:3]:
            lines.append(f"  {k.kind}: {message}")
        if k.waiting:
            lines.append(
                f"  {k.kind}: {k.waiting} changed or deleted occurrence(s) of recurring appointments wait until "
                "Dynamics 365 has those occurrences (beyond its expansion window); they are written then."
            )
    return lines


def _leading_count(text: str) -> int:
    """The N of "N skipped: already tracked"."""
    head = text.split(" ", 1)[0]
    return int(head) if head.isdigit() else 0


def _kc(counts: RunCounts) -> KindCounts:
    return KindCounts(**asdict(counts))
