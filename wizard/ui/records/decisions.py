"""Decisions: the offline changes going online could not decide by itself, for the user to decide.

A record deleted in Dynamics 365 but edited offline (or the other way round), a field changed on both sides
under "ask me", a duplicate the service found: each is listed with both values side by side and two buttons,
"Keep mine" (send the offline change, create the record again, create the duplicate anyway) and "Keep the
server's". The list and the decisions go through ``wizard.app.offline`` on a worker.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.errors import D365SyncError
from wizard.ui.engine_texts import translate as engine_text
from wizard.ui.icons import icon
from wizard.ui.widgets import MessageBanner, fit_to_screen, hint
from wizard.ui.workers import TaskRunner

LOCAL = "local"
SERVER = "server"


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if not str(k).startswith("@"))
    return str(value)


class DecisionsDialog(QDialog):
    """The open offline conflicts; ``decided`` counts the decisions taken while it was open."""

    def __init__(self, factory: Factory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.factory = factory
        self.runner = TaskRunner(self)
        self.conflicts: list[Any] = []
        self.decided = 0
        self.setWindowTitle(self.tr("Decisions"))
        self.setWindowIcon(icon("app"))
        self.resize(fit_to_screen(self, QSize(720, 380)))
        self.intro = hint(
            self.tr(
                "Going online could not decide these changes by itself. Keep yours to send them to "
                "Dynamics 365, or keep what Dynamics 365 has."
            ),
            self,
        )
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(
            [self.tr("Record"), self.tr("Field"), self.tr("Mine"), self.tr("Dynamics 365")]
        )
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.setAccessibleName(self.tr("Decisions"))
        self.tree_label = QLabel(self.tr("&Waiting for you:"), self)
        self.tree_label.setBuddy(self.tree)
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.banner = MessageBanner(self)
        self.mine_button = QPushButton(self.tr("Keep &mine"), self)
        self.server_button = QPushButton(self.tr("Keep the &server's"), self)
        self.close_button = QPushButton(self.tr("&Close"), self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.mine_button)
        buttons.addWidget(self.server_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.tree_label)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.reason)
        layout.addWidget(self.banner)
        layout.addLayout(buttons)
        self.mine_button.clicked.connect(lambda: self.decide(LOCAL))
        self.server_button.clicked.connect(lambda: self.decide(SERVER))
        self.close_button.clicked.connect(self.accept)
        self.tree.itemSelectionChanged.connect(self._update)
        self.runner.busy_changed.connect(lambda _busy: self._update())
        self._update()
        self.load()

    def load(self) -> None:
        self.runner.run(
            "Offline decisions",
            lambda _ctx: offline.list_conflicts(self.factory, unresolved_only=True),
            on_success=self._loaded,
            on_failure=self._failed,
        )

    def _loaded(self, conflicts: list[Any]) -> None:
        self.conflicts = conflicts
        self.tree.clear()
        for conflict in conflicts:
            field = self.tr("the whole record") if conflict.field == "*" else conflict.field
            item = QTreeWidgetItem(
                self.tree,
                [
                    conflict.item or conflict.row_id,
                    field,
                    _value(conflict.local_value),
                    _value(conflict.server_value),
                ],
            )
            item.setToolTip(0, conflict.reason)
        first = self.tree.topLevelItem(0)
        if first is not None:
            self.tree.setCurrentItem(first)
        else:
            self.reason.setText(self.tr("Nothing waits for your decision."))
        self._update()

    def _selected(self) -> Any:
        item = self.tree.currentItem()
        if item is None:
            return None
        index = self.tree.indexOfTopLevelItem(item)
        return self.conflicts[index] if 0 <= index < len(self.conflicts) else None

    def _update(self) -> None:
        conflict = self._selected()
        if conflict is not None:
            self.reason.setText(conflict.reason)
        busy = self.runner.busy
        for button in (self.mine_button, self.server_button):
            button.setEnabled(conflict is not None and not busy)

    def decide(self, use: str) -> None:
        conflict = self._selected()
        if conflict is None:
            return
        for button in (self.mine_button, self.server_button):
            button.setEnabled(False)
        self.runner.run(
            "Offline decision",
            lambda _ctx: offline.resolve_conflict(self.factory, conflict.id, use),
            on_success=self._decided,
            on_failure=self._failed,
        )

    def _decided(self, text: str) -> None:
        self.decided += 1
        self.banner.show_message("ok", engine_text(text))  # the application's English, translated
        self.load()

    def _failed(self, error: D365SyncError) -> None:
        self.banner.show_message("error", error.user_text)
        self._update()
