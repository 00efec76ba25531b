"""What the command line shows and asks: exit codes, tables, JSON, confirmations, password prompts, moments.

``--json`` output is a documented, stable contract (docs/cli.md).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from wizard.errors import ConfigurationError, D365SyncError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_CONFIGURED = 3


class NotSynchronizingComputer(D365SyncError):
    """Another computer holds the synchronizing-client claim; exit code 3."""


class UnknownOrganization(D365SyncError):
    """An organization id (or unique name) that is not configured: a usage error, exit code 2."""


class Refused(D365SyncError):
    """The user (or the lack of a terminal) said no to a confirmation; exit code 1."""


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, sort_keys=False)
    sys.stdout.write("\n")


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def confirm(question: str, *, yes: bool) -> bool:
    """True when --yes was given or the user answers yes on a terminal; False without a terminal."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes", "j", "ja")


def read_password(stdin: TextIO, from_stdin: bool, prompt: str) -> str:
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


def when(value: datetime | None) -> str:
    """A moment for people: local time, minutes precision."""
    from wizard.sync.status import for_people

    return for_people(value) if value is not None else "never"


Command = Callable[..., argparse.ArgumentParser]  # registers a subcommand and its handler (see main)
