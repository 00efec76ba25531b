"""``d365sync records list|show|create|update|delete``: records of the offline tables, online or offline.

Online they are read and written in Dynamics 365; offline in the offline store, with the changes queued for
going online. Values are checked against the table's definitions before saving (``--set FIELD=VALUE``; a
lookup as ``table:id``, or a bare id when it points to one table only; an empty value clears the field).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.cli.configured import require_sync_org
from wizard.cli.output import EXIT_FAILURE, EXIT_OK, Command, confirm, emit_json, table
from wizard.errors import ConfigurationError


def _values(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(
                f"--set {pair}",
                user_text=f"--set {pair!r}: write it as FIELD=VALUE (e.g. --set jobtitle=Buyer).",
            )
        out[name.strip()] = value
    if not out:
        raise ConfigurationError("no --set", user_text="Say what to set: --set FIELD=VALUE (one or more).")
    return out


def _where(factory: Factory) -> str:
    return "offline store" if offline.is_offline(factory) else "Dynamics 365"


def cmd_list(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    records = offline.list_records(factory, args.table, search=args.search or "", limit=args.limit)
    if args.json:
        emit_json([r.to_json() for r in records])
        return EXIT_OK
    rows = [[r.id, r.name, "yes" if r.pending else ""] for r in records]
    print(table(rows, ["ID", "NAME", "UNSENT"]))
    return EXIT_OK


def cmd_show(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    record = offline.show_record(factory, args.table, args.id)
    if args.json:
        emit_json(record.to_json())
        return EXIT_OK
    print(f"{record.table} {record.id}: {record.name}" + (" (unsent changes)" if record.pending else ""))
    for name, value in record.fields.items():
        if name.endswith("@Microsoft.Dynamics.CRM.lookuplogicalname") or value in (None, ""):
            continue
        attribute = name[1:-6] if name.startswith("_") and name.endswith("_value") else name
        shown = record.lookup_names.get(attribute)
        print(f"  {attribute}: {value}" + (f" ({shown})" if shown else ""))
    return EXIT_OK


def cmd_create(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    new_id = offline.create_record(factory, args.table, _values(args.set))
    print(f"Created {args.table} {new_id} in the {_where(factory)}.")
    return EXIT_OK


def cmd_update(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    offline.update_record(factory, args.table, args.id, _values(args.set))
    print(f"Updated {args.table} {args.id} in the {_where(factory)}.")
    return EXIT_OK


def cmd_delete(factory: Factory, args: argparse.Namespace) -> int:
    require_sync_org(factory)
    where = _where(factory)
    if not confirm(f"Delete {args.table} {args.id} in the {where}?", yes=args.yes):
        print("Not deleted. Run with --yes to delete without being asked.", file=sys.stderr)
        return EXIT_FAILURE
    offline.delete_record(factory, args.table, args.id)
    print(f"Deleted {args.table} {args.id} in the {where}.")
    return EXIT_OK


def register(sub: Any, command: Command) -> None:
    """The ``records`` commands."""
    group = sub.add_parser(
        "records", help="accounts, contacts, leads, appointments and tasks, online or offline"
    )
    actions = group.add_subparsers(dest="records_command", metavar="ACTION", required=True)
    tables = "accounts, contacts, leads, appointments or tasks"
    p = command(actions, "list", cmd_list, "list or search the records of a table")
    p.add_argument("table", metavar="TABLE", help=tables)
    p.add_argument("--search", metavar="TEXT", help="words of the name, email address or phone number")
    p.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    p.add_argument("--json", action="store_true", help="print them as JSON (docs/cli.md)")
    p = command(actions, "show", cmd_show, "show one record")
    p.add_argument("table", metavar="TABLE", help=tables)
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print it as JSON (docs/cli.md)")
    p = command(actions, "create", cmd_create, "create a record")
    p.add_argument("table", metavar="TABLE", help=tables)
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", help="a field's value (repeatable)")
    p = command(actions, "update", cmd_update, "change fields of a record")
    p.add_argument("table", metavar="TABLE", help=tables)
    p.add_argument("id", metavar="ID")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", help="a field's value (repeatable)")
    p = command(actions, "delete", cmd_delete, "delete a record")
    p.add_argument("table", metavar="TABLE", help=tables)
    p.add_argument("id", metavar="ID")
    p.add_argument("--yes", action="store_true", help="do not ask")
