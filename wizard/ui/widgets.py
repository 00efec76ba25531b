"""Small widgets the pages share: an in-page message banner, a busy bar with Cancel, a password field."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from wizard.ui.icons import icon

KINDS = ("info", "ok", "warning", "error")


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<br\s*/?>", "\n", re.sub(r"<(?!br)[^>]+>", "", text)))


class MessageBanner(QFrame):
    """An icon and a wrapped text, in the page: errors say what happened and what to do next.

    Kept in the page instead of message boxes (UI.md). Screen readers get the text as the accessible name.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.kind = ""
        self.plain_text = ""
        self._icon = QLabel(self)
        self._icon.setFixedSize(18, 18)
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.label.setOpenExternalLinks(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        self.hide()

    def show_message(self, kind: str, text: str, *, rich: bool = False) -> None:
        """Show ``text`` (plain unless ``rich``: then it is HTML the caller escaped)."""
        assert kind in KINDS, kind
        self.kind = kind
        self._icon.setPixmap(icon(kind).pixmap(16, 16))
        self.plain_text = text if not rich else _strip_tags(text)
        self.label.setText(text if rich else html.escape(text).replace("\n", "<br>"))
        self.setAccessibleName(self.plain_text)
        colours = {"info": "#1565c0", "ok": "#2e8540", "warning": "#b37400", "error": "#c62828"}
        self.setStyleSheet(
            f"QFrame#messageBanner {{ border: 1px solid {colours[kind]}; border-radius: 4px; }}"
        )
        self.show()

    def text(self) -> str:
        """The message as plain text ("" when hidden)."""
        return self.plain_text if self.kind else ""

    def clear(self) -> None:
        self.kind = ""
        self.plain_text = ""
        self.label.clear()
        self.hide()


class BusyBar(QWidget):
    """An indeterminate progress bar, what is going on, and Cancel: every network step shows one."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(160)
        self.bar.setAccessibleName(self.tr("Working"))
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, text: str, *, cancellable: bool = True) -> None:
        self.label.setText(text)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        self.show()

    def stop(self) -> None:
        self.hide()

    @property
    def running(self) -> bool:
        return not self.isHidden()


class PasswordEdit(QLineEdit):
    """A password field with a trailing show/hide action (as Vorta's)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEchoMode(QLineEdit.EchoMode.Password)
        self.toggle_action = QAction(self)
        self.toggle_action.setCheckable(True)
        self.toggle_action.toggled.connect(self._toggled)
        self.addAction(self.toggle_action, QLineEdit.ActionPosition.TrailingPosition)
        self._toggled(False)

    def _toggled(self, shown: bool) -> None:
        self.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.toggle_action.setIcon(icon("eye-off" if shown else "eye"))
        tip = self.tr("Hide password") if shown else self.tr("Show password")
        self.toggle_action.setToolTip(tip)
        self.toggle_action.setText(tip)

    @property
    def shown(self) -> bool:
        return self.echoMode() == QLineEdit.EchoMode.Normal


def tree_items(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    """The top-level items of a flat tree widget."""
    items = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
    return [item for item in items if item is not None]


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    """A bold section heading."""
    label = QLabel(text, parent)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def hint(text: str, parent: QWidget | None = None) -> QLabel:
    """A wrapped explanatory text in the palette's placeholder colour."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(palette)
    return label
