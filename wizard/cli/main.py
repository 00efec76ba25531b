"""The parser and ``main``: the console script ``d365sync`` (``wizard.cli:main``).

Each command group registers its own subcommands (``orgs``, ``instance``, ``mailbox``, ``sync``, ``sandbox``,
``gui``); ``main`` creates the one :class:`~wizard.app.factory.Factory`, runs the handler and turns typed errors
into exit codes. Exit codes: 0 ok, 1 failure, 2 usage, 3 nothing configured / not the synchronizing computer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from wizard import __version__
from wizard.app.factory import Factory, NotConfigured
from wizard.cli import gui, instance, mailbox, orgs, sandbox, sync
from wizard.cli.output import (
    EXIT_FAILURE,
    EXIT_NOT_CONFIGURED,
    EXIT_USAGE,
    NotSynchronizingComputer,
)
from wizard.errors import D365SyncError
from wizard.paths import locations, use_private_modes

log = logging.getLogger(__name__)


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

    for group in (gui, sandbox, orgs, instance, mailbox, sync):  # the order of ``d365sync --help``
        group.register(sub, command)
    return parser


def _exit_code(error: D365SyncError) -> int:
    if isinstance(error, NotConfigured | NotSynchronizingComputer):
        return EXIT_NOT_CONFIGURED
    return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    use_private_modes()  # first: every file and folder of the profile 0600/0700 (wizard.paths)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        if args.command is not None or gui.no_display():
            parser.print_help()
            return EXIT_USAGE
        handler = (
            gui.cmd_home
        )  # plain `d365sync` on a desktop: the wizard on first run, else the status window
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
