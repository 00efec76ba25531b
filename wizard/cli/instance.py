"""``d365sync instance show|claim|release``: the synchronizing computer."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wizard.app.factory import Factory
from wizard.app.instance import claim_instance, hostname, read_claim, release_claim
from wizard.cli.configured import require_sync_org
from wizard.cli.output import EXIT_FAILURE, EXIT_OK, Command, confirm, emit_json, when
from wizard.crm import records
from wizard.isotime import iso_z


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
    org = require_sync_org(factory)
    claim = read_claim(factory)
    data = {
        "organization": org.display_name,
        "this_computer": {"instance_id": profile.instance_id, "hostname": hostname()},
        "claim": _claim_dict(claim, profile.instance_id),
    }
    if args.json:
        emit_json(data)
    elif claim is None:
        print(f"No computer synchronizes {org.display_name} yet. Claim it: d365sync instance claim")
    elif claim.instance_id == profile.instance_id:
        print(
            f"This computer ({claim.hostname}) is the synchronizing client for {org.display_name} "
            f"since {when(claim.claimed_at)}."
        )
    else:
        print(
            f"The synchronizing client for {org.display_name} is {claim.hostname}, since {when(claim.claimed_at)} "
            f"(last seen {when(claim.heartbeat)}). This computer does not synchronize."
        )
    return EXIT_OK


def cmd_instance_claim(factory: Factory, args: argparse.Namespace) -> int:
    return claim_and_show(factory, yes=args.yes)


def claim_and_show(factory: Factory, *, yes: bool) -> int:
    """Make this computer the synchronizing client, asking first (or ``yes``) when another one holds it."""
    org = require_sync_org(factory)
    try:
        claim = claim_instance(factory, force=False)
    except records.ClaimHeldElsewhere as held:
        question = (
            f"The synchronizing client for {org.display_name} is {held.claim.hostname}, since "
            f"{when(held.claim.claimed_at)} (last seen {when(held.claim.heartbeat)}). "
            "Make this computer the synchronizing client?"
        )
        if not confirm(question, yes=yes):
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
    org = require_sync_org(factory)
    print(
        f"This computer no longer synchronizes {org.display_name}."
        if release_claim(factory)
        else f"This computer did not hold the synchronizing-client claim for {org.display_name}."
    )
    return EXIT_OK


def register(sub: Any, command: Command) -> None:
    """The ``instance`` commands."""
    instance = sub.add_parser("instance", help="the synchronizing computer")
    inst_sub = instance.add_subparsers(dest="instance_command", metavar="ACTION", required=True)
    p = command(inst_sub, "show", cmd_instance_show, "show which computer synchronizes")
    p.add_argument("--json", action="store_true", help="print it as JSON (docs/cli.md)")
    p = command(inst_sub, "claim", cmd_instance_claim, "make this computer the synchronizing client")
    p.add_argument("--yes", action="store_true", help="take over from another computer without asking")
    command(inst_sub, "release", cmd_instance_release, "stop being the synchronizing client")
