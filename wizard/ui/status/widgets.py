"""The status window's parts: the table of kinds, a conflict card with both values and the two decisions, and
an error line with "Retry now" (and the number and count texts they show).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QLocale, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wizard.settings.enums import Kind
from wizard.sync.engine import KindCounts
from wizard.ui.engine_adapter import clock_text
from wizard.ui.engine_texts import kind_title
from wizard.ui.icons import icon
from wizard.ui.status.field_names import field_title
from wizard.ui.status.model import KIND_ORDER, ConflictView, KindRow
from wizard.ui.widgets import AccentFrame, hint, tree_items


def number(n: int) -> str:
    """1,000 in the user's locale (grouped even when Qt runs in the C locale)."""
    locale = QLocale()
    if locale.language() == QLocale.Language.C:
        return f"{n:,}"
    return locale.toString(n)


def counts_text(kind: str, counts: KindCounts, direction: str) -> str:
    """ "3 updated, 1 created" (email: "12 tracked" / "1 sent"); "—" when nothing changed."""
    created = QCoreApplication.translate("StatusWindow", "created")
    if kind == Kind.EMAIL:
        created = (
            QCoreApplication.translate("StatusWindow", "tracked")
            if direction == "to_crm"
            else QCoreApplication.translate("StatusWindow", "sent")
        )
    parts = [
        (counts.created, created),
        (counts.updated, QCoreApplication.translate("StatusWindow", "updated")),
        (counts.deleted, QCoreApplication.translate("StatusWindow", "deleted")),
        (counts.unlinked, QCoreApplication.translate("StatusWindow", "unlinked")),
    ]
    text = ", ".join(f"{number(n)} {word}" for n, word in parts if n)
    return text or "—"


def value_text(value: Any) -> str:
    if value is None or value == "":
        return QCoreApplication.translate("StatusWindow", "(empty)")
    return str(value)


class KindTable(QTreeWidget):
    """Kind, Last run, Next run, → Mailbox, → Dynamics, Issues."""

    COLUMNS = (
        QT_TRANSLATE_NOOP("KindTable", "Kind"),
        QT_TRANSLATE_NOOP("KindTable", "Last run"),
        QT_TRANSLATE_NOOP("KindTable", "Next run"),
        QT_TRANSLATE_NOOP("KindTable", "→ Mailbox"),
        QT_TRANSLATE_NOOP("KindTable", "→ Dynamics"),
        QT_TRANSLATE_NOOP("KindTable", "Issues"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(self.COLUMNS))
        self.setHeaderLabels([self.tr(str(c)) for c in self.COLUMNS])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(self.tr("Synchronization by kind"))
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.rows: dict[str, KindRow] = {}
        self.next_run: datetime | None = None
        self.paused = False

    def show_kinds(self, kinds: list[KindRow]) -> None:
        self.rows = {k.kind: k for k in kinds}
        self.clear()
        for kind in sorted(self.rows, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
            item = QTreeWidgetItem(self)
            item.setData(0, Qt.ItemDataRole.UserRole, kind)
            self._fill(item, self.rows[kind])
        self.setFixedHeight(self._height())

    def _height(self) -> int:
        rows = max(1, self.topLevelItemCount())
        row = self.sizeHintForRow(0) if self.topLevelItemCount() else self.fontMetrics().height() + 8
        return self.header().sizeHint().height() + rows * row + 2 * self.frameWidth() + 4

    def item_for(self, kind: str) -> QTreeWidgetItem | None:
        return next((i for i in tree_items(self) if i.data(0, Qt.ItemDataRole.UserRole) == kind), None)

    def update_kind(self, row: KindRow) -> None:
        self.rows[row.kind] = row
        item = self.item_for(row.kind)
        if item is None:
            self.show_kinds(list(self.rows.values()))
        else:
            self._fill(item, row)

    def set_next_run(self, when: datetime | None, *, paused: bool) -> None:
        self.next_run, self.paused = when, paused
        for item in tree_items(self):
            item.setText(2, self._next_text())

    def _next_text(self) -> str:
        if self.paused:
            return self.tr("Paused")
        return clock_text(self.next_run) if self.next_run is not None else "—"

    def _fill(self, item: QTreeWidgetItem, row: KindRow) -> None:
        item.setText(0, kind_title(row.kind))
        if row.last_run is None:
            item.setText(1, self.tr("not yet"))
            item.setIcon(1, icon("info"))
        else:
            item.setText(1, clock_text(row.last_run))
            ok = row.last_status in ("ok", "skipped")
            item.setIcon(1, icon("ok" if ok else "error" if row.last_status == "error" else "warning"))
            item.setToolTip(1, self._status_text(row.last_status))
        item.setText(2, self._next_text())
        item.setText(3, counts_text(row.kind, row.to_mailbox, "to_mailbox"))
        item.setText(4, counts_text(row.kind, row.to_crm, "to_crm"))
        issues: list[str] = []
        if row.conflicts:
            n = row.conflicts
            issues.append(self.tr("1 conflict") if n == 1 else self.tr("{n} conflicts").format(n=number(n)))
        if row.errors:
            n = len(row.errors)
            issues.append(self.tr("1 error") if n == 1 else self.tr("{n} errors").format(n=number(n)))
        tips = list(row.errors)
        if row.waiting:
            n = row.waiting
            issues.append(self.tr("1 waiting") if n == 1 else self.tr("{n} waiting").format(n=number(n)))
            tips.append(
                self.tr(
                    "Occurrences of recurring appointments changed or deleted in the mailbox that Dynamics 365 "
                    "has no occurrence for yet (beyond its calendar window). They are written once it has."
                )
            )
        item.setText(5, ", ".join(issues) or "—")
        fallback = icon("info") if row.waiting else icon("")
        item.setIcon(5, icon("error") if row.errors else icon("warning") if row.conflicts else fallback)
        item.setToolTip(5, "\n".join(tips))

    def _status_text(self, status: str) -> str:
        return {
            "ok": self.tr("Succeeded"),
            "error": self.tr("Failed"),
            "skipped": self.tr("Skipped"),
            "needs_confirmation": self.tr("Waiting for your confirmation"),
        }.get(status, status)


class ConflictCard(AccentFrame):
    """One conflict: the record and field, both values side by side, and the two decisions.

    Each decision names the value both sides get. There is no "keep": with the policy "Ask me" nothing was
    applied, so the sides differ until one value is chosen (the card stays until then); a conflict the policy
    decided has the winning value on both sides already, and choosing the other value applies that one.
    """

    def __init__(
        self, conflict: ConflictView, on_choice: Callable[[int, str], None], parent: QWidget
    ) -> None:
        super().__init__("conflictCard", parent)
        self.conflict = conflict
        self.set_accent("warning")
        what = kind_title(conflict.kind) + (f" · {conflict.item}" if conflict.item else "")
        field = field_title(conflict.label or conflict.field)
        title = QLabel(self.tr("Conflict: {what} — {field}").format(what=what, field=field), self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        badge = QLabel(self)
        badge.setPixmap(icon("warning").pixmap(16, 16))
        badge.setFixedSize(18, 18)
        crm_caption = QLabel(self.tr("Dynamics 365:"), self)
        self.crm_value = QLabel(html.escape(value_text(conflict.crm_value)), self)
        mail_caption = QLabel(self.tr("Mailbox:"), self)
        self.mailbox_value = QLabel(html.escape(value_text(conflict.mailbox_value)), self)
        for caption, value in ((crm_caption, self.crm_value), (mail_caption, self.mailbox_value)):
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            font = value.font()
            font.setBold(True)
            value.setFont(font)
            caption.setBuddy(value)
        explanation = {
            "crm": self.tr("Dynamics 365's value was applied to both sides."),
            "mailbox": self.tr("The mailbox's value was applied to both sides."),
        }.get(
            conflict.winner or "",
            self.tr("Both sides keep their value until you choose the one they both get."),
        )
        self.use_mailbox = QPushButton(self.tr("Use &mailbox value"), self)
        self.use_crm = QPushButton(self.tr("Use &Dynamics 365 value"), self)
        self.use_mailbox.setToolTip(self.tr("Write the mailbox's value to Dynamics 365 too"))
        self.use_crm.setToolTip(self.tr("Write Dynamics 365's value to the mailbox too"))
        for button, use in ((self.use_mailbox, "mailbox"), (self.use_crm, "crm")):
            button.setAutoDefault(False)
            button.setAccessibleDescription(title.text())
            button.clicked.connect(lambda _=False, u=use: on_choice(conflict.id, u))
        self.explanation = hint(explanation, self)

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.addWidget(crm_caption, 0, 0)
        grid.addWidget(self.crm_value, 0, 1)
        grid.addWidget(mail_caption, 0, 2)
        grid.addWidget(self.mailbox_value, 0, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.explanation, 1)
        buttons.addWidget(self.use_mailbox)
        buttons.addWidget(self.use_crm)
        top = QHBoxLayout()
        top.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(title, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addLayout(buttons)

    def set_busy(self, busy: bool) -> None:
        for button in (self.use_mailbox, self.use_crm):
            button.setEnabled(not busy)


class ErrorLine(AccentFrame):
    """ "✗ Tasks: the server is busy; retrying at 10:47.  [Retry now]". A kind that stopped before deleting
    many items (``needs_confirmation``) offers "Synchronize anyway…" instead, a setup that is not complete
    (``setup``: the mailbox is not bound, no organization synchronizes) "Open the wizard…"."""

    def __init__(
        self,
        kind: str | None,
        text: str,
        on_retry: Callable[[str | None], None],
        parent: QWidget,
        *,
        needs_confirmation: bool = False,
        setup: bool = False,
    ) -> None:
        super().__init__("errorLine", parent)
        self.kind = kind
        self.needs_confirmation = needs_confirmation
        warning = needs_confirmation or setup
        self.set_accent("warning" if warning else "error")
        badge = QLabel(self)
        badge.setPixmap(icon("warning" if warning else "error").pixmap(16, 16))
        badge.setFixedSize(18, 18)
        prefix = f"{kind_title(kind)}: " if kind else ""
        self.label = QLabel(prefix + text, self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if setup:
            caption = self.tr("Open the &wizard…")
        elif needs_confirmation:
            caption = self.tr("Synchronize &anyway…")
        else:
            caption = self.tr("Re&try now")
        self.retry = QPushButton(caption, self)
        self.retry.setAutoDefault(False)
        self.retry.setAccessibleDescription(self.label.text())
        self.retry.clicked.connect(lambda: on_retry(kind))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(badge, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.label, 1)  # no alignment: a wrapped label needs the whole cell for its height
        layout.addWidget(self.retry, 0, Qt.AlignmentFlag.AlignVCenter)
