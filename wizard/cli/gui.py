"""The GUI commands: ``d365sync wizard`` and plain ``d365sync`` (the wizard on first run, else the status window).

Qt is imported lazily (``wizard.ui``), only when a window opens: the rest of the command line runs without it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from wizard.app.factory import Factory
from wizard.cli.output import Command
from wizard.errors import ConfigurationError


def no_display() -> bool:
    """True on a Linux/BSD machine without X11 or Wayland (and no Qt platform chosen explicitly)."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def require_display(hint: str) -> None:
    if no_display():
        raise ConfigurationError("no display", user_text=f"There is no display to show the window on. {hint}")


def cmd_wizard(factory: Factory, args: argparse.Namespace) -> int:
    """The Configuration Wizard (also what plain ``d365sync`` opens)."""
    require_display("Use the command line instead (d365sync --help).")
    from wizard.ui.app import run_wizard

    return run_wizard(factory)


def cmd_home(factory: Factory, args: argparse.Namespace) -> int:
    require_display("Use the command line instead (d365sync --help).")
    from wizard.ui.app import run_home

    return run_home(factory)


def register(sub: Any, command: Command) -> None:
    """The ``wizard`` command (plain ``d365sync`` is the home command, chosen in main)."""
    command(sub, "wizard", cmd_wizard, "open the Configuration Wizard")
