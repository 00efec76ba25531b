"""The status window (the home screen after setup): ``model`` (what it shows), ``widgets`` (its parts),
``window`` (the window and how it is built over the application layer)."""

from wizard.ui.status.model import ConflictView, KindRow, OrgSwitch, StatusView
from wizard.ui.status.widgets import counts_text
from wizard.ui.status.window import StatusWindow, build_status_window

__all__ = [
    "ConflictView",
    "KindRow",
    "OrgSwitch",
    "StatusView",
    "StatusWindow",
    "build_status_window",
    "counts_text",
]
