"""``d365sync offline status|go|online|refresh|filters``: go offline, go online, the offline filters."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.cli.configured import require_sync_org
from wizard.cli.output import EXIT_FAILURE, EXIT_OK, Command, confirm, emit_json, table

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
    result = offline.go_online(factory)
    replay = result.replay
    print(
        f"Online. Sent {replay.created} new, {replay.updated} changed and {replay.deleted} deleted record(s)"
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
    return EXIT_FAILURE if replay.failed else EXIT_OK


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
    p = command(actions, "online", cmd_online, "send the offline changes to Dynamics 365 and go online")
    p.add_argument("--yes", action="store_true", help="do not ask")
    command(actions, "refresh", cmd_refresh, "bring the offline store up to date")
    filters = actions.add_parser("filters", help="the offline filters")
    filter_actions = filters.add_subparsers(dest="filters_command", metavar="ACTION", required=True)
    p = command(filter_actions, "list", cmd_filters_list, "list your offline filters")
    p.add_argument("--json", action="store_true", help="print them as JSON (docs/cli.md)")
    p = command(filter_actions, "enable", cmd_filters_enable, "turn an offline filter on")
    p.add_argument("id", metavar="ID")
    p = command(filter_actions, "disable", cmd_filters_disable, "turn an offline filter off")
    p.add_argument("id", metavar="ID")
