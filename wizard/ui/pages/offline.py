"""Offline: the offline filters (what goes offline) with on/off and a preview count per table (DESIGN §6).

Between "What to synchronize" and the Summary. The filters are the user's ``userquery`` rows of query type 16
(created from the organization's templates or the defaults on first use, ``wizard.app.offline.list_filters``);
turning one on or off writes it to Dynamics 365 at once, as the original's Local Data tab did, and the counts
(``wizard.app.offline_preview``) are read again. All of it runs on a worker; the page never blocks Next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from wizard.app import offline, offline_preview
from wizard.crm.entities import UserQuery
from wizard.errors import D365SyncError
from wizard.ui.controller import WizardController
from wizard.ui.pages.base import BasePage
from wizard.ui.widgets import hint
from wizard.ui.workers import Task, TaskContext

ID_ROLE = Qt.ItemDataRole.UserRole
# the tables in the order the page lists them
TABLE_ORDER = ("contact", "account", "lead", "appointment", "task")


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
        self._filling = False
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([self.tr("Offline filter"), self.tr("Records")])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAccessibleName(self.tr("Offline filters"))
        self.tree.setMinimumHeight(160)
        self.tree.itemChanged.connect(self._item_changed)
        self.note = hint(
            self.tr(
                "Counts are estimates. A table with no filter turned on stays online only. You can change "
                "this later in the wizard; going offline is in the status window and the tray."
            ),
            self,
        )
        self.body.addWidget(self.tree, 1)
        self.body.addWidget(self.note)
        self.busy_bar.cancel_requested.connect(self.cancel)

    def table_label(self, logical_name: str) -> str:
        names = {
            "account": self.tr("Accounts"),
            "contact": self.tr("Contacts"),
            "lead": self.tr("Leads"),
            "appointment": self.tr("Appointments"),
            "task": self.tr("Tasks"),
        }
        return names.get(logical_name, logical_name)

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
        self._filling = True
        try:
            self.tree.clear()
            tables = sorted(
                {f.returnedtypecode for f in filters},
                key=lambda t: TABLE_ORDER.index(t) if t in TABLE_ORDER else len(TABLE_ORDER),
            )
            for table in tables:
                mine = [f for f in filters if f.returnedtypecode == table]
                total = sum(counts.get(f.id, 0) for f in mine if f.active)
                parent = QTreeWidgetItem(self.tree, [self.table_label(table), self.about(total)])
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                for query in mine:
                    item = QTreeWidgetItem(parent, [query.name, self.number(counts.get(query.id))])
                    item.setData(0, ID_ROLE, query.id)
                    item.setFlags(
                        Qt.ItemFlag.ItemIsEnabled
                        | Qt.ItemFlag.ItemIsSelectable
                        | Qt.ItemFlag.ItemIsUserCheckable
                    )
                    item.setCheckState(0, Qt.CheckState.Checked if query.active else Qt.CheckState.Unchecked)
                    item.setToolTip(0, self.tr("Turn on to take these records offline"))
                parent.setExpanded(True)
            if not filters:
                self.banner.show_message("info", self.tr("You have no offline filters."))
        finally:
            self._filling = False

    def about(self, count: int) -> str:
        if offline_preview.over_limit(count):
            return self.more_than_limit()
        return self.tr("about {0}").format(self.locale().toString(count))

    def number(self, count: int | None) -> str:
        if count is not None and offline_preview.over_limit(count):
            return self.more_than_limit()
        return "" if count is None else self.locale().toString(count)

    def more_than_limit(self) -> str:
        """What a count says when the service counts no further (its 50,000-record aggregate limit)."""
        return self.tr("more than {0}").format(self.locale().toString(offline_preview.AGGREGATE_LIMIT))

    # -- on / off ----------------------------------------------------------------------------------
    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        filter_id = item.data(0, ID_ROLE)
        if self._filling or column != 0 or not filter_id:
            return
        active = item.checkState(0) == Qt.CheckState.Checked
        self.set_filter(str(filter_id), active)

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
