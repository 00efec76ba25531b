"""The Log dialog of the status window: the activity history in words, the technical log one click away.

The activity list (time, what happened, result; the failures beneath) comes from the runs the state DB keeps
(:mod:`wizard.ui.status.activity` words them). The technical log is the program's log records: a
logging.Handler emits each as a Qt signal; records come from any thread (the engine logs on a worker), the
handler only formats and emits, and Qt queues the signal to the view in the GUI thread. The text goes through
the same redaction as the log file, so a token that slipped into a message is not shown either.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wizard.logging_setup import RedactingFormatter
from wizard.ui import account_state  # noqa: F401 (installs the PySide emit fix)
from wizard.ui.widgets import hint

if TYPE_CHECKING:
    from wizard.ui.status.activity import ActivityEntry

MAX_LINES = 2000


class _Emitter(QObject):
    record = Signal(int, str)  # level, redacted text


class SignalLogHandler(logging.Handler):
    """Formats (and redacts) each record and emits ``emitter.record(level, text)``; thread-safe."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.emitter = _Emitter()
        self.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            self.emitter.record.emit(record.levelno, text)
        except RuntimeError:  # the emitter was deleted with the window
            pass
        except Exception:
            self.handleError(record)


class LogView(QDialog):
    """The activity list first; "Show the technical log" swaps in the log lines (newest last, at most
    MAX_LINES; it follows the end unless the user scrolled up, and always shows the lines' beginnings)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Log"))
        self.resize(760, 420)
        self.activity = QTreeWidget(self)
        self.activity.setColumnCount(3)
        self.activity.setHeaderLabels([self.tr("Time"), self.tr("What happened"), self.tr("Result")])
        self.activity.setRootIsDecorated(True)
        self.activity.setUniformRowHeights(False)
        self.activity.setWordWrap(True)
        self.activity.setAccessibleName(self.tr("Activity"))
        self.activity.header().setStretchLastSection(False)
        self.activity.header().setSectionResizeMode(1, self.activity.header().ResizeMode.Stretch)
        self.empty = hint(self.tr("Nothing has been synchronized yet."), self)
        activity_page = QWidget(self)
        activity_layout = QVBoxLayout(activity_page)
        activity_layout.setContentsMargins(0, 0, 0, 0)
        activity_layout.addWidget(self.activity)
        activity_layout.addWidget(self.empty)

        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setAccessibleName(self.tr("Technical log"))

        self.pages = QStackedWidget(self)
        self.pages.addWidget(activity_page)
        self.pages.addWidget(self.text)
        self.caption = QLabel(self)
        self.toggle_button = QPushButton(self)
        self.toggle_button.setAutoDefault(False)
        self.toggle_button.clicked.connect(self.toggle)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.toggle_button)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.pages, 1)
        layout.addLayout(bottom)
        self.show_activity_page()
        self.set_activity([])

    # -- the two pages ------------------------------------------------------------------------------
    @property
    def technical(self) -> bool:
        return self.pages.currentWidget() is self.text

    def toggle(self) -> None:
        if self.technical:
            self.show_activity_page()
        else:
            self.show_technical_log()

    def show_activity_page(self) -> None:
        self.pages.setCurrentIndex(0)
        self.caption.setText(self.tr("What d365sync did, newest first."))
        self.toggle_button.setText(self.tr("Show the &technical log"))

    def show_technical_log(self) -> None:
        self.pages.setCurrentWidget(self.text)
        self.caption.setText(
            self.tr("The program's log messages, newest last (passwords and tokens hidden).")
        )
        self.toggle_button.setText(self.tr("Show the &activity"))
        self._to_line_starts()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._to_line_starts()

    def _to_line_starts(self) -> None:
        """The beginnings of the lines (their times) in view, whatever moved the view sideways."""
        self.text.horizontalScrollBar().setValue(0)

    # -- the activity ---------------------------------------------------------------------------------
    def set_activity(self, entries: list[ActivityEntry]) -> None:
        """Show these entries (newest first), each run's changes, failures and notes as its children."""
        self.activity.clear()
        failed_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for index, entry in enumerate(entries):
            item = QTreeWidgetItem([entry.time, entry.what, entry.result])
            item.setToolTip(1, entry.what)
            if entry.failed:
                item.setIcon(2, failed_icon)
            for detail in entry.details:
                child = QTreeWidgetItem(["", detail, ""])
                child.setToolTip(1, detail)
                item.addChild(child)
            self.activity.addTopLevelItem(item)
            item.setExpanded(index == 0 or entry.failed)  # the latest run and the failed ones open
        for column in (0, 2):
            self.activity.resizeColumnToContents(column)
        self.activity.setVisible(bool(entries))
        self.empty.setVisible(not entries)

    def activity_rows(self) -> list[list[str]]:
        """The top-level rows' texts (tests)."""
        rows = []
        for index in range(self.activity.topLevelItemCount()):
            item = self.activity.topLevelItem(index)
            if item is not None:
                rows.append([item.text(c) for c in range(3)])
        return rows

    # -- the technical log ----------------------------------------------------------------------------
    def attach(self, handler: SignalLogHandler) -> None:
        handler.emitter.record.connect(self.append)

    @Slot(int, str)
    def append(self, level: int, text: str) -> None:
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        sideways = self.text.horizontalScrollBar().value()
        self.text.appendPlainText(text)
        if at_end:
            bar.setValue(bar.maximum())
        self.text.horizontalScrollBar().setValue(sideways)  # a long new line does not pull the view right

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()
