"""``d365sync sandbox`` (the loopback stand-ins until interrupted) and ``d365sync demo`` (the stand-ins with demo
data, a throw-away profile and the wizard's steps, in a window or headless)."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from wizard.app import offline as offline_app
from wizard.app.factory import Factory
from wizard.app.orgs import connect_org
from wizard.cli import instance, mailbox, orgs, sync
from wizard.cli.gui import require_display
from wizard.cli.offline import show_online
from wizard.cli.output import EXIT_FAILURE, EXIT_OK, Command, emit_json
from wizard.paths import locations
from wizard.settings import MailboxBinding
from wizard.sync.run import RunStatus


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
    with Sandbox(data_dir, seed=args.seed, demo_data=not args.empty, latency_ms=args.latency_ms) as sandbox:
        info = sandbox.port_info()
        if args.port_file:
            target = Path(args.port_file)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
            tmp.replace(target)
        if args.json:
            emit_json(info)
        else:
            print("d365sync sandbox is running on 127.0.0.1 (Ctrl+C stops it).")
            named = [*info["environments"], *([info["onprem"]] if "onprem" in info else [])]
            width = max(len(env["friendly_name"]) for env in named)
            for env in info["environments"]:
                print(f"  Dataverse    {env['friendly_name']:<{width}} {env['url']}")
            if "onprem" in info:
                onprem = info["onprem"]
                print(f"  On-premises  {onprem['friendly_name']:<{width}} {onprem['url']}  (Windows sign-in)")
            print(f"  Discovery    {info['discovery_url']}")
            print(f"  Authority    {info['authority_url']}")
            if "ews_url" in info:
                print(f"  EWS          {info['ews_url']}")
                print(f"  Autodiscover {info['autodiscover_url']}")
            if "graph_url" in info:
                print(f"  Graph        {info['graph_url']}")
            print(f"  CA file      {info['ca_file']}")
            print("  Users (UPN / password / Primary Email):")
            for user in info["users"]:
                print(f"    {user['upn']:<28} {user['password']:<20} {user['primary_email']}")
            print(
                "\nTry: d365sync orgs add "
                f"{info['dataverse_url']} --ca-file {info['ca_file']} --username {info['users'][0]['upn']} --password-stdin"
            )
            if "onprem" in info and "ntlm_username" in info["users"][0]:
                windows_user = shlex.quote(info["users"][0]["ntlm_username"])
                print(
                    f"On premises: d365sync orgs add {info['onprem']['url']} --auth ntlm --username {windows_user} "
                    f"--ca-file {info['ca_file']} --password-stdin"
                )
        sys.stdout.flush()
        _wait_for_interrupt()
    return EXIT_OK


def _demo_gui(args: argparse.Namespace) -> int:
    import tempfile

    from wizard.sandbox import Sandbox
    from wizard.ui import presets
    from wizard.ui.app import application, run_home
    from wizard.ui.quit_signals import quit_on_signals

    require_display("Run the demo without a window: d365sync demo --headless")
    quit_on_signals(application())  # SIGTERM/SIGINT end the event loops: the folders below are removed
    with tempfile.TemporaryDirectory(prefix="d365sync-demo-") as home, Sandbox(seed=args.seed) as sandbox:
        info = sandbox.port_info()
        preset = presets.sandbox(info)
        return run_home(Factory(locations(Path(home) / "profile").ensure()), preset=preset)


def cmd_demo(factory: Factory, args: argparse.Namespace) -> int:
    """Stand-ins with demo data, a throw-away profile, and the setup steps the wizard takes, as the demo user."""
    import tempfile

    from wizard.sandbox import Sandbox
    from wizard.secrets import use_memory_keyring

    use_memory_keyring()
    if not args.headless:
        return _demo_gui(args)
    _exit_on_signals()
    with tempfile.TemporaryDirectory(prefix="d365sync-demo-") as home, Sandbox(seed=args.seed) as sandbox:
        demo = Factory(locations(Path(home) / "profile").ensure())
        _demo_setup(demo, sandbox.port_info())
        print("\nSetup complete. Synchronizing once …")
        synced = _demo_sync(demo)
        round_trip = _demo_offline(demo)
        return synced if synced != EXIT_OK else round_trip
    return EXIT_OK


def _exit_on_signals() -> None:
    """SIGTERM (and SIGINT) end the headless demo as an error does: the with-blocks remove the temporary
    profile and the stand-ins' folders, atexit the NTLM user file's. Further signals wait for that."""

    def handler(signum: int, frame: Any) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _demo_setup(demo: Factory, info: dict[str, Any]) -> None:
    """The wizard's steps as the first demo user: every environment added (the first synchronizes), this computer
    claimed, the mailbox bound; each step shown as its command shows it."""
    user = info["users"][0]
    ca_file = str(Path(info["ca_file"]).resolve())
    print(f"Demo: signing in to the sandbox as {user['upn']} …")
    for env in info["environments"]:
        connected = connect_org(
            demo, env["url"], username=user["upn"], password=user["password"], ca_file=ca_file,
            on_device_code=orgs.show_code,
        )  # fmt: skip
        orgs.save_and_show(demo, connected)
    orgs.show_orgs(demo.profile)
    print()
    instance.claim_and_show(demo, yes=True)
    print()
    binding = MailboxBinding(
        address=user["primary_email"].strip(),
        kind="exchange",
        auth="basic",
        autodiscover_url=info["autodiscover_url"],
        ca_file=ca_file,
    )
    mailbox.bind_and_show(demo, binding, user["ews_password"])


def _demo_sync(demo: Factory) -> int:
    """The headless demo's full sync and the status table; 0 only when every kind synchronized."""
    from wizard.sync.reporter import LogReporter
    from wizard.sync.status import status_lines

    with demo.engine(LogReporter(sys.stderr)) as engine:
        summary = engine.run_once()
    print()
    print("\n".join(status_lines(sync.current_status(demo))))
    return EXIT_OK if summary.status == RunStatus.OK else EXIT_FAILURE


def _demo_offline(demo: Factory) -> int:
    """The headless demo's offline round trip (issue 14): go offline, edit a contact and create an account in
    the offline store, go online, print what was replayed; 0 when every change was sent."""
    print("\nOffline round trip: going offline …")
    taken = offline_app.go_offline(demo)
    counts = ", ".join(f"{count} {name}" for name, count in sorted(taken.counts.items()))
    print(f"Offline — {sum(taken.counts.values())} records ({counts}).")
    contacts = offline_app.list_records(demo, "contacts", limit=1)
    if not contacts:
        print("d365sync: the offline store holds no contact to edit.", file=sys.stderr)
        return EXIT_FAILURE
    contact = contacts[0]
    offline_app.update_record(demo, "contacts", contact.id, {"jobtitle": "Purchasing (edited offline)"})
    print(f'Edited offline: contact "{contact.name}", job title "Purchasing (edited offline)".')
    account = offline_app.create_record(demo, "accounts", {"name": "Northwind Traders (created offline)"})
    print(f'Created offline: account "Northwind Traders (created offline)" ({account}).')
    print(f"{offline_app.offline_status(demo).queued} change(s) wait to be sent. Going online …")
    return show_online(offline_app.go_online(demo))


def _latency_ms(text: str) -> int:
    """``--latency-ms``: a whole number of milliseconds, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of milliseconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def register(sub: Any, command: Command) -> None:
    """The ``demo`` and ``sandbox`` commands."""
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
    sandbox.add_argument(
        "--latency-ms",
        type=_latency_ms,
        default=0,
        metavar="N",
        help="every stand-in waits N ms before each answer (a network's round trip; default 0)",
    )
