"""Small widgets the pages share: an in-page message banner, a busy bar with Cancel, a password field."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from wizard.ui.icons import icon, palette_is_dark

KINDS = ("info", "ok", "warning", "error")


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<br\s*/?>", "\n", re.sub(r"<(?!br)[^>]+>", "", text)))


# The accent colours of frames (banners, conflict cards, error lines): the first for a light palette, the
# second for a dark one. Each keeps a contrast of at least 3:1 (WCAG's for borders) against its background.
ACCENTS = {
    "info": ("#1565c0", "#64b5f6"),
    "ok": ("#2e8540", "#66bb6a"),
    "warning": ("#b37400", "#ffb74d"),
    "error": ("#c62828", "#ef5350"),
}
_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


def accent(kind: str, palette: QPalette) -> str:
    """The colour of ``kind`` ("info", "ok", "warning", "error") that reads on ``palette``'s window."""
    light, dark = ACCENTS[kind]
    return dark if palette_is_dark(palette) else light


class AccentFrame(QFrame):
    """A frame with a rounded border in an accent colour that follows the palette (light or dark, also when
    the desktop switches while the window is open)."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._accent = ""

    def set_accent(self, kind: str) -> None:
        self._accent = kind
        self._apply_accent()

    def _apply_accent(self) -> None:
        if not self._accent:
            return
        colour = accent(self._accent, self.palette())
        sheet = f"QFrame#{self.objectName()} {{ border: 1px solid {colour}; border-radius: 4px; }}"
        if sheet != self.styleSheet():  # setting a style sheet can itself announce a palette change
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in _PALETTE_EVENTS:
            self._apply_accent()
        super().changeEvent(event)


class MessageBanner(AccentFrame):
    """An icon and a wrapped text, in the page: errors say what happened and what to do next.

    Kept in the page instead of message boxes (UI.md). Screen readers get the text as the accessible name.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("messageBanner", parent)
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
        self.set_accent(kind)
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


class MinimumSpinBox(QSpinBox):
    """A spin box that says when a typed value is below its minimum: the value becomes the minimum (not the
    previous value) and ``below_minimum`` carries what was typed, so the page can say why."""

    below_minimum = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        self._corrected = False

    def fixup(self, text: str) -> str:  # PySide6 returns the fixed text
        typed = text.removesuffix(self.suffix()).removeprefix(self.prefix()).strip()
        if typed.isdigit() and int(typed) < self.minimum():
            self._corrected = True
            self.below_minimum.emit(int(typed))
        return super().fixup(text)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Return after a corrected value stays here (a dialog's default button, the wizard's Next, would
        take the user away from the message)."""
        self._corrected = False
        super().keyPressEvent(event)
        if self._corrected and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()


def fit_to_screen(widget: QWidget, wanted: QSize) -> QSize:
    """``wanted``, made smaller where the screen's available area (less a margin for the frame) is smaller."""
    screen = widget.screen() or QApplication.primaryScreen()
    if screen is None:
        return wanted
    room = screen.availableGeometry().size() - QSize(40, 60)
    return wanted.boundedTo(room).expandedTo(widget.minimumSize())


def ask(parent: QWidget | None, title: str, question: str) -> bool:
    """The one confirmation style of the GUI: a clear question with Yes and No (No by default, so a stray
    Return changes nothing). True for Yes."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, question, buttons, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


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


class Hint(QLabel):
    """A wrapped explanatory text in the palette's placeholder colour (again after a palette change)."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._follow_palette()

    def _follow_palette(self) -> None:
        parent = self.parentWidget()
        source = parent.palette() if parent is not None else QApplication.palette()
        wanted = source.color(QPalette.ColorRole.PlaceholderText)
        palette = self.palette()
        if palette.color(QPalette.ColorRole.WindowText) != wanted:
            palette.setColor(QPalette.ColorRole.WindowText, wanted)
            self.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in _PALETTE_EVENTS or event.type() == QEvent.Type.ParentChange:
            self._follow_palette()


def hint(text: str, parent: QWidget | None = None) -> QLabel:
    """A wrapped explanatory text in the palette's placeholder colour."""
    return Hint(text, parent)
