"""``d365sync mailbox show|bind|test|unbind``: the primary mailbox."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace
from typing import Any

from wizard.app.factory import Factory, NotConfigured
from wizard.app.mailbox import bind_mailbox, check_mailbox, unbind_mailbox
from wizard.cli import args as checked
from wizard.cli.output import (
    EXIT_NOT_CONFIGURED,
    EXIT_OK,
    Command,
    Refused,
    confirm,
    emit_json,
    read_password,
)
from wizard.errors import ConfigurationError
from wizard.settings import MailboxBinding


def cmd_mailbox_show(factory: Factory, args: argparse.Namespace) -> int:
    binding = factory.profile.mailbox
    if args.json:
        emit_json({"mailbox": asdict(binding) if binding else None})
        return EXIT_OK if binding else EXIT_NOT_CONFIGURED  # as without --json
    if binding is None:
        print("No mailbox is bound. Bind your primary mailbox: d365sync mailbox bind ADDRESS")
        return EXIT_NOT_CONFIGURED
    print("\n".join(_describe_binding(binding)))
    return EXIT_OK


def _binding_from_args(factory: Factory, args: argparse.Namespace) -> MailboxBinding:
    kind = args.kind
    ca_file = checked.ca_file(args.ca_file)
    checked.host(args.address.rpartition("@")[2], "ADDRESS")
    checked.host(args.pop3_host, "--pop3-host")
    checked.host(args.smtp_host, "--smtp-host")
    for value, option in (
        (args.ews_url, "--ews-url"),
        (args.autodiscover_url, "--autodiscover-url"),
        (args.graph_url, "--graph-url"),
    ):
        checked.url(value, option)
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
        autodiscover_redirects=list(args.allow_redirect or []),
        ca_file=ca_file,
    )


def _mailbox_password(args: argparse.Namespace) -> str | None:
    if args.kind == "exchange_online" or (args.kind == "exchange" and args.auth == "oauth2"):
        return None  # the organization's sign-in gets the token
    label = args.username or args.address
    return read_password(args.stdin or sys.stdin, args.password_stdin, f"Password for the mailbox {label}: ")


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
    bind_and_show(factory, _binding_from_args(factory, args), _mailbox_password(args))
    return EXIT_OK


def bind_and_show(factory: Factory, binding: MailboxBinding, password: str | None) -> None:
    """Bind the primary mailbox and describe what was bound."""
    bound = bind_mailbox(factory, binding, password)
    print("\n".join(_describe_binding(bound)))
    org = factory.profile.org(bound.org_id)
    print(f"Bound as your primary mailbox for {org.display_name if org else bound.org_id}.")


def cmd_mailbox_test(factory: Factory, args: argparse.Namespace) -> int:
    binding = factory.profile.mailbox
    if binding is None:
        raise NotConfigured(
            "no mailbox", user_text="No mailbox is bound. Bind one: d365sync mailbox bind ADDRESS"
        )
    if args.allow_redirect:
        binding = replace(
            binding, autodiscover_redirects=[*binding.autodiscover_redirects, *args.allow_redirect]
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
    if not confirm(
        f"Unbind {binding.address}? Nothing is synchronized with a mailbox until you bind one again.",
        yes=args.yes,
    ):
        raise Refused("not confirmed", user_text="The mailbox stays bound (confirm with --yes).")
    unbind_mailbox(factory)
    print(f"Unbound {binding.address}.")
    return EXIT_OK


def _allow_redirect_option(parser: Any) -> None:
    parser.add_argument(
        "--allow-redirect",
        action="append",
        metavar="HOST",
        help="Exchange: let Autodiscover follow a redirect to HOST outside the address's domain and send "
        "the password there (only if HOST belongs to your mail provider; repeat for several)",
    )


def register(sub: Any, command: Command) -> None:
    """The ``mailbox`` commands."""
    mailbox = sub.add_parser("mailbox", help="the primary mailbox")
    mb_sub = mailbox.add_subparsers(dest="mailbox_command", metavar="ACTION", required=True)
    p = command(mb_sub, "show", cmd_mailbox_show, "show the bound mailbox (exit code 3 when none is bound)")
    p.add_argument("--json", action="store_true", help="print it as JSON (docs/cli.md)")
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
    _allow_redirect_option(p)
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
    p = command(mb_sub, "test", cmd_mailbox_test, "connect to the bound mailbox")
    _allow_redirect_option(p)
    p = command(mb_sub, "unbind", cmd_mailbox_unbind, "release the bound mailbox")
    p.add_argument("--yes", action="store_true", help="do not ask")
