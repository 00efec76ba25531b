"""The command line (DESIGN section 3) and the composition root: the one place that wires objects together.

Exit codes: 0 ok, 1 failure, 2 usage, 3 nothing configured / not the synchronizing computer.
``--json`` output is a documented, stable contract (docs/cli.md).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from wizard import __version__
from wizard.errors import ConfigurationError, D365SyncError
from wizard.paths import Locations, locations
from wizard.settings import OrgProfile, Profile, load_profile, save_profile

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_CONFIGURED = 3


class NotConfigured(ConfigurationError):
    """Nothing (or not enough) is configured for the command; exit code 3."""


class NotSynchronizingComputer(D365SyncError):
    """Another computer holds the synchronizing-client claim; exit code 3."""


class Refused(D365SyncError):
    """The user (or the lack of a terminal) said no to a confirmation; exit code 1."""


# ------------------------------------------------------------------------------------------------
# Composition root
# ------------------------------------------------------------------------------------------------
class Services:
    """Builds the product's objects from the profile: secrets, sign-in, Dataverse clients.

    Everything that touches the network is created here and handed to the commands (and later to the GUI's
    controllers), so tests and the GUI can replace one piece without patching modules.
    """

    def __init__(self, where: Locations, *, stdin: TextIO | None = None) -> None:
        self.where = where
        self.stdin = stdin or sys.stdin
        self._profile: Profile | None = None
        self._token_cache: Any = None

    # -- profile -------------------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        if self._profile is None:
            self._profile = load_profile(self.where.profile_file)
        return self._profile

    def save(self) -> None:
        save_profile(self.where.profile_file, self.profile)

    # -- secrets and sign-in -------------------------------------------------------------------
    def secret_store(self) -> Any:
        from wizard.secrets import SecretStore

        return SecretStore()

    def token_cache(self) -> Any:
        if self._token_cache is None:
            from wizard.secrets import load_token_cache

            self._token_cache = load_token_cache(self.where)
        return self._token_cache

    def sign_in(self, org: OrgProfile) -> Any:
        from wizard.crm.auth import DEFAULT_CLIENT_ID, SignIn

        return SignIn(
            authority=org.authority,
            client_id=org.client_id or DEFAULT_CLIENT_ID,
            cache=self.token_cache(),
            verify=org.ca_file or True,
        )

    # -- Dataverse -----------------------------------------------------------------------------
    def session_for(self, org: OrgProfile, auth: Any) -> Any:
        from wizard.odata import ODataSession

        return ODataSession(_service_root(org.api_url), auth=auth, verify=org.ca_file or True)

    def dataverse(self, org: OrgProfile) -> Any:
        """A client for a configured organization, signed in silently (token cache or keyring password)."""
        from wizard.crm.client import DataverseClient

        if org.auth_kind == "ntlm":
            from wizard.crm.auth import ntlm_auth

            password = self.secret_store().get(_password_key(org))
            if password is None:
                raise NotConfigured(
                    f"no stored password for {org.username}",
                    user_text=f"No password is stored for {org.username} at {org.display_name}. "
                    f"Add the organization again: d365sync orgs add {org.web_url} --auth ntlm",
                )
            auth = ntlm_auth(org.username, password)
        else:
            auth = self.sign_in(org).provider(org.api_url, org.username)
        return DataverseClient(self.session_for(org, auth))


def _service_root(api_url: str) -> str:
    return api_url.rstrip("/") + "/api/data/v9.2/"


def _password_key(org: OrgProfile) -> str:
    return f"org:{org.id}:{org.username}"


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


def _read_password(services: Services, from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        line = services.stdin.readline()
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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _when(value: datetime | None) -> str:
    """A moment for people: local time, minutes precision."""
    return value.astimezone().strftime("%d %b %Y %H:%M") if value is not None else "never"


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _org_by_id(profile: Profile, ident: str) -> OrgProfile:
    wanted = ident.strip().lower()
    for org in profile.organizations:
        if wanted in (org.id.lower(), org.unique_name.lower()):
            return org
    raise NotConfigured(
        f"no organization {ident}",
        user_text=f"No configured organization has the id {ident}. See: d365sync orgs list",
    )


def _require_sync_org(profile: Profile) -> OrgProfile:
    org = profile.sync_org
    if org is None:
        raise NotConfigured(
            "no synchronizing organization",
            user_text="No organization synchronizes yet, so messaging data is not synchronized. "
            "Choose one: d365sync orgs set-sync ID",
        )
    return org


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
        "auth": org.auth_kind,
        "username": org.username,
        "found_via": org.found_via,
        "synchronizing": org.id == profile.sync_org_id,
    }


def cmd_orgs_list(services: Services, args: argparse.Namespace) -> int:
    profile = services.profile
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


def _connect_new_org(services: Services, args: argparse.Namespace) -> tuple[OrgProfile, Any]:
    """Sign in to a pasted organization URL and confirm it with WhoAmI; returns the new profile entry and a client."""
    from wizard.crm.client import DataverseClient
    from wizard.crm.discovery import discover_authority, normalize_org_url

    url = normalize_org_url(args.url)
    ca_file = str(Path(args.ca_file).resolve()) if args.ca_file else ""
    org = OrgProfile(
        id="",
        display_name=url,
        web_url=url,
        api_url=url,
        found_via="url",
        auth_kind=args.auth,
        username=args.username or "",
        ca_file=ca_file,
        client_id=args.client_id or "",
        added_at=_now_iso(),
    )
    password: str | None = None
    if args.auth == "ntlm":
        from wizard.crm.auth import ntlm_auth

        if not org.username:
            raise ConfigurationError(
                "--username is required", user_text="On-premises sign-in needs --username DOMAIN\\user."
            )
        password = _read_password(services, args.password_stdin, f"Password for {org.username}: ")
        auth: Any = ntlm_auth(org.username, password)
    else:
        org.authority = args.authority or discover_authority(_service_root(url), verify=ca_file or True)
        sign_in = services.sign_in(org)
        scopes = [f"{url.rstrip('/')}/user_impersonation"]
        if args.password_stdin:
            if not org.username:
                raise ConfigurationError(
                    "--username is required", user_text="--password-stdin needs --username."
                )
            password = _read_password(services, True, "")
            account = sign_in.sign_in_password(org.username, password, scopes)
        else:
            flow = sign_in.start_device_flow(scopes)
            print(flow.message, file=sys.stderr, flush=True)
            account = sign_in.finish_device_flow(flow)
        org.username = account.username if hasattr(account, "username") else str(account)
        auth = sign_in.provider(url, org.username)
    client = DataverseClient(services.session_for(org, auth))
    who = client.whoami()
    org.id = who.organization_id
    org.user_id = who.user_id
    details = client.current_organization()
    org.display_name = details.friendly_name or details.unique_name or url
    org.unique_name = details.unique_name
    org.version = details.version
    org.tenant_id = details.tenant_id
    if details.web_url:
        org.web_url = details.web_url
    if password is not None and args.auth == "ntlm":
        services.secret_store().set(_password_key(org), password)
    return org, client


def cmd_orgs_add(services: Services, args: argparse.Namespace) -> int:
    profile = services.profile
    org, client = _connect_new_org(services, args)
    existing = profile.org(org.id)
    if existing is not None:
        profile.organizations[profile.organizations.index(existing)] = org
        print(f"Updated {org.display_name} ({org.id}).")
    else:
        profile.organizations.append(org)
        print(f"Added {org.display_name} ({org.id}) as {org.username}.")
    first = profile.sync_org_id is None and len(profile.organizations) == 1
    services.save()
    if first and not args.no_sync:
        from wizard.crm import records

        records.set_sync_org(client, [])
        profile.sync_org_id = org.id
        services.save()
        print(f"{org.display_name} is the synchronizing organization.")
    return EXIT_OK


def cmd_orgs_remove(services: Services, args: argparse.Namespace) -> int:
    profile = services.profile
    org = _org_by_id(profile, args.id)
    if org.id == profile.sync_org_id:
        if not _confirm(
            f"{org.display_name} is the synchronizing organization. Remove it? Messaging data will then not be "
            "synchronized until you choose another one.",
            yes=args.yes,
        ):
            raise Refused("not confirmed", user_text="Nothing was removed (confirm with --yes).")
        profile.sync_org_id = None
    profile.organizations.remove(org)
    services.save()
    if org.auth_kind == "ntlm":
        try:
            services.secret_store().delete(_password_key(org))
        except D365SyncError as exc:
            log.warning("could not delete the stored password: %s", exc.user_text)
    print(f"Removed {org.display_name} ({org.id}).")
    return EXIT_OK


def cmd_orgs_set_sync(services: Services, args: argparse.Namespace) -> int:
    from wizard.crm import records

    profile = services.profile
    org = _org_by_id(profile, args.id)
    current = profile.sync_org
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
    chosen = services.dataverse(org)
    others = [services.dataverse(o) for o in profile.organizations if o.id != org.id]
    report = records.set_sync_org(chosen, others)
    profile.sync_org_id = org.id
    services.save()
    print(f"{org.display_name} is now the synchronizing organization.")
    if not report.complete:
        print(f"d365sync: {report.user_text}", file=sys.stderr)
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
        "claimed_at": _iso(claim.claimed_at),
        "heartbeat": _iso(claim.heartbeat),
        "this_computer": claim.instance_id == instance_id,
    }


def cmd_instance_show(services: Services, args: argparse.Namespace) -> int:
    from wizard.crm import records

    profile = services.profile
    org = _require_sync_org(profile)
    claim = records.read_claim(services.dataverse(org))
    data = {
        "organization": org.display_name,
        "this_computer": {"instance_id": profile.instance_id, "hostname": socket.gethostname()},
        "claim": _claim_dict(claim, profile.instance_id),
    }
    if args.json:
        _emit_json(data)
    elif claim is None:
        print(f"No computer synchronizes {org.display_name} yet. Claim it: d365sync instance claim")
    elif claim.instance_id == profile.instance_id:
        print(
            f"This computer ({claim.hostname}) is the synchronizing client for {org.display_name} since {_when(claim.claimed_at)}."
        )
    else:
        print(
            f"The synchronizing client for {org.display_name} is {claim.hostname}, since {_when(claim.claimed_at)} "
            f"(last seen {_when(claim.heartbeat)}). This computer does not synchronize."
        )
    return EXIT_OK


def cmd_instance_claim(services: Services, args: argparse.Namespace) -> int:
    from wizard.crm import records

    profile = services.profile
    org = _require_sync_org(profile)
    client = services.dataverse(org)
    hostname = socket.gethostname()
    try:
        claim = records.claim(client, profile.instance_id, hostname, force=False)
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
        claim = records.claim(client, profile.instance_id, hostname, force=True)
    print(f"This computer ({claim.hostname}) is now the synchronizing client for {org.display_name}.")
    return EXIT_OK


def cmd_instance_release(services: Services, args: argparse.Namespace) -> int:
    from wizard.crm import records

    profile = services.profile
    org = _require_sync_org(profile)
    released = records.release(services.dataverse(org), profile.instance_id)
    print(
        f"This computer no longer synchronizes {org.display_name}."
        if released
        else f"This computer did not hold the synchronizing-client claim for {org.display_name}."
    )
    return EXIT_OK


# ------------------------------------------------------------------------------------------------
# mailbox
# ------------------------------------------------------------------------------------------------
def cmd_mailbox_show(services: Services, args: argparse.Namespace) -> int:
    binding = services.profile.mailbox
    if args.json:
        _emit_json({"mailbox": asdict(binding) if binding else None})
        return EXIT_OK
    if binding is None:
        print("No mailbox is bound. Bind your primary mailbox: d365sync mailbox bind ADDRESS")
        return EXIT_NOT_CONFIGURED
    print(f"Mailbox {binding.address} ({binding.kind})")
    if binding.ews_url:
        print(f"  EWS: {binding.ews_url}{' (Autodiscover)' if binding.autodiscovered else ''}")
    if binding.pop3_host:
        print(f"  POP3: {binding.pop3_host}:{binding.pop3_port} ({binding.pop3_tls})")
        print(f"  SMTP: {binding.smtp_host}:{binding.smtp_port} ({binding.smtp_tls})")
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


def cmd_sandbox(services: Services, args: argparse.Namespace) -> int:
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
def cmd_demo(services: Services, args: argparse.Namespace) -> int:
    """Stand-ins with demo data, a throw-away profile, and the setup steps the wizard takes, as the demo user."""
    import io
    import tempfile

    from wizard.sandbox import Sandbox
    from wizard.secrets import use_memory_keyring

    if not args.headless:
        print(
            "The Configuration Wizard window is not part of this build yet; running the headless demo.",
            file=sys.stderr,
        )
    use_memory_keyring()
    with tempfile.TemporaryDirectory(prefix="d365sync-demo-") as home, Sandbox(seed=args.seed) as sandbox:
        info = sandbox.port_info()
        user = info["users"][0]
        demo = Services(locations(Path(home) / "profile").ensure(), stdin=io.StringIO())
        print(f"Demo: signing in to the sandbox as {user['upn']} …")
        for env in info["environments"]:
            demo.stdin = io.StringIO(user["password"] + "\n")
            cmd_orgs_add(
                demo,
                argparse.Namespace(
                    url=env["url"],
                    auth="oauth",
                    username=user["upn"],
                    password_stdin=True,
                    ca_file=info["ca_file"],
                    authority=None,
                    client_id=None,
                    no_sync=False,
                ),
            )
        cmd_orgs_list(demo, argparse.Namespace(json=False))
        print()
        cmd_instance_claim(demo, argparse.Namespace(yes=True))
        cmd_instance_show(demo, argparse.Namespace(json=False))
    return EXIT_OK


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
        parent: Any, name: str, handler: Callable[[Services, argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

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
    return parser


def _exit_code(error: D365SyncError) -> int:
    if isinstance(error, NotConfigured | NotSynchronizingComputer):
        return EXIT_NOT_CONFIGURED
    return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    where = locations().ensure()
    from wizard import logging_setup

    logging_setup.configure(where, verbose=args.verbose)
    services = Services(where)
    try:
        return int(handler(services, args))
    except D365SyncError as error:
        log.info("command failed: %s", error)
        print(f"d365sync: {error.user_text}", file=sys.stderr)
        return _exit_code(error)
    except KeyboardInterrupt:
        print("d365sync: interrupted", file=sys.stderr)
        return EXIT_FAILURE
