"""The status window (the home screen after setup): ``model`` (what it shows), ``widgets`` (its parts),
``window`` (the window), ``offline_filters`` (its Offline filters dialog), ``compose`` (how it is built over
the application layer)."""

from wizard.ui.status.compose import build_status_window
from wizard.ui.status.model import ConflictView, KindRow, OrgSwitch, StatusView
from wizard.ui.status.widgets import counts_text
from wizard.ui.status.window import StatusWindow

__all__ = [
    "ConflictView",
    "KindRow",
    "OrgSwitch",
    "StatusView",
    "StatusWindow",
    "build_status_window",
    "counts_text",
]
