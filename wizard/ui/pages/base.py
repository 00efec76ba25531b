"""What every wizard page has: the controller, a scrolling body, an in-page message banner and a busy bar with
Cancel. The body scrolls when the window is smaller than the page's content, so the wizard fits a small screen
(1280×720 logical pixels at a scale factor of 2) and its buttons stay on screen."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget, QWizardPage

from wizard.errors import D365SyncError
from wizard.ui import engine_texts
from wizard.ui.controller import WizardController
from wizard.ui.widgets import BusyBar, MessageBanner


class BasePage(QWizardPage):
    """Pages own their operations (``OPS``): busy/failed answers for other pages' operations are ignored."""

    OPS: tuple[str, ...] = ()

    def __init__(self, controller: WizardController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.banner = MessageBanner(self)
        self.busy_bar = BusyBar(self)
        self.busy_bar.cancel_requested.connect(self.cancel_running)
        self.content = QWidget(self)
        self.body = QVBoxLayout(self.content)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidget(self.content)
        self.scroll_area.setMinimumHeight(120)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area, 1)
        outer.addWidget(self.busy_bar)
        outer.addWidget(self.banner)
        self._running = ""
        controller.busy.connect(self._on_busy)
        controller.failed.connect(self._on_failed)

    # -- busy state ------------------------------------------------------------------------------
    def run_step(self, op: str, text: str, *, cancellable: bool = True) -> None:
        """Mark ``op`` as running (the caller then starts it on the controller)."""
        self._running = op
        self.banner.clear()
        self.busy_bar.start(text, cancellable=cancellable)
        self.update_controls()
        self.completeChanged.emit()

    @property
    def running(self) -> str:
        return self._running

    def cancel_running(self) -> None:
        if self._running:
            self.controller.cancel(self._running)
            self.busy_bar.cancel_button.setEnabled(False)
            self.busy_bar.label.setText(self.tr("Cancelling…"))

    def _on_busy(self, op: str, running: bool) -> None:
        if op in self.OPS and not running and op == self._running:
            self._running = ""
            self.busy_bar.stop()
            self.update_controls()
            self.completeChanged.emit()

    def _on_failed(self, op: str, error: D365SyncError) -> None:
        if op in self.OPS:
            if type(error).__name__ in ("Cancelled", "SignInCancelled"):
                self.banner.show_message("info", self.tr("Cancelled."))
            else:
                self.show_error(op, error)

    def show_error(self, op: str, error: D365SyncError) -> None:
        self.banner.show_message("error", engine_texts.translate(error.user_text))

    def update_controls(self) -> None:
        """Enable/disable the page's buttons for the current state."""

    def isComplete(self) -> bool:
        return not self._running and super().isComplete()
