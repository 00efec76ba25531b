"""The status window's Offline filters dialog: the wizard's list of offline filters (issue 14, item 1).

The same :class:`~wizard.ui.offline_filters.OfflineFilterList` as the wizard's Offline page, with the same
application-layer calls (``wizard.app.offline.list_filters`` / ``set_filter``, the counts from
``wizard.app.offline_preview``), all on a worker. Unlike the page, which writes each click at once, the
dialog collects the changes and writes them on Save (Enter); Escape or Cancel leaves everything as it was.

While the user is offline, or Dynamics 365 cannot be reached, the dialog shows the filters as the offline
store last saw them, read-only, and says so: the filters live in Dynamics 365 and only choose what the next
download or refresh takes, which needs a connection anyway, so a change made without one could neither be
saved nor show its effect. The table rows then count the records on this computer.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wizard.app import offline, offline_preview
from wizard.app.factory import Factory
from wizard.crm.entities import UserQuery
from wizard.errors import D365SyncError
from wizard.odata.errors import NetworkError
from wizard.ui.icons import icon
from wizard.ui.offline_filters import OfflineFilterList
from wizard.ui.widgets import BusyBar, MessageBanner, fit_to_screen, hint
from wizard.ui.workers import Task, TaskContext, TaskRunner

ONLINE_VIEW = "online"  # read from Dynamics 365, changes can be saved
STORED_VIEW = "stored"  # the store's copy, read-only (offline, or Dynamics 365 cannot be reached)


class OfflineFiltersDialog(QDialog):
    """Shows the offline filters once :meth:`start` is called; ``offline_now``: the user is offline (the
    store's copy is shown, nothing is read from the network)."""

    def __init__(self, factory: Factory, parent: QWidget | None = None, *, offline_now: bool = False) -> None:
        super().__init__(parent)
        self.factory = factory
        self.offline_now = offline_now
        self.runner = TaskRunner(self)
        self.task: Task | None = None
        self.view = ""  # ONLINE_VIEW or STORED_VIEW once loaded
        self.filters: list[UserQuery] = []
        self.changes: dict[str, bool] = {}  # filter id -> on, as the user set it and not saved yet
        self.saved = False
        self.setWindowIcon(icon("app"))
        self.setWindowTitle(self.tr("Offline filters"))
        self.setModal(True)
        self.intro = hint("", self)
        self.intro.setWordWrap(True)
        self.caption = QLabel(self.tr("Offline &filters:"), self)
        self.list = OfflineFilterList(self)
        self.caption.setBuddy(self.list)
        self.list.toggled.connect(self._toggled)
        self.banner = MessageBanner(self)
        self.busy_bar = BusyBar(self)
        self.busy_bar.cancel_requested.connect(self._cancel_task)
        self.buttons = QDialogButtonBox(self)
        self.save_button = QPushButton(self.tr("&Save"), self)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.setDefault(True)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.caption)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.banner)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.buttons)
        QWidget.setTabOrder(self.list, self.save_button)
        QWidget.setTabOrder(self.save_button, self.cancel_button)
        self.resize(fit_to_screen(self, QSize(540, 420)))
        self.list.setFocus()

    # -- loading -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Read the filters (on a worker): the store's copy when offline, else Dynamics 365's with counts."""
        if self.offline_now:
            self._load_stored(
                self.tr(
                    "You are offline. These are the filters the records on this computer were taken offline "
                    "with; you can change them when you are online again. A change applies the next time the "
                    "records are refreshed."
                )
            )
            return
        factory = self.factory

        def work(_ctx: TaskContext) -> tuple[list[UserQuery], dict[str, int]]:
            filters = offline.list_filters(factory)
            return filters, offline_preview.preview_counts(factory, filters)

        self.intro.setText(
            self.tr(
                "Choose the records you take with you when you go offline. Each filter selects records of one "
                "table; the records they refer to go offline too. Saved changes apply the next time the "
                "records on this computer are refreshed, or when you go offline."
            )
        )
        self._run(self.tr("Reading your offline filters…"), work, self._loaded, self._load_failed)

    def _run(self, text: str, work: Any, done: Any, failed: Any) -> None:
        self.banner.clear()
        self.busy_bar.start(text)
        self.save_button.setEnabled(False)
        self.task = self.runner.run("Offline filters", work, on_success=done, on_failure=failed)
        self.task.signals.finished.connect(self._stopped)

    def _stopped(self) -> None:
        self.busy_bar.stop()
        self.save_button.setEnabled(self.view == ONLINE_VIEW)

    def _cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _loaded(self, answer: tuple[list[UserQuery], dict[str, int]]) -> None:
        self.filters, counts = answer
        self.view = ONLINE_VIEW
        self.changes.clear()
        self.list.fill(self.filters, counts)
        if not self.filters:
            self.banner.show_message("info", self.tr("You have no offline filters."))

    def _load_failed(self, error: D365SyncError) -> None:
        if type(error).__name__ == "Cancelled":
            self.banner.show_message("info", self.tr("Cancelled."))
        elif isinstance(error, NetworkError):
            self._load_stored(
                self.tr(
                    "Dynamics 365 cannot be reached, so the filters cannot be changed now. These are the "
                    "filters as this computer last saw them."
                )
            )
        else:
            self.banner.show_message("error", error.user_text)

    def _load_stored(self, intro: str) -> None:
        factory = self.factory
        self.intro.setText(intro)

        def work(_ctx: TaskContext) -> tuple[list[UserQuery], dict[str, int]]:
            return offline.stored_filters(factory), offline.offline_status(factory).records

        self._run(self.tr("Reading your offline filters…"), work, self._stored, self._stored_failed)

    def _stored(self, answer: tuple[list[UserQuery], dict[str, int]]) -> None:
        self.filters, records = answer
        self.view = STORED_VIEW
        self.list.fill(self.filters, {}, read_only=True, on_computer=records)
        self.save_button.hide()
        self.cancel_button.setText(self.tr("&Close"))
        self.cancel_button.setDefault(True)
        if not self.filters:
            self.banner.show_message("info", self.tr("No offline filters are kept on this computer."))

    def _stored_failed(self, error: D365SyncError) -> None:
        self.banner.show_message("error", error.user_text)

    # -- changes -----------------------------------------------------------------------------------
    def _toggled(self, filter_id: str, active: bool) -> None:
        known = next((f.active for f in self.filters if f.id == filter_id), None)
        if known is None or known == active:
            self.changes.pop(filter_id, None)
        else:
            self.changes[filter_id] = active

    def save(self) -> None:
        """Write the changed filters to Dynamics 365 (on a worker), then close; nothing changed: close."""
        if self.view != ONLINE_VIEW or (self.task is not None and not self.task.done.is_set()):
            return
        if not self.changes:
            self.accept()
            return
        factory = self.factory
        changes = dict(self.changes)

        def work(ctx: TaskContext) -> int:
            for filter_id, active in changes.items():
                if ctx.cancelled():
                    break
                offline.set_filter(factory, filter_id, active)
            return len(changes)

        self.list.setEnabled(False)
        self._run(self.tr("Saving your offline filters…"), work, self._saved, self._save_failed)

    def _saved(self, _count: int) -> None:
        self.saved = True
        self.changes.clear()
        self.accept()

    def _save_failed(self, error: D365SyncError) -> None:
        self.list.setEnabled(True)
        if type(error).__name__ == "Cancelled":
            self.banner.show_message("info", self.tr("Cancelled."))
        else:
            self.banner.show_message("error", error.user_text)

    def reject(self) -> None:
        """Escape / Cancel: stop what is being read or written and close; unsaved changes are dropped."""
        if self.task is not None and not self.task.done.is_set():
            self.task.cancel()
        super().reject()
