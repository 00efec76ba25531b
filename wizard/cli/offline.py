"""``d365sync offline status|go|online|refresh|filters|conflicts``: go offline, go online, the offline filters,
the decisions going online left to the user."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.cli.configured import require_sync_org
from wizard.cli.output import EXIT_FAILURE, EXIT_OK, Command, confirm, emit_json, table
from wizard.cli.sync import sync_after_going_online
from wizard.errors import D365SyncError

STATE_TEXT = {
    offline.NONE: "Online; nothing has been taken offline yet.",
    offline.ONLINE: "Online.",
    offline.OFFLINE: "Offline.",
}


def cmd_status(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    status = offline.offline_status(factory)
    if args.json:
        emit_json(status.to_json())
        return EXIT_OK
    total = sum(status.records.values())
    print(f"{STATE_TEXT.get(status.state, status.state)}")
    if status.state != offline.NONE:
        print(f"{total} records in the offline store, last refreshed {status.refreshed_at or 'never'}.")
        for name, count in sorted(status.records.items()):
            print(f"  {name}: {count}")
    if status.queued:
        print(f"{status.queued} change(s) waiting to be sent ({status.held} waiting for your decision).")
    if status.stopped and status.state == offline.OFFLINE:
        print(f"Going online stopped: {status.stopped}. Try again: d365sync offline online")
    if status.open_conflicts:
        print(f"{status.open_conflicts} conflict(s) need your attention.")
    return EXIT_OK


def _progress(name: str, done: int, total: int) -> None:
    print(f"\r  {name}: {done} / {total}", end="", file=sys.stderr, flush=True)


def cmd_go(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    question = (
        "Take the records of your offline filters offline? Dynamics 365 is then edited in the offline store."
    )
    if not confirm(question, yes=args.yes):
        print("Not done. Run with --yes to go offline without being asked.", file=sys.stderr)
        return EXIT_FAILURE
    last = {"table": ""}

    def progress(name: str, done: int, total: int) -> None:
        if last["table"] and last["table"] != name:
            print(file=sys.stderr)
        last["table"] = name
        _progress(name, done, total)

    result = offline.go_offline(factory, progress=progress)
    print(file=sys.stderr)
    for notice in result.notices:
        print(notice, file=sys.stderr)
    print(f"Offline — {sum(result.counts.values())} records.")
    return EXIT_OK


def show_online(result: offline.OnlineResult) -> int:
    """Print what going online sent (the failures on standard error); EXIT_FAILURE when a change was refused
    or going online stopped part way (the user is still offline)."""
    replay = result.replay
    print(
        f"{'Online' if result.online else 'Still offline'}. Sent {replay.created} new, {replay.updated} changed and {replay.deleted} deleted record(s)"
        f" in {replay.batches} batch request(s)."
    )
    if replay.merged:
        print(f"{replay.merged} record(s) had changed in Dynamics 365 too and were merged field by field.")
    if replay.conflicts:
        print(f"{replay.conflicts} field(s) changed on both sides were decided by your conflict policy.")
    if replay.held:
        print(f"{replay.held} record(s) wait for your decision.")
    for failure in replay.failed:
        print(f"Not sent: {failure}", file=sys.stderr)
    if not result.online:
        print(
            f"Going online stopped: {result.stopped}. {result.waiting} change(s) not yet sent; you are still "
            "offline. Try again: d365sync offline online",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_FAILURE if replay.failed else EXIT_OK


def cmd_online(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    status = offline.offline_status(factory)
    if status.state == offline.NONE:
        print("Nothing has been taken offline; you are online.")
        return EXIT_OK
    question = f"Go online and send {status.queued} offline change(s) to Dynamics 365?"
    if status.queued and not confirm(question, yes=args.yes):
        print("Not done. Run with --yes to go online without being asked.", file=sys.stderr)
        return EXIT_FAILURE
    try:
        result = offline.go_online(factory)
    except D365SyncError as error:  # Dynamics 365 unreachable mid-replay, a 503 storm: still offline
        waiting = offline.offline_status(factory)
        print(
            f"Going online stopped: {error.user_text} {waiting.queued - waiting.held} change(s) not yet sent;"
            " you are still offline. Try again: d365sync offline online",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    code = show_online(result)
    if args.no_sync or not result.online:
        return code
    synced = sync_after_going_online(factory, yes=args.yes)  # going online ends with the messaging sync
    return code if code != EXIT_OK else synced


def cmd_refresh(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    result = offline.refresh(factory)
    changed, removed = sum(result.changed.values()), sum(result.removed.values())
    for notice in result.notices:
        print(notice, file=sys.stderr)
    print(f"Refreshed: {changed} record(s) updated, {removed} removed.")
    return EXIT_OK


def cmd_filters_list(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    filters = offline.list_filters(factory)
    if args.json:
        emit_json(
            [{"id": f.id, "name": f.name, "table": f.returnedtypecode, "active": f.active} for f in filters]
        )
        return EXIT_OK
    rows = [[f.id, f.returnedtypecode, "on" if f.active else "off", f.name] for f in filters]
    print(table(rows, ["ID", "TABLE", "STATE", "NAME"]))
    return EXIT_OK


def _set_filter(factory: Factory, args: argparse.Namespace, active: bool) -> int:
    require_sync_org(factory)
    changed = offline.set_filter(factory, args.id, active)
    print(
        f"Offline filter {changed.name!r} ({changed.returnedtypecode}) is {'on' if changed.active else 'off'}."
    )
    return EXIT_OK


def cmd_filters_enable(factory: Factory, args: argparse.Namespace) -> int:
    return _set_filter(factory, args, True)


def cmd_filters_disable(factory: Factory, args: argparse.Namespace) -> int:
    return _set_filter(factory, args, False)


def _value(value: Any) -> str:
    text = "(none)" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def cmd_conflicts_list(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    conflicts = offline.list_conflicts(factory, unresolved_only=args.open)
    if args.json:
        emit_json([c.__dict__ for c in conflicts])
        return EXIT_OK
    rows = [
        [
            str(c.id),
            f"{c.table} {c.item or c.row_id}",
            c.field,
            c.reason,
            _value(c.local_value),
            _value(c.server_value),
            c.winner or ("open" if not c.resolved else "-"),
        ]
        for c in conflicts
    ]
    print(table(rows, ["ID", "RECORD", "FIELD", "REASON", "MINE", "DYNAMICS 365", "WINNER"]))
    return EXIT_OK


def cmd_conflicts_resolve(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    try:
        print(offline.resolve_conflict(factory, args.id, args.use))
    except KeyError:
        raise offline.OfflineError(
            f"no open offline conflict {args.id}",
            user_text=f"There is no open offline conflict {args.id}. See: d365sync offline conflicts list --open",
        ) from None
    return EXIT_OK


def register(sub: Any, command: Command) -> None:
    """The ``offline`` commands."""
    group = sub.add_parser("offline", help="go offline, go online, the offline filters")
    actions = group.add_subparsers(dest="offline_command", metavar="ACTION", required=True)
    p = command(
        actions, "status", cmd_status, "show whether you are offline and what the offline store holds"
    )
    p.add_argument("--json", action="store_true", help="print it as JSON (docs/cli.md)")
    p = command(actions, "go", cmd_go, "take the records of your offline filters offline")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p = command(
        actions,
        "online",
        cmd_online,
        "send the offline changes to Dynamics 365, go online, then run the messaging sync",
    )
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.add_argument("--no-sync", action="store_true", help="do not run the messaging sync after going online")
    command(actions, "refresh", cmd_refresh, "bring the offline store up to date")
    filters = actions.add_parser("filters", help="the offline filters")
    filter_actions = filters.add_subparsers(dest="filters_command", metavar="ACTION", required=True)
    p = command(filter_actions, "list", cmd_filters_list, "list your offline filters")
    p.add_argument("--json", action="store_true", help="print them as JSON (docs/cli.md)")
    p = command(filter_actions, "enable", cmd_filters_enable, "turn an offline filter on")
    p.add_argument("id", metavar="ID")
    p = command(filter_actions, "disable", cmd_filters_disable, "turn an offline filter off")
    p.add_argument("id", metavar="ID")
    conflicts = actions.add_parser("conflicts", help="what going online decided or left to you")
    conflict_actions = conflicts.add_subparsers(dest="conflicts_command", metavar="ACTION", required=True)
    p = command(conflict_actions, "list", cmd_conflicts_list, "list the offline conflicts")
    p.add_argument("--open", action="store_true", help="only those waiting for your decision")
    p.add_argument("--json", action="store_true", help="print them as JSON (docs/cli.md)")
    p = command(conflict_actions, "resolve", cmd_conflicts_resolve, "decide a record going online held back")
    p.add_argument("id", metavar="ID", type=int)
    p.add_argument(
        "--use", required=True, choices=("local", "server"), help="my offline change, or Dynamics 365's"
    )
