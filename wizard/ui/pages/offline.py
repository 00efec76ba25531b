"""Offline: the offline filters (what goes offline) with on/off and a preview count per table (DESIGN §6).

Between "What to synchronize" and the Summary. The filters are the user's ``userquery`` rows of query type 16
(created from the organization's templates or the defaults on first use, ``wizard.app.offline.list_filters``);
turning one on or off writes it to Dynamics 365 at once, as the original's Local Data tab did, and the counts
(``wizard.app.offline_preview``) are read again. All of it runs on a worker; the page never blocks Next. The
list is ``wizard.ui.offline_filters.OfflineFilterList``, as in the status window's Offline filters dialog.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import QWidget

from wizard.app import offline, offline_preview
from wizard.crm.entities import UserQuery
from wizard.errors import D365SyncError
from wizard.ui.controller import WizardController
from wizard.ui.offline_filters import OfflineFilterList
from wizard.ui.pages.base import BasePage
from wizard.ui.widgets import hint
from wizard.ui.workers import Task, TaskContext


class OfflinePage(BasePage):
    def __init__(self, controller: WizardController, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.setTitle(self.tr("Offline"))
        self.setSubTitle(
            self.tr(
                "Choose the records you take with you when you go offline. Each filter selects records of one "
                "table; the records they refer to (parent accounts, regarding) go offline too."
            )
        )
        self.runner = controller.runner  # the wizard waits for it and cancels it when closed
        self.task: Task | None = None
        self.filters: list[UserQuery] = []
        self.counts: dict[str, int] = {}
        self.tree = OfflineFilterList(self)
        self.tree.toggled.connect(self.set_filter)
        self.note = hint(
            self.tr(
                "Counts are estimates. A table with no filter turned on stays online only. You can change "
                "this later here or with Offline filters… in the status window; going offline is in the "
                "status window and the tray."
            ),
            self,
        )
        self.body.addWidget(self.tree, 1)
        self.body.addWidget(self.note)
        self.busy_bar.cancel_requested.connect(self.cancel)

    # -- loading -----------------------------------------------------------------------------------
    def initializePage(self) -> None:
        if self.controller.profile.sync_org is None:
            self.tree.clear()
            self.banner.show_message(
                "info",
                self.tr("No organization synchronizes, so nothing can go offline. You can skip this page."),
            )
            return
        self.load()

    def load(self) -> None:
        factory = self.controller.factory

        def work(_ctx: TaskContext) -> tuple[list[UserQuery], dict[str, int]]:
            filters = offline.list_filters(factory)
            return filters, offline_preview.preview_counts(factory, filters)

        self._start(self.tr("Reading your offline filters…"), work, self._loaded)

    def _start(self, text: str, work: Any, done: Any) -> None:
        self.banner.clear()
        self.busy_bar.start(text)
        self.task = self.runner.run("Offline filters", work, on_success=done, on_failure=self._failed)
        self.task.signals.finished.connect(self._stopped)

    def _stopped(self) -> None:
        self.busy_bar.stop()
        self.tree.setEnabled(True)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _failed(self, error: D365SyncError) -> None:
        if type(error).__name__ == "Cancelled":
            self.banner.show_message("info", self.tr("Cancelled."))
        else:
            self.banner.show_message("error", error.user_text)

    def _loaded(self, answer: tuple[list[UserQuery], dict[str, int]]) -> None:
        self.filters, self.counts = answer
        self.fill(self.filters, self.counts)

    def fill(self, filters: Sequence[UserQuery], counts: dict[str, int]) -> None:
        self.tree.fill(filters, counts)
        if not filters:
            self.banner.show_message("info", self.tr("You have no offline filters."))

    # -- on / off ----------------------------------------------------------------------------------
    def set_filter(self, filter_id: str, active: bool) -> None:
        factory = self.controller.factory
        known = list(self.filters)

        def work(_ctx: TaskContext) -> tuple[list[UserQuery], dict[str, int]]:
            changed = offline.set_filter(factory, filter_id, active)
            filters = [changed if f.id == changed.id else f for f in known]
            return filters, self.counts

        self.tree.setEnabled(False)
        self._start(
            self.tr("Turning the filter on…") if active else self.tr("Turning the filter off…"),
            work,
            self._loaded,
        )

    def active_filters(self) -> list[str]:
        """The names of the filters turned on (for tests and the summary)."""
        return [f.name for f in self.filters if f.active]
