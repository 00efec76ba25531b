"""The command line (DESIGN section 3) and the composition root: the one place that wires objects together.

Exit codes: 0 ok, 1 failure, 2 usage, 3 nothing configured / not the synchronizing computer.
``--json`` output is a documented, stable contract (docs/cli.md).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from wizard import __version__
from wizard.app.factory import Factory, NotConfigured
from wizard.app.instance import claim_instance, hostname, read_claim, release_claim
from wizard.app.mailbox import bind_mailbox, check_mailbox, unbind_mailbox
from wizard.app.orgs import connect_org, remove_org, save_org, switch_sync_org
from wizard.crm import records
from wizard.crm.auth import DeviceFlow
from wizard.crm.client import API_VERSION
from wizard.errors import ConfigurationError, D365SyncError
from wizard.isotime import iso_z
from wizard.paths import locations
from wizard.settings import MailboxBinding, OrgProfile, Profile

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_CONFIGURED = 3


class NotSynchronizingComputer(D365SyncError):
    """Another computer holds the synchronizing-client claim; exit code 3."""


class Refused(D365SyncError):
    """The user (or the lack of a terminal) said no to a confirmation; exit code 1."""


# ------------------------------------------------------------------------------------------------
# Output helpers
# ------------------------------------------------------------------------------------------------
def _emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, sort_keys=False)
    sys.stdout.write("\n")


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _confirm(question: str, *, yes: bool) -> bool:
    """True when --yes was given or the user answers yes on a terminal; False without a terminal."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes", "j", "ja")


def _read_password(stdin: TextIO, from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        line = stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise ConfigurationError(
                "empty password on standard input", user_text="No password on standard input."
            )
        return password
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "no terminal for the password prompt",
            user_text="A password is needed: pass --password-stdin and write it to standard input.",
        )
    return getpass.getpass(prompt)


def _when(value: datetime | None) -> str:
    """A moment for people: local time, minutes precision."""
    from wizard.sync.status import for_people

    return for_people(value) if value is not None else "never"


# ------------------------------------------------------------------------------------------------
# orgs
# ------------------------------------------------------------------------------------------------
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
        _emit_json({"organizations": rows, "sync_org_id": profile.sync_org_id})
        return EXIT_OK
    if not rows:
        print("No organizations are configured. Add one: d365sync orgs add URL")
        return EXIT_OK
    print(
        _table(
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
    return EXIT_OK


def cmd_orgs_add(factory: Factory, args: argparse.Namespace) -> int:
    password: str | None = None
    if args.auth == "ntlm" or args.password_stdin:
        if not args.username:
            raise ConfigurationError("--username is required", user_text="This sign-in needs --username.")
        password = _read_password(
            args.stdin or sys.stdin, args.password_stdin, f"Password for {args.username}: "
        )

    def show_code(flow: DeviceFlow) -> None:
        print(flow.message, file=sys.stderr, flush=True)

    connected = connect_org(
        factory,
        args.url,
        auth_kind=args.auth,
        username=args.username or "",
        password=password,
        ca_file=str(Path(args.ca_file).resolve()) if args.ca_file else "",
        authority=args.authority or "",
        client_id=args.client_id or "",
        on_device_code=show_code,
    )
    org = connected.org
    updated = factory.profile.org(org.id) is not None
    became_sync = save_org(factory, connected, make_sync_if_first=not args.no_sync)
    print(f"{'Updated' if updated else 'Added'} {org.display_name} ({org.id}) as {org.username}.")
    if became_sync:
        print(f"{org.display_name} is the synchronizing organization.")
    return EXIT_OK


def cmd_orgs_remove(factory: Factory, args: argparse.Namespace) -> int:
    profile = factory.profile
    org = factory.org(args.id)
    if org.id == profile.sync_org_id and not _confirm(
        f"{org.display_name} is the synchronizing organization. Remove it? Messaging data will then not be "
        "synchronized until you choose another one.",
        yes=args.yes,
    ):
        raise Refused("not confirmed", user_text="Nothing was removed (confirm with --yes).")
    remove_org(factory, org)
    print(f"Removed {org.display_name} ({org.id}).")
    return EXIT_OK


def cmd_orgs_set_sync(factory: Factory, args: argparse.Namespace) -> int:
    org = factory.org(args.id)
    current = factory.profile.sync_org
    if (
        current is not None
        and current.id != org.id
        and not _confirm(
            f"Do you want to change your synchronizing organization from {current.display_name} to "
            f"{org.display_name}? Only one organization synchronizes email, contacts, appointments and tasks.",
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
    if not switched.mailbox.ready:
        print(f"d365sync: {switched.mailbox.user_text}", file=sys.stderr)
    if not switched.report.complete:
        print(f"d365sync: {switched.report.user_text}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


# ------------------------------------------------------------------------------------------------
# instance (the synchronizing computer)
# ------------------------------------------------------------------------------------------------
def _claim_dict(claim: Any, instance_id: str) -> dict[str, Any] | None:
    if claim is None:
        return None
    return {
        "instance_id": claim.instance_id,
        "hostname": claim.hostname,
        "claimed_at": iso_z(claim.claimed_at),
        "heartbeat": iso_z(claim.heartbeat),
        "this_computer": claim.instance_id == instance_id,
    }


def cmd_instance_show(factory: Factory, args: argparse.Namespace) -> int:
    profile = factory.profile
    org = factory.require_sync_org()
    claim = read_claim(factory)
    data = {
        "organization": org.display_name,
        "this_computer": {"instance_id": profile.instance_id, "hostname": hostname()},
        "claim": _claim_dict(claim, profile.instance_id),
    }
    if args.json:
        _emit_json(data)
    elif claim is None:
        print(f"No computer synchronizes {org.display_name} yet. Claim it: d365sync instance claim")
    elif claim.instance_id == profile.instance_id:
        print(
            f"This computer ({claim.hostname}) is the synchronizing client for {org.display_name} "
            f"since {_when(claim.claimed_at)}."
        )
    else:
        print(
            f"The synchronizing client for {org.display_name} is {claim.hostname}, since {_when(claim.claimed_at)} "
            f"(last seen {_when(claim.heartbeat)}). This computer does not synchronize."
        )
    return EXIT_OK


def cmd_instance_claim(factory: Factory, args: argparse.Namespace) -> int:
    org = factory.require_sync_org()
    try:
        claim = claim_instance(factory, force=False)
    except records.ClaimHeldElsewhere as held:
        question = (
            f"The synchronizing client for {org.display_name} is {held.claim.hostname}, since "
            f"{_when(held.claim.claimed_at)} (last seen {_when(held.claim.heartbeat)}). "
            "Make this computer the synchronizing client?"
        )
        if not _confirm(question, yes=args.yes):
            print(question.replace(" Make this", "\nRun with --yes to make this"), file=sys.stderr)
            print(
                "If you don't, you can still connect and browse, but nothing is synchronized from this computer.",
                file=sys.stderr,
            )
            return EXIT_FAILURE
        claim = claim_instance(factory, force=True)
    print(f"This computer ({claim.hostname}) is now the synchronizing client for {org.display_name}.")
    return EXIT_OK


def cmd_instance_release(factory: Factory, args: argparse.Namespace) -> int:
    org = factory.require_sync_org()
    print(
        f"This computer no longer synchronizes {org.display_name}."
        if release_claim(factory)
        else f"This computer did not hold the synchronizing-client claim for {org.display_name}."
    )
    return EXIT_OK


# ------------------------------------------------------------------------------------------------
# mailbox
# ------------------------------------------------------------------------------------------------
def cmd_mailbox_show(factory: Factory, args: argparse.Namespace) -> int:
    binding = factory.profile.mailbox
    if args.json:
        _emit_json({"mailbox": asdict(binding) if binding else None})
        return EXIT_OK
    if binding is None:
        print("No mailbox is bound. Bind your primary mailbox: d365sync mailbox bind ADDRESS")
        return EXIT_NOT_CONFIGURED
    print("\n".join(_describe_binding(binding)))
    return EXIT_OK


def _binding_from_args(factory: Factory, args: argparse.Namespace) -> MailboxBinding:
    kind = args.kind
    ca_file = str(Path(args.ca_file).resolve()) if args.ca_file else ""
    if kind == "pop3":
        if not args.pop3_host:
            raise ConfigurationError(
                "--pop3-host is required", user_text="POP3 needs --pop3-host (and --smtp-host to send)."
            )
        return MailboxBinding(
            address=args.address.strip(),
            kind="pop3",
            username=args.username or "",
            pop3_host=args.pop3_host,
            pop3_port=args.pop3_port or (995 if args.pop3_tls == "ssl" else 110),
            pop3_tls=args.pop3_tls,
            smtp_host=args.smtp_host or "",
            smtp_port=args.smtp_port or (465 if args.smtp_tls == "ssl" else 587),
            smtp_tls=args.smtp_tls,
            ca_file=ca_file,
        )
    if kind == "exchange_online":
        return MailboxBinding(
            address=args.address.strip(),
            kind="exchange_online",
            auth="oauth2",
            graph_url=args.graph_url or "",
            ca_file=ca_file,
        )
    username = args.username or ""
    org = factory.profile.sync_org
    if not username and args.auth == "ntlm" and org is not None and org.auth_kind == "ntlm":
        username = org.username  # on premises Exchange takes the organization's Windows account (DOMAIN\user)
    return MailboxBinding(
        address=args.address.strip(),
        kind="exchange",
        username=username,
        auth=args.auth,
        ews_url=args.ews_url or "",
        autodiscover_url=args.autodiscover_url or "",
        ca_file=ca_file,
    )


def _mailbox_password(args: argparse.Namespace) -> str | None:
    if args.kind == "exchange_online" or (args.kind == "exchange" and args.auth == "oauth2"):
        return None  # the organization's sign-in gets the token
    label = args.username or args.address
    return _read_password(args.stdin or sys.stdin, args.password_stdin, f"Password for the mailbox {label}: ")


def _describe_binding(binding: MailboxBinding) -> list[str]:
    lines = [f"Mailbox {binding.address} ({binding.kind})"]
    if binding.ews_url:
        lines.append(
            f"  EWS: {binding.ews_url}{' (found by Autodiscover)' if binding.autodiscovered else ''}"
        )
    if binding.kind == "exchange_online":
        lines.append(f"  Microsoft Graph: {binding.graph_url or 'https://graph.microsoft.com/v1.0'}")
    if binding.pop3_host:
        lines.append(f"  POP3: {binding.pop3_host}:{binding.pop3_port} ({binding.pop3_tls})")
    if binding.smtp_host:
        lines.append(f"  SMTP: {binding.smtp_host}:{binding.smtp_port} ({binding.smtp_tls})")
    return lines


def cmd_mailbox_bind(factory: Factory, args: argparse.Namespace) -> int:
    binding = _binding_from_args(factory, args)
    bound = bind_mailbox(factory, binding, _mailbox_password(args))
    print("\n".join(_describe_binding(bound)))
    org = factory.profile.org(bound.org_id)
    print(f"Bound as your primary mailbox for {org.display_name if org else bound.org_id}.")
    return EXIT_OK


def cmd_mailbox_test(factory: Factory, args: argparse.Namespace) -> int:
    binding = factory.profile.mailbox
    if binding is None:
        raise NotConfigured(
            "no mailbox", user_text="No mailbox is bound. Bind one: d365sync mailbox bind ADDRESS"
        )
    found = check_mailbox(factory, binding)
    print("\n".join(_describe_binding(found)))
    print("✓ The mailbox answered.")
    return EXIT_OK


def cmd_mailbox_unbind(factory: Factory, args: argparse.Namespace) -> int:
    binding = factory.profile.mailbox
    if binding is None:
        print("No mailbox is bound.")
        return EXIT_OK
    if not _confirm(
        f"Unbind {binding.address}? Nothing is synchronized with a mailbox until you bind one again.",
        yes=args.yes,
    ):
        raise Refused("not confirmed", user_text="The mailbox stays bound (confirm with --yes).")
    unbind_mailbox(factory)
    print(f"Unbound {binding.address}.")
    return EXIT_OK


# ------------------------------------------------------------------------------------------------
# sync, status, conflicts
# ------------------------------------------------------------------------------------------------
def _summary_dict(summary: Any) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "started": iso_z(summary.started),
        "finished": iso_z(summary.finished),
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


def _sync_once(factory: Factory, engine: Any, args: argparse.Namespace) -> int:
    kinds = args.kind or None
    summary = engine.run_once(kinds, dry_run=args.dry_run)
    if summary.status == "not_sync_computer":
        raise _not_sync_computer(factory)
    asking = [k.kind for k in summary.kinds if k.status == "needs_confirmation"]
    if asking and not args.dry_run:
        for kind in summary.kinds:
            if kind.status == "needs_confirmation":
                print(kind.message, file=sys.stderr)
        if _confirm("Delete them?", yes=args.yes):
            again = engine.run_once(asking, force=True)
            done = {k.kind: k for k in again.kinds}
            summary.kinds = [done.get(k.kind, k) for k in summary.kinds]
            statuses = {k.status for k in summary.kinds}
            summary.status = "ok" if statuses <= {"ok", "skipped"} else "partial"
        else:
            print("Nothing was deleted. Run again with --yes to delete them.", file=sys.stderr)
    if args.json:
        _emit_json(_summary_dict(summary))
    elif args.dry_run:
        print("Dry run: nothing was changed. The plan:")
        print("\n".join(f"  {line}" for line in summary.planned) or "  nothing to do")
    return EXIT_OK if summary.status in ("ok", "dry_run") else EXIT_FAILURE


def cmd_sync(factory: Factory, args: argparse.Namespace) -> int:
    """One sync (--once, --dry-run) or a sync every interval until interrupted."""
    from wizard.sync.reporter import LogReporter

    factory.require_sync_org()
    with factory.engine(LogReporter(sys.stderr)) as engine:
        if args.once or args.dry_run:
            return _sync_once(factory, engine, args)
        minutes = max(factory.profile.sync.interval_minutes or 15, 1)
        stop = threading.Event()

        def handler(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        code = EXIT_OK
        while not stop.is_set():
            code = _sync_once(factory, engine, args)
            print(f"Next synchronization in {minutes} minutes (Ctrl+C stops).", file=sys.stderr)
            stop.wait(minutes * 60)
        return code


def _status_snapshot(factory: Factory) -> Any:
    from wizard.sync.state import StateDB
    from wizard.sync.status import status_snapshot

    profile = factory.profile
    is_sync: bool | None = None
    if profile.sync_org is not None:
        try:
            claim = read_claim(factory)
            is_sync = claim is not None and claim.instance_id == profile.instance_id
        except D365SyncError as error:
            log.info("status: could not read the claim: %s", error)
    with StateDB.open(factory.where.state_db) as state:
        return status_snapshot(state, profile, is_sync_computer=is_sync, next_run=None)


def cmd_status(factory: Factory, args: argparse.Namespace) -> int:
    from wizard.sync.status import status_lines

    factory.require_sync_org()
    snapshot = _status_snapshot(factory)
    if args.json:
        _emit_json(snapshot.to_json())
    else:
        print("\n".join(status_lines(snapshot)))
    return EXIT_OK


def _conflict_dict(c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind,
        "crm_id": c.crm_id,
        "mailbox_id": c.mailbox_id,
        "field": c.field,
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
    from wizard.sync.state import StateDB

    factory.require_sync_org()
    with StateDB.open(factory.where.state_db) as state:
        conflicts = state.conflicts(unresolved_only=args.open)
    if args.json:
        _emit_json({"conflicts": [_conflict_dict(c) for c in conflicts]})
        return EXIT_OK
    if not conflicts:
        print("No conflicts wait for a decision." if args.open else "No conflicts were recorded.")
        return EXIT_OK
    rows = [
        [
            str(c.id),
            c.kind,
            c.field,
            _short(c.crm_value),
            _short(c.mailbox_value),
            (c.winner or "ask") + (" ✓" if c.resolved else ""),
            c.reason,
        ]
        for c in conflicts
    ]
    print(_table(rows, ["Id", "Kind", "Field", "Dynamics 365", "Mailbox", "Applied", "Why"]))
    print("\nApply the other value: d365sync conflicts resolve ID --use crm|mailbox")
    return EXIT_OK


def cmd_conflicts_resolve(factory: Factory, args: argparse.Namespace) -> int:
    factory.require_sync_org()
    with factory.engine() as engine:
        if not engine.is_sync_computer():
            raise _not_sync_computer(factory)
        try:
            done = engine.resolve_conflict(args.id, args.use)
        except KeyError:
            print(f"d365sync: there is no conflict {args.id}. See: d365sync conflicts list", file=sys.stderr)
            return EXIT_FAILURE
    print(f"Conflict {args.id}: {done}.")
    return EXIT_OK


# ------------------------------------------------------------------------------------------------
# sandbox
# ------------------------------------------------------------------------------------------------
def _wait_for_interrupt() -> None:
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop.wait(0.5):
        pass


def cmd_sandbox(factory: Factory, args: argparse.Namespace) -> int:
    from wizard.sandbox import Sandbox

    data_dir = Path(args.data_dir).resolve() if args.data_dir else None
    with Sandbox(data_dir, seed=args.seed, demo_data=not args.empty) as sandbox:
        info = sandbox.port_info()
        if args.port_file:
            target = Path(args.port_file)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
            tmp.replace(target)
        if args.json:
            _emit_json(info)
        else:
            print("d365sync sandbox is running on 127.0.0.1 (Ctrl+C stops it).")
            for env in info["environments"]:
                print(f"  Dataverse  {env['friendly_name']:<14} {env['url']}")
            print(f"  Discovery  {info['discovery_url']}")
            print(f"  Authority  {info['authority_url']}")
            if "ews_url" in info:
                print(f"  EWS        {info['ews_url']}")
            if "graph_url" in info:
                print(f"  Graph      {info['graph_url']}")
            print(f"  CA file    {info['ca_file']}")
            print("  Users (UPN / password / Primary Email):")
            for user in info["users"]:
                print(f"    {user['upn']:<28} {user['password']:<20} {user['primary_email']}")
            print(
                "\nTry: d365sync orgs add "
                f"{info['dataverse_url']} --ca-file {info['ca_file']} --username {info['users'][0]['upn']} --password-stdin"
            )
        sys.stdout.flush()
        _wait_for_interrupt()
    return EXIT_OK


# ------------------------------------------------------------------------------------------------
# demo
# ------------------------------------------------------------------------------------------------
def _no_display() -> bool:
    """True on a Linux/BSD machine without X11 or Wayland (and no Qt platform chosen explicitly)."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _require_display(hint: str) -> None:
    if _no_display():
        raise ConfigurationError("no display", user_text=f"There is no display to show the window on. {hint}")


def cmd_wizard(factory: Factory, args: argparse.Namespace) -> int:
    """The Configuration Wizard (also what plain ``d365sync`` opens)."""
    _require_display("Use the command line instead (d365sync --help).")
    from wizard.ui.app import run_wizard

    return run_wizard(factory)


def cmd_home(factory: Factory, args: argparse.Namespace) -> int:
    _require_display("Use the command line instead (d365sync --help).")
    from wizard.ui.app import run_home

    return run_home(factory)


def _demo_gui(args: argparse.Namespace) -> int:
    import tempfile

    from wizard.sandbox import Sandbox
    from wizard.ui.app import run_home
    from wizard.ui.demo import DemoHints

    _require_display("Run the demo without a window: d365sync demo --headless")
    with tempfile.TemporaryDirectory(prefix="d365sync-demo-") as home, Sandbox(seed=args.seed) as sandbox:
        info = sandbox.port_info()
        hints = DemoHints.from_port_info(info)
        return run_home(Factory(locations(Path(home) / "profile").ensure()), demo=hints)


def cmd_demo(factory: Factory, args: argparse.Namespace) -> int:
    """Stand-ins with demo data, a throw-away profile, and the setup steps the wizard takes, as the demo user."""
    import io
    import tempfile

    from wizard.sandbox import Sandbox
    from wizard.secrets import use_memory_keyring

    use_memory_keyring()
    if not args.headless:
        return _demo_gui(args)
    with tempfile.TemporaryDirectory(prefix="d365sync-demo-") as home, Sandbox(seed=args.seed) as sandbox:
        info = sandbox.port_info()
        user = info["users"][0]
        demo = Factory(locations(Path(home) / "profile").ensure())
        print(f"Demo: signing in to the sandbox as {user['upn']} …")
        for env in info["environments"]:
            cmd_orgs_add(
                demo,
                argparse.Namespace(
                    url=env["url"],
                    auth="oauth",
                    username=user["upn"],
                    password_stdin=True,
                    stdin=io.StringIO(user["password"] + "\n"),
                    ca_file=info["ca_file"],
                    authority=None,
                    client_id=None,
                    no_sync=False,
                ),
            )
        cmd_orgs_list(demo, argparse.Namespace(json=False))
        print()
        cmd_instance_claim(demo, argparse.Namespace(yes=True))
        print()
        cmd_mailbox_bind(
            demo,
            argparse.Namespace(
                address=user["primary_email"],
                kind="exchange",
                auth="basic",
                ews_url=None,
                autodiscover_url=info["autodiscover_url"],
                username=None,
                password_stdin=True,
                stdin=io.StringIO(user["ews_password"] + "\n"),
                ca_file=info["ca_file"],
            ),
        )
        print("\nSetup complete. Synchronizing once …")
        return _demo_sync(demo)
    return EXIT_OK


def _demo_sync(demo: Factory) -> int:
    """The headless demo's full sync and the status table; 0 only when every kind synchronized."""
    from wizard.sync.reporter import LogReporter
    from wizard.sync.status import status_lines

    with demo.engine(LogReporter(sys.stderr)) as engine:
        summary = engine.run_once()
    print()
    print("\n".join(status_lines(_status_snapshot(demo))))
    return EXIT_OK if summary.status == "ok" else EXIT_FAILURE


# ------------------------------------------------------------------------------------------------
# parser and main
# ------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="d365sync",
        description="Dynamics 365 for Outlook's Configuration Wizard and synchronization, without Outlook.",
    )
    parser.add_argument("--version", action="version", version=f"d365sync {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="more detail on standard error and in the log"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        parent: Any, name: str, handler: Callable[[Factory, argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    command(sub, "wizard", cmd_wizard, "open the Configuration Wizard")
    demo = command(
        sub, "demo", cmd_demo, "run against the built-in stand-ins with demo data in a throw-away profile"
    )
    demo.add_argument("--headless", action="store_true", help="no window: configure, then print the status")
    demo.add_argument("--seed", type=int, default=0, help="demo data seed")

    sandbox = command(sub, "sandbox", cmd_sandbox, "run the loopback stand-ins until interrupted")
    sandbox.add_argument("--port-file", help="write URLs, CA file and demo credentials to this JSON file")
    sandbox.add_argument("--data-dir", help="keep the stand-ins' data here (default: a temporary folder)")
    sandbox.add_argument("--seed", type=int, default=0, help="demo data seed")
    sandbox.add_argument("--empty", action="store_true", help="no demo records (users and mailboxes only)")
    sandbox.add_argument("--json", action="store_true", help="print the port information as JSON")

    orgs = sub.add_parser("orgs", help="the configured Dynamics 365 organizations")
    orgs_sub = orgs.add_subparsers(dest="orgs_command", metavar="ACTION", required=True)
    p = command(orgs_sub, "list", cmd_orgs_list, "list the configured organizations")
    p.add_argument("--json", action="store_true")
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

    instance = sub.add_parser("instance", help="the synchronizing computer")
    inst_sub = instance.add_subparsers(dest="instance_command", metavar="ACTION", required=True)
    p = command(inst_sub, "show", cmd_instance_show, "show which computer synchronizes")
    p.add_argument("--json", action="store_true")
    p = command(inst_sub, "claim", cmd_instance_claim, "make this computer the synchronizing client")
    p.add_argument("--yes", action="store_true", help="take over from another computer without asking")
    command(inst_sub, "release", cmd_instance_release, "stop being the synchronizing client")

    mailbox = sub.add_parser("mailbox", help="the primary mailbox")
    mb_sub = mailbox.add_subparsers(dest="mailbox_command", metavar="ACTION", required=True)
    p = command(mb_sub, "show", cmd_mailbox_show, "show the bound mailbox")
    p.add_argument("--json", action="store_true")
    p = command(
        mb_sub,
        "bind",
        cmd_mailbox_bind,
        "bind your primary mailbox (must be your Primary Email in Dynamics 365)",
    )
    p.add_argument("address")
    p.add_argument(
        "--kind",
        choices=["exchange", "exchange_online", "pop3"],
        default="exchange",
        help="exchange (EWS), exchange_online (Microsoft Graph, your Microsoft 365 sign-in) or pop3",
    )
    p.add_argument("--graph-url", help="Exchange Online: the Graph service root (default: the public cloud)")
    p.add_argument("--ews-url", help="Exchange: the EWS endpoint (default: Autodiscover)")
    p.add_argument(
        "--autodiscover-url", help="Exchange: ask this SOAP Autodiscover URL instead of the domain's"
    )
    p.add_argument("--auth", choices=["ntlm", "basic", "oauth2"], default="ntlm", help="Exchange sign-in")
    p.add_argument(
        "--username",
        help="login name if it differs from the address (ntlm: default the synchronizing organization's "
        "Windows account when it has one)",
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--ca-file", help="also trust this CA bundle")
    p.add_argument("--pop3-host")
    p.add_argument("--pop3-port", type=int)
    p.add_argument("--pop3-tls", choices=["ssl", "starttls"], default="ssl")
    p.add_argument("--smtp-host")
    p.add_argument("--smtp-port", type=int)
    p.add_argument("--smtp-tls", choices=["ssl", "starttls"], default="starttls")
    p.set_defaults(stdin=None)
    command(mb_sub, "test", cmd_mailbox_test, "connect to the bound mailbox")
    p = command(mb_sub, "unbind", cmd_mailbox_unbind, "release the bound mailbox")
    p.add_argument("--yes", action="store_true", help="do not ask")
    _add_sync_commands(sub, command)
    return parser


def _add_sync_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """`sync`, `status`, `conflicts list|resolve` (DESIGN section 3)."""
    p = command(sub, "sync", cmd_sync, "synchronize contacts, appointments, tasks and email")
    p.add_argument("--once", action="store_true", help="one run, then exit (default: every interval)")
    p.add_argument(
        "--kind",
        action="append",
        choices=["contacts", "appointments", "tasks", "email"],
        help="only this kind (repeatable)",
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be done; change nothing")
    p.add_argument("--yes", action="store_true", help="confirm a mass delete without asking")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p = command(sub, "status", cmd_status, "last runs, counts per kind and direction, conflicts, errors")
    p.add_argument("--json", action="store_true")
    conflicts = sub.add_parser("conflicts", help="values that lost a conflict")
    c_sub = conflicts.add_subparsers(dest="conflicts_command", metavar="ACTION", required=True)
    p = command(c_sub, "list", cmd_conflicts_list, "list conflicts and the values that lost")
    p.add_argument("--json", action="store_true")
    p.add_argument("--open", action="store_true", help="only those waiting for a decision (policy 'ask')")
    p = command(c_sub, "resolve", cmd_conflicts_resolve, "apply one side's value to the other side")
    p.add_argument("id", type=int)
    p.add_argument("--use", choices=["crm", "mailbox"], required=True, help="the value to keep")


def _exit_code(error: D365SyncError) -> int:
    if isinstance(error, NotConfigured | NotSynchronizingComputer):
        return EXIT_NOT_CONFIGURED
    return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        if args.command is not None or _no_display():
            parser.print_help()
            return EXIT_USAGE
        handler = cmd_home  # plain `d365sync` on a desktop: the wizard on first run, else the status window
    where = locations().ensure()
    from wizard import logging_setup

    logging_setup.configure(where, verbose=args.verbose)
    factory = Factory(where)
    try:
        return int(handler(factory, args))
    except D365SyncError as error:
        log.info("command failed: %s", error)
        print(f"d365sync: {error.user_text}", file=sys.stderr)
        return _exit_code(error)
    except KeyboardInterrupt:
        print("d365sync: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except Exception:
        # A bug, not a user error: the details go to the (redacted) log file, not the terminal.
        log.exception("unexpected failure in %s", args.command)
        print(
            f"d365sync: an unexpected error occurred; nothing more was changed. Details are in {where.log_file}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
