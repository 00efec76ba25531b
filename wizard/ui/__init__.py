"""The PySide6 GUI (the only package that imports Qt): the Configuration Wizard, its controller and workers.

Entry point for the command line: :func:`wizard.ui.app.run_wizard`.
"""

# Importing account_state applies a measured work-around for a PySide6 6.12 / CPython 3.11 reference-count
# bug (see account_state.signal_calls_drain_true); it must run before any window emits signals.
from wizard.ui import account_state as _account_state  # noqa: F401
