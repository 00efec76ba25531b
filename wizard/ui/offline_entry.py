"""Where the user reaches the offline features: a row in the status window and entries in the tray menu.

:class:`OfflinePanel` shows "Offline — N records, last refreshed …" or "N changes waiting to be sent" (or, after
a go-online that stopped part way, "N changes not yet sent; going online stopped: <why>") and the buttons
Records…, Offline filters… (the dialog the composition makes, ``wizard.ui.status.offline_filters``) and Go
offline / Go online; :func:`install_offline` puts it into a status window (above its buttons) and
:meth:`OfflinePanel.add_to_menu` the same commands into the tray's menu. The state is read from the offline
store on a worker (no network); going offline or online runs in
:class:`wizard.ui.offline_progress.OfflineProgressDialog`. While the user is online, the store is refreshed in
the background (``wizard.app.offline.background_refresh``) on a second schedule of the status window's
:class:`~wizard.ui.engine_adapter.EngineAdapter`, on a worker, never while going offline or online. When a
synchronization finds Dynamics 365 unreachable and a store exists, the line says so and offers Go offline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QWidget

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.app.offline import OfflineStatus
from wizard.errors import D365SyncError
from wizard.odata.errors import NetworkError
from wizard.ui.engine_texts import translate as engine_text
from wizard.ui.offline_progress import GO_OFFLINE, GO_ONLINE, OfflineProgressDialog
from wizard.ui.workers import TaskRunner


def _when(text: str | None) -> str:
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


FiltersDialog = Callable[[QWidget, bool], Any]
"""``(parent, offline now)`` -> the Offline filters dialog, not shown yet (it has ``start()``)."""


class OfflinePanel(QWidget):
    """The offline line and its buttons; ``after_online`` runs once the user is online again (the status
    window's Sync now: going online ends with the messaging sync); ``filters_dialog`` makes the dialog behind
    Offline filters… (no such button without it)."""

    def __init__(
        self,
        factory: Factory,
        parent: QWidget | None = None,
        *,
        after_online: Callable[[], None] | None = None,
        filters_dialog: FiltersDialog | None = None,
    ) -> None:
        super().__init__(parent)
        self.factory = factory
        self.after_online = after_online
        self.make_filters_dialog = filters_dialog
        self.runner = TaskRunner(self)
        self.status: OfflineStatus | None = None
        self.records_window: Any = None
        self.dialog: OfflineProgressDialog | None = None
        self.refresh_job: Any = None  # the background refresh (install_offline)
        self.unreachable = False  # the last synchronization could not reach Dynamics 365
        self.line = QLabel(self)
        self.line.setWordWrap(True)
        self.records_button = QPushButton(self.tr("Recor&ds…"), self)
        self.filters_button = QPushButton(self.tr("Offline filt&ers…"), self)
        self.filters_button.setToolTip(self.tr("Choose the records you take with you when you go offline"))
        self.filters_button.setVisible(filters_dialog is not None)
        self.go_button = QPushButton(self.tr("Go o&ffline"), self)
        for button in (self.records_button, self.filters_button, self.go_button):
            button.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.records_button)
        layout.addWidget(self.filters_button)
        layout.addWidget(self.go_button)
        self.records_action = QAction(self.tr("Recor&ds…"), self)
        self.go_action = QAction(self.tr("Go o&ffline"), self)
        self.filters_dialog: Any = None
        self.filters_button.clicked.connect(self.open_filters)
        self.records_button.clicked.connect(self.open_records)
        self.records_action.triggered.connect(self.open_records)
        self.go_button.clicked.connect(self.toggle)
        self.go_action.triggered.connect(self.toggle)
        self.refresh()

    def add_to_menu(self, menu: QMenu) -> None:
        """The tray's entries: Records… and Go offline / Go online."""
        menu.addAction(self.records_action)
        menu.addAction(self.go_action)

    # -- state -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the offline state again (on a worker; no network)."""
        self.runner.run(
            "Offline status",
            lambda _ctx: offline.offline_status(self.factory),
            on_success=self.show_status,
            on_failure=self._status_failed,
        )

    def run_failed(self, error: D365SyncError) -> None:
        """A synchronization failed: when Dynamics 365 could not be reached, offer to go offline."""
        self.set_unreachable(isinstance(error, NetworkError))

    def set_unreachable(self, unreachable: bool) -> None:
        if unreachable != self.unreachable:
            self.unreachable = unreachable
            if self.status is not None:
                self.show_status(self.status)
            self.refresh()

    def _status_failed(self, error: D365SyncError) -> None:
        self.line.setText(error.user_text)

    @property
    def offline(self) -> bool:
        return self.status is not None and self.status.state == offline.OFFLINE

    def show_status(self, status: OfflineStatus) -> None:
        self.status = status
        records = sum(status.records.values())
        when = _when(status.refreshed_at or status.downloaded_at)
        if status.state == offline.OFFLINE:
            text = (
                self.tr("Offline — {0} record") if records == 1 else self.tr("Offline — {0} records")
            ).format(records)
            if when:
                text += self.tr(", last refreshed {0}").format(when)
            if status.stopped and status.queued > status.held:
                text = (
                    self.tr("Offline — {0} change not yet sent; going online stopped: {1}")
                    if status.queued - status.held == 1
                    else self.tr("Offline — {0} changes not yet sent; going online stopped: {1}")
                ).format(status.queued - status.held, self.stopped_text(status.stopped))
            elif status.queued:
                text += " · " + self.waiting(status.queued)
        elif status.state == offline.ONLINE and self.unreachable:
            text = (
                self.tr(
                    "Dynamics 365 cannot be reached. Go offline to keep working with the {0} record on "
                    "this computer."
                )
                if records == 1
                else self.tr(
                    "Dynamics 365 cannot be reached. Go offline to keep working with the {0} records on "
                    "this computer."
                )
            ).format(records)
            if status.queued:
                text += " · " + self.waiting(status.queued)
        elif status.state == offline.ONLINE:
            text = (
                self.tr("Online — {0} record on this computer")
                if records == 1
                else self.tr("Online — {0} records on this computer")
            ).format(records)
            if when:
                text += self.tr(", last refreshed {0}").format(when)
            if status.queued:
                text += " · " + self.waiting(status.queued)
        else:
            text = self.tr("No records are kept on this computer for working offline.")
        if status.open_conflicts:
            text += " · " + (
                self.tr("{0} decision waiting for you")
                if status.open_conflicts == 1
                else self.tr("{0} decisions waiting for you")
            ).format(status.open_conflicts)
        self.line.setText(text)
        going = self.tr("Go onl&ine") if status.state == offline.OFFLINE else self.tr("Go o&ffline")
        self.go_button.setText(going)
        self.go_action.setText(going)

    def stopped_text(self, reason: str) -> str:
        """Why going online stopped, in the user's language where it is known."""
        return self.tr("you cancelled it") if reason == offline.CANCELLED else engine_text(reason)

    def waiting(self, count: int) -> str:
        return (
            self.tr("{0} change waiting to be sent")
            if count == 1
            else self.tr("{0} changes waiting to be sent")
        ).format(count)

    # -- commands ----------------------------------------------------------------------------------
    def open_records(self) -> None:
        from wizard.ui.records import RecordsWindow

        if self.records_window is None:  # kept when closed (its workers may still answer), shown again
            self.records_window = RecordsWindow(self.factory)
        elif self.records_window.isHidden():
            self.records_window.refresh_mode()
        self.records_window.show()
        self.records_window.raise_()
        self.records_window.activateWindow()

    def open_filters(self) -> None:
        """The Offline filters dialog (the wizard's list): read-only with the store's copy while offline."""
        if self.filters_dialog is not None:
            self.filters_dialog.raise_()
            self.filters_dialog.activateWindow()
            return
        if self.make_filters_dialog is None:
            return
        dialog = self.make_filters_dialog(self.window(), self.offline)
        dialog.finished.connect(self._filters_closed)
        self.filters_dialog = dialog
        dialog.show()
        dialog.start()

    def _filters_closed(self, *_args: object) -> None:
        if self.filters_dialog is not None:
            self.filters_dialog.deleteLater()
        self.filters_dialog = None
        self.refresh()

    def toggle(self) -> None:
        """Go offline, or online when offline (in the progress dialog)."""
        if self.dialog is not None:
            self.dialog.raise_()
            return
        direction = GO_ONLINE if self.offline else GO_OFFLINE
        dialog = OfflineProgressDialog(self.factory, direction, self.window())
        dialog.finished_work.connect(lambda ok: self._done(direction, ok))
        dialog.finished.connect(self._dialog_closed)
        self.dialog = dialog
        dialog.show()
        dialog.start()

    def _done(self, direction: str, ok: bool) -> None:
        self.refresh()
        if self.records_window is not None:
            self.records_window.refresh_mode()
        if ok and direction == GO_ONLINE and self.after_online is not None:
            self.after_online()

    def _dialog_closed(self, *_args: object) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None


def install_offline(
    window: Any, factory: Factory, *, filters_dialog: FiltersDialog | None = None
) -> OfflinePanel:
    """Put the offline row into a status window, above its buttons (``window.offline_panel``)."""
    central = window.centralWidget()
    panel = OfflinePanel(factory, central, after_online=window.sync_now, filters_dialog=filters_dialog)
    layout = central.layout()
    layout.insertWidget(layout.count() - 1, panel)
    QWidget.setTabOrder(window.wizard_button, panel.records_button)
    QWidget.setTabOrder(panel.records_button, panel.filters_button)
    QWidget.setTabOrder(panel.filters_button, panel.go_button)
    QWidget.setTabOrder(panel.go_button, window.log_button)
    window.refreshed.connect(panel.refresh)
    window.adapter.run_failed.connect(panel.run_failed)  # Dynamics 365 unreachable: offer Go offline
    window.adapter.run_finished.connect(lambda _summary: panel.set_unreachable(False))

    def refresh_store() -> tuple[timedelta, Any]:  # on the adapter's worker
        done = offline.background_refresh(factory)
        return done.next_in, done.result

    job = window.adapter.add_job(
        "Refresh the offline store", refresh_store, may_run=lambda: panel.dialog is None
    )
    job.ran.connect(lambda result: panel.refresh() if result is not None else None)
    panel.refresh_job = job
    window.offline_panel = panel
    return panel
