"""The parser and ``main``: the console script ``d365sync`` (``wizard.cli:main``).

Each command group registers its own subcommands (``orgs``, ``instance``, ``mailbox``, ``sync``, ``offline``,
``records``, ``sandbox``, ``gui``); ``main`` creates the one :class:`~wizard.app.factory.Factory`, runs the handler and turns typed errors
into exit codes. Exit codes: 0 ok, 1 failure, 2 usage (also an organization id that is not configured), 3 nothing
configured / not the synchronizing computer. No traceback reaches the terminal: folders that cannot be made and
the known failures from below get a sentence (``wizard.cli.failures``), anything else "an unexpected error".
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from wizard import __version__
from wizard.app.factory import Factory, NotConfigured
from wizard.cli import gui, instance, mailbox, offline, orgs, records, sandbox, sync
from wizard.cli.failures import explain, folder_text
from wizard.cli.output import (
    EXIT_FAILURE,
    EXIT_NOT_CONFIGURED,
    EXIT_USAGE,
    NotSynchronizingComputer,
    UnknownOrganization,
)
from wizard.errors import D365SyncError
from wizard.paths import HOME_ENV, Locations, locations, take_repair_notes, use_private_modes

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

    for group in (
        gui,
        sandbox,
        orgs,
        instance,
        mailbox,
        sync,
        offline,
        records,
    ):  # the order of ``d365sync --help``
        group.register(sub, command)
    return parser


def _exit_code(error: D365SyncError) -> int:
    if isinstance(error, UnknownOrganization):
        return EXIT_USAGE
    if isinstance(error, NotConfigured | NotSynchronizingComputer):
        return EXIT_NOT_CONFIGURED
    return EXIT_FAILURE


def _folders() -> Locations:
    """The profile's folders, created; a log folder that cannot be made does not stop the program (the file
    log is left out, see wizard.logging_setup), any other folder raises OSError."""
    try:
        where = locations()
    except RuntimeError as error:  # Path.resolve: a symlink loop in D365SYNC_HOME
        raise OSError(errno.ELOOP, "symbolic link loop", os.environ.get(HOME_ENV, "")) from error
    try:
        return where.ensure()
    except OSError:
        # again without the log folder (standing in for it: a folder that is made anyway); if that works, the
        # log folder was the one in the way and logging_setup says so in one line
        replace(where, log_dir=where.config_dir).ensure()
        return where


def _no_display_help(parser: argparse.ArgumentParser) -> int:
    print(
        "d365sync: no desktop was found (no DISPLAY or WAYLAND_DISPLAY), so no window can open. "
        "Use the commands below, e.g. d365sync orgs add URL.",
        file=sys.stderr,
    )
    parser.print_help()
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    use_private_modes()  # first: every file and folder of the profile 0600/0700 (wizard.paths)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        if args.command is not None:
            parser.print_help()
            return EXIT_USAGE
        if gui.no_display():
            return _no_display_help(parser)
        handler = (
            gui.cmd_home
        )  # plain `d365sync` on a desktop: the wizard on first run, else the status window
    try:
        where = _folders()
    except OSError as error:
        print(f"d365sync: {folder_text(error)}", file=sys.stderr)
        return EXIT_FAILURE
    from wizard import logging_setup

    logging_setup.configure(where, verbose=args.verbose)
    for note in take_repair_notes():  # into the log file; the terminal is no place for them
        log.info("%s", note)
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
    except Exception as error:
        # The details go to the (redacted) log file, not the terminal; a known cause gets its sentence.
        known = explain(error, _where_of(factory))
        if known:
            log.info("command failed in %s", args.command, exc_info=True)
        else:
            log.exception("unexpected failure in %s", args.command)
        print(
            f"d365sync: {known}"
            if known
            else "d365sync: an unexpected error occurred; nothing more was changed. "
            f"Details are in {where.log_file}",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _where_of(factory: Factory) -> Locations | None:
    """The folders with the synchronizing organization's state DB, for naming it in a message."""
    try:
        return factory.where
    except Exception:  # reporting a failure must not fail
        return None
