"""The log as the status window shows it: a logging.Handler that emits a Qt signal, and a read-only view.

Records come from any thread (the engine logs on a worker); the handler only formats and emits, and Qt
queues the signal to the view in the GUI thread. The text goes through the same redaction as the log file,
so a token that slipped into a message is not shown either.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from wizard.logging_setup import RedactingFormatter
from wizard.ui import account_state  # noqa: F401 (installs the PySide emit fix)

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
    """The newest lines last, at most MAX_LINES; follows the end unless the user scrolled up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Log"))
        self.resize(760, 420)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setAccessibleName(self.tr("Log messages"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def attach(self, handler: SignalLogHandler) -> None:
        handler.emitter.record.connect(self.append)

    @Slot(int, str)
    def append(self, level: int, text: str) -> None:
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.text.appendPlainText(text)
        if at_end:
            bar.setValue(bar.maximum())

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()
