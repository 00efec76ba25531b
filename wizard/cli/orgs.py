"""``d365sync orgs list|add|remove|set-sync``: the wizard's organization steps, scriptable."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wizard.app.factory import Factory
from wizard.app.offline import queued_changes
from wizard.app.orgs import (
    ConnectedOrg,
    connect_org,
    queued_changes_text,
    remove_org,
    save_org,
    switch_sync_org,
)
from wizard.cli import args as checked
from wizard.cli.configured import find_org
from wizard.cli.output import (
    EXIT_FAILURE,
    EXIT_OK,
    Command,
    Refused,
    confirm,
    emit_json,
    read_password,
    table,
)
from wizard.crm.auth import DeviceFlow
from wizard.crm.client import API_VERSION
from wizard.errors import ConfigurationError
from wizard.settings import OrgProfile, Profile


def _org_row(profile: Profile, org: OrgProfile) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.display_name,
        "unique_name": org.unique_name,
        "url": org.web_url,
        "api_url": org.api_url,
        "api_version": org.api_version or API_VERSION,
        "auth": org.auth_kind,
        "username": org.username,
        "found_via": org.found_via,
        "synchronizing": org.id == profile.sync_org_id,
    }


def cmd_orgs_list(factory: Factory, args: argparse.Namespace) -> int:
    profile = factory.profile
    rows = [_org_row(profile, o) for o in profile.organizations]
    if args.json:
        emit_json({"organizations": rows, "sync_org_id": profile.sync_org_id})
        return EXIT_OK
    show_orgs(profile)
    return EXIT_OK


def show_orgs(profile: Profile) -> None:
    """The organizations as a table, the synchronizing one marked."""
    rows = [_org_row(profile, o) for o in profile.organizations]
    if not rows:
        print("No organizations are configured. Add one: d365sync orgs add URL")
        return
    print(
        table(
            [
                [
                    ("● " if r["synchronizing"] else "○ ") + r["name"],
                    r["url"],
                    r["id"],
                    "Synchronizes" if r["synchronizing"] else "Connected",
                ]
                for r in rows
            ],
            ["Organization", "URL", "Id", "State"],
        )
    )
    if profile.sync_org_id is None:
        print("\n⚠ No organization synchronizes: messaging data will not be synchronized.")


def cmd_orgs_add(factory: Factory, args: argparse.Namespace) -> int:
    checked.url(args.url, "URL")
    checked.url(args.authority, "--authority")
    ca_file = checked.ca_file(args.ca_file)
    password: str | None = None
    if args.auth == "ntlm" or args.password_stdin:
        if not args.username:
            raise ConfigurationError("--username is required", user_text="This sign-in needs --username.")
        password = read_password(
            args.stdin or sys.stdin, args.password_stdin, f"Password for {args.username}: "
        )

    connected = connect_org(
        factory,
        args.url,
        auth_kind=args.auth,
        username=args.username or "",
        password=password,
        ca_file=ca_file,
        authority=args.authority or "",
        client_id=args.client_id or "",
        on_device_code=show_code,
    )
    save_and_show(factory, connected, make_sync_if_first=not args.no_sync)
    return EXIT_OK


def show_code(flow: DeviceFlow) -> None:
    """The device code sign-in's instructions, on standard error."""
    print(flow.message, file=sys.stderr, flush=True)


def save_and_show(factory: Factory, connected: ConnectedOrg, *, make_sync_if_first: bool = True) -> None:
    """Save a connected organization and say what became of it."""
    org = connected.org
    updated = factory.profile.org(org.id) is not None
    became_sync = save_org(factory, connected, make_sync_if_first=make_sync_if_first)
    if updated:
        print(
            f"{org.display_name} ({org.id}) is already configured: nothing was added; its sign-in "
            f"({org.username}) and settings were updated."
        )
    else:
        print(f"Added {org.display_name} ({org.id}) as {org.username}.")
    if became_sync:
        print(f"{org.display_name} is the synchronizing organization.")


def cmd_orgs_remove(factory: Factory, args: argparse.Namespace) -> int:
    profile = factory.profile
    org = find_org(factory, args.id)
    # first the offline changes that removing it deletes (no --yes: this is what the refusal names)
    waiting = queued_changes(factory, org.id)
    if waiting and not confirm(
        queued_changes_text(org.display_name, waiting) + " Removing it deletes them. Remove it anyway?",
        yes=args.yes,
    ):
        raise Refused(
            "not confirmed",
            user_text="Nothing was removed. "
            + queued_changes_text(org.display_name, waiting)
            + " Go online first (d365sync offline online), or remove it anyway with --yes.",
        )
    if org.id == profile.sync_org_id and not confirm(
        f"{org.display_name} is the synchronizing organization. Remove it? Messaging data will then not be "
        "synchronized until you choose another one.",
        yes=args.yes,
    ):
        raise Refused("not confirmed", user_text="Nothing was removed (confirm with --yes).")
    remove_org(factory, org, discard_offline=bool(waiting))
    print(f"Removed {org.display_name} ({org.id}).")
    return EXIT_OK


def cmd_orgs_set_sync(factory: Factory, args: argparse.Namespace) -> int:
    org = find_org(factory, args.id)
    current = factory.profile.sync_org
    waiting = queued_changes(factory, current.id) if current is not None and current.id != org.id else 0
    warning = (
        " "
        + queued_changes_text(current.display_name, waiting)
        + " They stay on this computer and are sent when it synchronizes again and you go online."
        if current is not None and waiting
        else ""
    )
    if (
        current is not None
        and current.id != org.id
        and not confirm(
            f"Do you want to change your synchronizing organization from {current.display_name} to "
            f"{org.display_name}? Only one organization synchronizes email, contacts, appointments and tasks."
            + warning,
            yes=args.yes,
        )
    ):
        raise Refused(
            "not confirmed",
            user_text=f"The synchronizing organization stays {current.display_name} "
            "(confirm the change with --yes).",
        )
    switched = switch_sync_org(factory, org)  # holds the engine lock: refused while a sync runs
    print(f"{org.display_name} is now the synchronizing organization.")
    if warning:
        print(f"d365sync:{warning}", file=sys.stderr)
    if not switched.mailbox.ready:
        print(f"d365sync: {switched.mailbox.user_text}", file=sys.stderr)
    if not switched.report.complete:
        print(f"d365sync: {switched.report.user_text}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def register(sub: Any, command: Command) -> None:
    """The ``orgs`` commands."""
    orgs = sub.add_parser("orgs", help="the configured Dynamics 365 organizations")
    orgs_sub = orgs.add_subparsers(dest="orgs_command", metavar="ACTION", required=True)
    p = command(orgs_sub, "list", cmd_orgs_list, "list the configured organizations")
    p.add_argument("--json", action="store_true", help="print them as JSON (docs/cli.md)")
    p = command(orgs_sub, "add", cmd_orgs_add, "add an organization by its URL (signs in)")
    p.add_argument("url", help="the organization's URL, e.g. https://contoso.crm4.dynamics.com")
    p.add_argument(
        "--auth", choices=["oauth", "ntlm"], default="oauth", help="oauth (online, IFD) or ntlm (on-premises)"
    )
    p.add_argument("--username", help="user name (UPN, or DOMAIN\\user for ntlm)")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (scripts)"
    )
    p.add_argument("--ca-file", help="also trust this CA bundle (private CA, the sandbox)")
    p.add_argument("--authority", help="OAuth authority URL (default: the one the organization names)")
    p.add_argument("--client-id", help="OAuth public client id (default: Microsoft's sample client)")
    p.add_argument(
        "--no-sync", action="store_true", help="do not make the first organization the synchronizing one"
    )
    p.set_defaults(stdin=None)
    p = command(orgs_sub, "remove", cmd_orgs_remove, "remove an organization from this profile")
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p = command(
        orgs_sub, "set-sync", cmd_orgs_set_sync, "make an organization the synchronizing organization"
    )
    p.add_argument("id")
    p.add_argument(
        "--yes", action="store_true", help="confirm changing an existing synchronizing organization"
    )
