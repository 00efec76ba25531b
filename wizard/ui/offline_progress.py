"""Go offline / Go online with progress: the dialog that runs them on a worker and shows how far they got.

Going offline shows one progress bar per table (records done / total) and can be cancelled: a cancelled
download leaves the previous store as it was. Going online shows the replay (changes sent / queued), then
what was sent and what needs the user (records held for a decision, failures). Both run
``wizard.app.offline`` on a worker; the GUI thread never waits.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.errors import D365SyncError
from wizard.ui.icons import icon
from wizard.ui.widgets import MessageBanner
from wizard.ui.workers import TaskContext, TaskRunner

GO_OFFLINE = "offline"
GO_ONLINE = "online"
# the tables in the order going offline downloads them (wizard.offline.tables)
TABLES = ("appointment", "task", "contact", "account", "lead")


class _Flag:
    """The task's cancel token as the use cases' cancel flag (``is_set``)."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def is_set(self) -> bool:
        return self.ctx.cancelled()


class OfflineProgressDialog(QDialog):
    """Runs Go offline (``GO_OFFLINE``) or Go online (``GO_ONLINE``) once it is shown with :meth:`start`;
    ``finished_work`` says whether it succeeded (not cancelled, no error)."""

    finished_work = Signal(bool)

    def __init__(self, factory: Factory, direction: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        assert direction in (GO_OFFLINE, GO_ONLINE), direction
        self.factory = factory
        self.direction = direction
        self.runner = TaskRunner(self)
        self.task: Any = None
        self.result: Any = None
        self.setWindowIcon(icon("app"))
        self.setWindowTitle(self.tr("Go offline") if direction == GO_OFFLINE else self.tr("Go online"))
        self.setMinimumWidth(460)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.bars: dict[str, QProgressBar] = {}
        self.counts: dict[str, QLabel] = {}
        grid = QGridLayout()
        rows = list(TABLES) if direction == GO_OFFLINE else ["changes"]
        for row, name in enumerate(rows):
            text = self.table_label(name) if name != "changes" else self.tr("Changes sent")
            label = QLabel(text, self)
            bar = QProgressBar(self)
            bar.setRange(0, 0 if row == 0 else 1)
            bar.setValue(0)
            bar.setTextVisible(False)
            bar.setAccessibleName(text)
            count = QLabel(self.tr("waiting"), self)
            count.setMinimumWidth(count.fontMetrics().horizontalAdvance("000,000 / 000,000"))
            label.setBuddy(bar)
            grid.addWidget(label, row, 0)
            grid.addWidget(bar, row, 1)
            grid.addWidget(count, row, 2)
            self.bars[name] = bar
            self.counts[name] = count
        grid.setColumnStretch(1, 1)
        self.banner = MessageBanner(self)
        self.buttons = QDialogButtonBox(self)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.close_button = QPushButton(self.tr("&Close"), self)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(grid)
        layout.addWidget(self.banner)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        if direction == GO_OFFLINE:
            self.intro.setText(
                self.tr(
                    "Copying the records of your offline filters to this computer. Until you go online, "
                    "your changes are kept here."
                )
            )
        else:
            self.intro.setText(
                self.tr("Sending the changes you made offline to Dynamics 365, in the order you made them.")
            )

    def table_label(self, logical_name: str) -> str:
        """A table's name in the app's language."""
        names = {
            "account": self.tr("Accounts"),
            "contact": self.tr("Contacts"),
            "lead": self.tr("Leads"),
            "appointment": self.tr("Appointments"),
            "task": self.tr("Tasks"),
        }
        return names.get(logical_name, logical_name)

    # -- running -----------------------------------------------------------------------------------
    def start(self) -> None:
        factory = self.factory
        if self.direction == GO_OFFLINE:

            def work(ctx: TaskContext) -> Any:
                return offline.go_offline(
                    factory, progress=lambda t, d, n: ctx.progress((t, d, n)), cancel=_Flag(ctx)
                )

        else:

            def work(ctx: TaskContext) -> Any:
                return offline.go_online(
                    factory, progress=lambda d, n: ctx.progress(("changes", d, n)), cancel=_Flag(ctx)
                )

        self.task = self.runner.run(
            self.windowTitle(),
            work,
            on_success=self._succeeded,
            on_failure=self._failed,
            on_progress=self._progress,
        )

    def cancel(self) -> None:
        if self.task is not None and not self.task.done.is_set():
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.banner.show_message("info", self.tr("Cancelling…"))
        else:
            self.reject()

    def reject(self) -> None:
        """Escape / closing the window: cancel first while the work runs."""
        if self.task is not None and not self.task.done.is_set():
            self.cancel()
            return
        super().reject()

    def _progress(self, value: object) -> None:
        if not isinstance(value, tuple) or len(value) != 3:
            return
        name, done, total = value
        bar = self.bars.get(str(name))
        if bar is None:
            return
        for other, other_bar in self.bars.items():  # the tables before this one are done
            if other == name:
                break
            if other_bar.maximum() == 0:
                other_bar.setRange(0, 1)
                other_bar.setValue(1)
                self.counts[other].setText(self.tr("done"))
        bar.setRange(0, max(int(total), 1))
        bar.setValue(min(int(done), max(int(total), 1)))
        self.counts[str(name)].setText(
            self.tr("{0} / {1}").format(_number(int(done), self), _number(int(total), self))
        )

    def _finish(self) -> None:
        self.cancel_button.hide()
        self.close_button.show()
        self.close_button.setDefault(True)
        self.close_button.setFocus()

    def _succeeded(self, result: Any) -> None:
        self.result = result
        self._finish()
        if self.direction == GO_OFFLINE:
            counts: dict[str, int] = dict(getattr(result, "counts", {}) or {})
            for name, bar in self.bars.items():
                total = counts.get(name, 0)
                bar.setRange(0, max(total, 1))
                bar.setValue(max(total, 1))
                self.counts[name].setText(_number(total, self))
            total = sum(counts.values())
            text = (
                self.tr("You are offline: {0} record is on this computer.")
                if total == 1
                else self.tr("You are offline: {0} records are on this computer.")
            ).format(total)
            notices = list(getattr(result, "notices", []) or [])
            self.banner.show_message("ok" if not notices else "warning", "\n".join([text, *notices]))
            self.finished_work.emit(True)
            return
        sent = result.replay
        lines = [
            self.tr("Sent: {0} created, {1} updated, {2} deleted.").format(
                sent.created, sent.updated, sent.deleted
            )
        ]
        if sent.merged:
            lines.append(
                self.tr("Merged with changes made in Dynamics 365 meanwhile: {0}.").format(sent.merged)
            )
        if sent.cancelled:
            lines.append(self.tr("Cancelled: the changes not sent yet are kept; you are still offline."))
        needs_you = sent.held + len(sent.failed)
        if sent.held:
            lines.append(
                self.tr(
                    "Records that need your decision: {0} (see Decisions… in the Records window)."
                ).format(sent.held)
            )
        lines.extend(sent.failed)
        if result.online:
            lines.append(self.tr("You are online."))
        elif not sent.cancelled:
            lines.append(
                self.tr(
                    "Going online stopped: {0} changes not yet sent; you are still offline. Try again with Go "
                    "online."
                ).format(result.waiting)
            )
        self.banner.show_message("warning" if needs_you or not result.online else "ok", "\n".join(lines))
        self.finished_work.emit(result.online)

    def _failed(self, error: D365SyncError) -> None:
        self._finish()
        if type(error).__name__ == "Cancelled":
            if self.direction == GO_OFFLINE:
                text = self.tr("Cancelled: nothing was changed; the records on this computer are as before.")
            else:
                text = self.tr("Cancelled.")
            self.banner.show_message("info", text)
        else:
            self.banner.show_message("error", error.user_text)
        self.finished_work.emit(False)


def _number(value: int, widget: QWidget) -> str:
    return widget.locale().toString(value)


__all__ = ["GO_OFFLINE", "GO_ONLINE", "OfflineProgressDialog"]
