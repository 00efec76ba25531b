"""A card under "Needs your attention" for an offline change going online held for the user (issue 14).

Beside the messaging conflicts' cards, one per open offline decision, with both values side by side and the two
choices of ``wizard.offline.decide`` named for what they do: "Keep mine" / "Keep the server's" for a field
changed on both sides (or a record edited in Dynamics 365 but deleted offline), "Create it again" / "Drop my
change" for a record deleted in Dynamics 365 but edited offline, "Create anyway" / "Discard" for a duplicate.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from wizard.ui.icons import icon
from wizard.ui.status.model import OfflineDecisionView
from wizard.ui.widgets import AccentFrame, hint

LOCAL = "local"
SERVER = "server"


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if not str(k).startswith("@")) or "—"
    return str(value)


class OfflineDecisionCard(AccentFrame):
    """One open offline decision; ``on_choice(id, "local" | "server")`` decides it."""

    def __init__(
        self, decision: OfflineDecisionView, on_choice: Callable[[int, str], None], parent: QWidget
    ) -> None:
        super().__init__("conflictCard", parent)
        self.decision = decision
        self.set_accent("warning")
        tables = {
            "account": self.tr("Accounts"),
            "contact": self.tr("Contacts"),
            "lead": self.tr("Leads"),
            "appointment": self.tr("Appointments"),
            "task": self.tr("Tasks"),
        }
        what = tables.get(decision.table, decision.table) + (f" · {decision.item}" if decision.item else "")
        if decision.reason == "duplicate":
            subject = self.tr("Offline: {what} — looks like a duplicate").format(what=what)
            explanation = self.tr(
                "Dynamics 365 found a record like the one you created offline. Create yours anyway, or discard it."
            )
            mine, theirs = self.tr("Create &anyway"), self.tr("&Discard")
        elif decision.field == "*" and decision.reason == "deleted_on_server":
            subject = self.tr("Offline: {what} — deleted in Dynamics 365").format(what=what)
            explanation = self.tr(
                "You changed this record offline, but it was deleted in Dynamics 365 meanwhile."
            )
            mine, theirs = self.tr("Create it a&gain"), self.tr("Dr&op my change")
        elif decision.field == "*":
            subject = self.tr("Offline: {what} — changed in Dynamics 365").format(what=what)
            explanation = self.tr(
                "You deleted this record offline, but it was changed in Dynamics 365 meanwhile."
            )
            mine, theirs = self.tr("Keep &mine"), self.tr("Keep the &server's")
        else:
            subject = self.tr("Offline: {what} — {field}").format(what=what, field=decision.field)
            explanation = self.tr("This field was changed offline and in Dynamics 365. Which value stays?")
            mine, theirs = self.tr("Keep &mine"), self.tr("Keep the &server's")
        title = QLabel(subject, self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        badge = QLabel(self)
        badge.setPixmap(icon("warning").pixmap(16, 16))
        badge.setFixedSize(18, 18)
        server_caption = QLabel(self.tr("Dynamics 365:"), self)
        self.server_value = QLabel(html.escape(_value(decision.server_value)), self)
        local_caption = QLabel(self.tr("Mine (offline):"), self)
        self.local_value = QLabel(html.escape(_value(decision.local_value)), self)
        for caption, value in ((server_caption, self.server_value), (local_caption, self.local_value)):
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            font = value.font()
            font.setBold(True)
            value.setFont(font)
            caption.setBuddy(value)
        self.use_local = QPushButton(mine, self)
        self.use_server = QPushButton(theirs, self)
        for button, use in ((self.use_local, LOCAL), (self.use_server, SERVER)):
            button.setAutoDefault(False)
            button.setAccessibleDescription(title.text())
            button.clicked.connect(lambda _=False, u=use: on_choice(decision.id, u))
        self.explanation = hint(explanation, self)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.addWidget(local_caption, 0, 0)
        grid.addWidget(self.local_value, 0, 1)
        grid.addWidget(server_caption, 0, 2)
        grid.addWidget(self.server_value, 0, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.explanation, 1)
        buttons.addWidget(self.use_local)
        buttons.addWidget(self.use_server)
        top = QHBoxLayout()
        top.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(title, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addLayout(buttons)

    def set_busy(self, busy: bool) -> None:
        for button in (self.use_local, self.use_server):
            button.setEnabled(not busy)
