"""The status window put together over the application layer: the engine adapter, the status reader, the
offline row with its Offline filters dialog, and what makes the engine for a run (in a child process unless
asked otherwise). The one place the status window meets ``wizard.app``'s factory."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from wizard.app import offline
from wizard.app.conflicts import resolve_conflict
from wizard.app.factory import Factory
from wizard.app.schedule import read_server_intervals
from wizard.app.status import StatusReader, WizardPage
from wizard.ui.engine_adapter import EngineAdapter
from wizard.ui.offline_entry import install_offline
from wizard.ui.status.model import view_from_report
from wizard.ui.status.offline_filters import OfflineFiltersDialog
from wizard.ui.status.window import StatusWindow


def engine_maker(factory: Factory, *, in_process: bool = False) -> Callable[[Any], Any]:
    """What makes the engine for a run: in a child process (wizard.app.worker: it cannot stall the GUI
    thread by holding the interpreter lock), or in this process when asked (debugging)."""

    def make_engine(reporter: Any) -> Any:
        from wizard.secrets import keyring_is_process_local

        if in_process or keyring_is_process_local():  # the demo's secrets live in this process
            return factory.engine(reporter)
        from wizard.app.worker import ProcessEngine

        return ProcessEngine(reporter, home=factory.where.home)

    return make_engine


def build_status_window(
    factory: Factory,
    *,
    open_wizard: Callable[[WizardPage], None] | None = None,
    settings: QSettings | None = None,
    engine_in_process: bool = False,
) -> StatusWindow:
    """The adapter, the window and their callables for a configured profile (not started: call ``start()``).
    The engine runs in a child process unless ``engine_in_process``."""
    profile = factory.profile  # loaded here, in the GUI thread, before workers share it
    status = StatusReader(factory)

    def resolve(conflict_id: int, use: str) -> None:
        resolve_conflict(factory, conflict_id, use)

    adapter = EngineAdapter(
        engine_maker(factory, in_process=engine_in_process),
        interval_minutes=profile.sync.interval_minutes,
        server_intervals=functools.partial(read_server_intervals, factory),
    )
    window = StatusWindow(
        adapter,
        lambda: view_from_report(status.read()),
        resolve=resolve,
        check_account=status.check,
        open_wizard=open_wizard,
        settings=settings,
        switch_org=status.switch,
        resolve_offline=functools.partial(offline.resolve_conflict, factory),
    )
    adapter.setParent(window)

    def filters_dialog(parent: QWidget, offline_now: bool) -> OfflineFiltersDialog:
        return OfflineFiltersDialog(factory, parent, offline_now=offline_now)

    # Records…, Offline filters…, Go offline / Go online and the offline line (issue 14)
    install_offline(window, factory, filters_dialog=filters_dialog)
    return window
