"""``d365sync sync``, ``status`` and ``conflicts list|resolve`` (DESIGN section 3)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
import threading
from dataclasses import asdict
from datetime import timedelta
from typing import Any, TextIO

from wizard.app.conflicts import KIND_LABELS, field_label, list_conflicts, resolve_conflict
from wizard.app.factory import Factory, NotConfigured
from wizard.app.offline import offline_status
from wizard.app.schedule import (
    FLOOR_MINUTES,
    Schedule,
    ServerIntervals,
    interval_for,
    read_server_intervals,
)
from wizard.app.status import read_status
from wizard.cli.configured import require_sync_org
from wizard.cli.output import (
    EXIT_FAILURE,
    EXIT_OK,
    Command,
    NotSynchronizingComputer,
    confirm,
    emit_json,
    table,
)
from wizard.errors import D365SyncError
from wizard.isotime import iso_z
from wizard.settings.enums import RECORD_KINDS, Kind
from wizard.sync.reporter import LogReporter, describe_counts
from wizard.sync.run import KindResult, KindRunStatus, RunStatus, RunSummary
from wizard.sync.status import StatusSnapshot

log = logging.getLogger(__name__)


_FINISHED = {
    RunStatus.OK: "Synchronization finished.",
    RunStatus.PARTIAL: "Synchronization finished, but not every kind could be synchronized (see above).",
    RunStatus.FAILED: "Synchronization failed (see above).",
    RunStatus.DRY_RUN: "Dry run finished: nothing was changed.",
}


class CliReporter(LogReporter):
    """The engine's progress on standard error in words (a dry run says what it would do)."""

    def __init__(self, stream: TextIO, *, dry_run: bool = False) -> None:
        super().__init__(stream)
        self.dry_run = dry_run

    def kind_finished(self, result: KindResult) -> None:
        if not self.dry_run:
            super().kind_finished(result)
            return
        text = (
            f"{result.kind}: would do — to Dynamics 365: {describe_counts(result.to_crm)}; "
            f"to the mailbox: {describe_counts(result.to_mailbox)}"
        )
        self._say(text + (f" — {result.message}" if result.message else ""))

    def run_finished(self, summary: RunSummary) -> None:
        text = _FINISHED.get(summary.status)
        if text is None:
            super().run_finished(summary)
        else:
            self._say(text)


def _summary_dict(summary: Any) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "started": iso_z(summary.started, precise=True),
        "finished": iso_z(summary.finished, precise=True),
        "status": summary.status,
        "kinds": [asdict(k) for k in summary.kinds],
        "planned": list(summary.planned),
    }


def _not_sync_computer(factory: Factory) -> NotSynchronizingComputer:
    org = factory.profile.sync_org
    return NotSynchronizingComputer(
        "not the synchronizing computer",
        user_text="This computer is not the synchronizing client"
        + (f" for {org.display_name}" if org else "")
        + ", so nothing was synchronized. Make it the synchronizing client: d365sync instance claim",
    )


def sync_after_going_online(factory: Factory, *, yes: bool) -> int:
    """One messaging sync right after ``offline online`` (as going online did in the original). A sync that
    cannot run here (not set up, another computer synchronizes) is a note: going online itself succeeded."""
    args = argparse.Namespace(kind=None, dry_run=False, yes=yes, json=False)
    print("Synchronizing email, contacts, appointments and tasks…", file=sys.stderr)
    try:
        with factory.engine(CliReporter(sys.stderr, dry_run=False)) as engine:
            return _sync_once(factory, engine, args)
    except (NotConfigured, NotSynchronizingComputer) as error:
        print(f"d365sync: the messaging sync did not run: {error.user_text}", file=sys.stderr)
        return EXIT_OK


def _sync_once(factory: Factory, engine: Any, args: argparse.Namespace) -> int:
    summary = _run_and_show(factory, engine, args)
    return EXIT_OK if summary.status in (RunStatus.OK, RunStatus.DRY_RUN) else EXIT_FAILURE


def _run_and_show(factory: Factory, engine: Any, args: argparse.Namespace) -> Any:
    """One run (a mass delete confirmed or refused), shown as asked; returns the RunSummary."""
    kinds = args.kind or None
    summary = engine.run_once(kinds, dry_run=args.dry_run, fresh=getattr(args, "fresh", False))
    if summary.status == RunStatus.NOT_SYNC_COMPUTER:
        stopped = next((k.message for k in summary.kinds if k.message), "")
        if stopped:  # another computer took over during the run: what ran before its next batch is kept
            raise NotSynchronizingComputer(
                "the claim was lost during the run",
                user_text=stopped + " What was synchronized before that is kept. To synchronize from this "
                "computer again: d365sync instance claim",
            )
        raise _not_sync_computer(factory)
    asking = [k.kind for k in summary.kinds if k.status == KindRunStatus.NEEDS_CONFIRMATION]
    if asking and not args.dry_run:
        for kind in summary.kinds:
            if kind.status == KindRunStatus.NEEDS_CONFIRMATION:
                print(kind.message, file=sys.stderr)
        if confirm("Delete them?", yes=args.yes):
            again = engine.run_once(asking, force=True)
            done = {k.kind: k for k in again.kinds}
            summary.kinds = [done.get(k.kind, k) for k in summary.kinds]
            statuses = {k.status for k in summary.kinds}
            summary.status = (
                RunStatus.OK if statuses <= {KindRunStatus.OK, KindRunStatus.SKIPPED} else RunStatus.PARTIAL
            )
        else:
            print("Nothing was deleted. Run again with --yes to delete them.", file=sys.stderr)
    if args.json:
        emit_json(_summary_dict(summary))
    elif args.dry_run:
        print("Dry run: nothing was changed. The plan:")
        print("\n".join(f"  {line}" for line in summary.planned) or "  nothing to do")
    return summary


def wait_for_next(stop: threading.Event, seconds: float) -> bool:
    """Sleep until the next run; True when asked to stop meanwhile (tests replace this: no wall-clock waits)."""
    return stop.wait(seconds)


def _server_intervals(factory: Factory) -> ServerIntervals | None:
    """The user's interval and the organization's minimum, read once; unknown (the 15-minute floor) when the
    server cannot tell now."""
    try:
        return read_server_intervals(factory)
    except D365SyncError as error:
        log.info("sync: the interval could not be read from the server: %s", error)
        return None


def interval_note(profile_minutes: int | None, server: ServerIntervals | None, org_name: str) -> str | None:
    """Why the interval is longer than the one asked for (the organization's minimum), or None."""
    wanted = profile_minutes or (server.user_minutes if server else None)
    if not wanted:
        return None
    used = round(interval_for(profile_minutes, server).total_seconds() / 60)
    if used <= wanted:
        return None
    if server is not None and server.org_minimum:
        why = f"{org_name} allows no less than {used} minutes (its minimum synchronization interval)"
    else:
        why = (
            f"{org_name}'s minimum could not be read, so the usual minimum of {FLOOR_MINUTES} minutes applies"
        )
    return f"The interval of {wanted} minutes is too short: {why}. Synchronizing every {used} minutes."


def cmd_sync(factory: Factory, args: argparse.Namespace) -> int:
    """One sync (--once, --dry-run) or a sync on the schedule (wizard.app.schedule) until interrupted."""
    org = require_sync_org(factory)
    with factory.engine(CliReporter(sys.stderr, dry_run=args.dry_run)) as engine:
        if args.once or args.dry_run:
            return _sync_once(factory, engine, args)
        server = _server_intervals(factory)
        schedule = Schedule(factory.profile.sync.interval_minutes, server)
        note = interval_note(factory.profile.sync.interval_minutes, server, org.display_name)
        if note:
            print(f"d365sync: {note}", file=sys.stderr)
        stop = threading.Event()

        def handler(signum: int, frame: Any) -> None:
            stop.set()

        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            code = EXIT_OK
            while not stop.is_set():
                delay: timedelta | None
                try:
                    summary = _run_and_show(factory, engine, args)
                except D365SyncError as error:
                    delay = schedule.after_error(error)
                    if delay is None:  # will not heal by itself: the user has to act
                        raise
                    print(f"d365sync: {error.user_text}", file=sys.stderr)
                    code = EXIT_FAILURE
                else:
                    code = EXIT_OK if summary.status in (RunStatus.OK, RunStatus.DRY_RUN) else EXIT_FAILURE
                    delay = schedule.after_summary(summary)
                minutes = math.ceil(delay.total_seconds() / 60)
                print(f"Next synchronization in {minutes} minutes (Ctrl+C stops).", file=sys.stderr)
                if wait_for_next(stop, delay.total_seconds()):
                    break
            return code
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)


def current_status(factory: Factory) -> StatusSnapshot:
    """The status view for ``status`` and the demo (the claim read when an organization synchronizes)."""
    return read_status(factory, check_claim=True).snapshot


def cmd_status(factory: Factory, args: argparse.Namespace) -> int:
    from wizard.sync.status import status_lines

    try:
        require_sync_org(factory)
    except NotConfigured as error:
        if args.json:  # the JSON contract holds with nothing configured too (exit code 3 as without --json)
            problem = "no_sync_org" if factory.profile.organizations else "no_organization"
            emit_json({"configured": False, "problem": problem, "message": error.user_text})
        raise
    snapshot = current_status(factory)
    if args.json:
        emit_json({"configured": True, **snapshot.to_json(), "offline": offline_status(factory).to_json()})
    else:
        print("\n".join(status_lines(snapshot)))
    return EXIT_OK


def _conflict_dict(c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind,
        "crm_id": c.crm_id,
        "mailbox_id": c.mailbox_id,
        "item": c.item,
        "field": c.field,
        "field_label": field_label(c.kind, c.field),
        "crm_value": c.crm_value,
        "mailbox_value": c.mailbox_value,
        "base_value": c.base_value,
        "policy": c.policy,
        "reason": c.reason,
        "winner": c.winner,
        "resolved": c.resolved,
        "created_at": c.created_at,
        "resolved_at": c.resolved_at,
    }


def _short(value: Any, width: int = 30) -> str:
    text = (
        "—" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    )
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_conflicts_list(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    conflicts = list_conflicts(factory, unresolved_only=args.open)
    if args.json:
        emit_json({"conflicts": [_conflict_dict(c) for c in conflicts]})
        return EXIT_OK
    if not conflicts:
        print("No conflicts wait for a decision." if args.open else "No conflicts were recorded.")
        return EXIT_OK
    rows = [
        [
            str(c.id),
            KIND_LABELS.get(c.kind, c.kind) + (f" · {_short(c.item)}" if c.item else ""),
            field_label(c.kind, c.field),
            _short(c.crm_value),
            _short(c.mailbox_value),
            (c.winner or "ask") + (" ✓" if c.resolved else ""),
            c.reason,
        ]
        for c in conflicts
    ]
    print(table(rows, ["Id", "Record", "Field", "Dynamics 365", "Mailbox", "Applied", "Why"]))
    if any(not c.resolved for c in conflicts):
        print("\nDecide an open one (Applied: ask): d365sync conflicts resolve ID --use crm|mailbox")
        print("Both sides then have that value.")
    else:
        print("\nApply the other value: d365sync conflicts resolve ID --use crm|mailbox")
    return EXIT_OK


def cmd_conflicts_resolve(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    try:
        done = resolve_conflict(
            factory, args.id, args.use, not_sync_computer=lambda: _not_sync_computer(factory)
        )
    except KeyError:
        print(f"d365sync: there is no conflict {args.id}. See: d365sync conflicts list", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Conflict {args.id}: {done}.")
    return EXIT_OK


def register(sub: Any, command: Command) -> None:
    """`sync`, `status`, `conflicts list|resolve` (DESIGN section 3)."""
    p = command(sub, "sync", cmd_sync, "synchronize contacts, appointments, tasks and email")
    p.add_argument("--once", action="store_true", help="one run, then exit (default: every interval)")
    p.add_argument(
        "--kind",
        action="append",
        choices=[*RECORD_KINDS, Kind.EMAIL],
        help="only this kind (repeatable)",
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be done; change nothing")
    p.add_argument("--yes", action="store_true", help="confirm a mass delete without asking")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="read the synchronizing-computer claim and your filters and settings in Dynamics 365 again, "
        "even when the last run read them a few minutes ago",
    )
    p = command(sub, "status", cmd_status, "last runs, counts per kind and direction, conflicts, errors")
    p.add_argument("--json", action="store_true", help="print the status as JSON (docs/cli.md)")
    conflicts = sub.add_parser("conflicts", help="values that lost a conflict")
    c_sub = conflicts.add_subparsers(dest="conflicts_command", metavar="ACTION", required=True)
    p = command(c_sub, "list", cmd_conflicts_list, "list conflicts and the values that lost")
    p.add_argument("--json", action="store_true", help="print the conflicts as JSON (docs/cli.md)")
    p.add_argument("--open", action="store_true", help="only those waiting for a decision (policy 'ask')")
    p = command(
        c_sub, "resolve", cmd_conflicts_resolve, "give both sides one side's value (decides the conflict)"
    )
    p.add_argument("id", type=int)
    p.add_argument(
        "--use",
        choices=["crm", "mailbox"],
        required=True,
        help="the value both sides get (crm: Dynamics 365)",
    )
