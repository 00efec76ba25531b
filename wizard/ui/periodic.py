"""A second schedule beside the messaging sync's: a job the status window runs now and then on a worker.

The offline store's background refresh (issue 14, item 7) uses it. The job's work runs on a worker, never in
the GUI thread, and says when it wants to run again; a failure that may heal is retried after the back-off of
:mod:`wizard.app.schedule` (5, 10, 20 … minutes), one that will not heal waits for the next interval. The
:class:`~wizard.ui.engine_adapter.EngineAdapter` owns its jobs: they start with its schedule, do not run while
it is paused or held (a switch of the synchronizing organization), and stop at its shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from wizard.app.schedule import FLOOR_MINUTES, backoff
from wizard.errors import D365SyncError
from wizard.ui.workers import Task, TaskRunner

log = logging.getLogger(__name__)

Work = Callable[[], tuple[timedelta, Any]]  # on the worker: (the delay until the next run, the result)


class PeriodicJob(QObject):
    """Runs ``work`` on a worker when due; ``may_run()`` (GUI thread) can put a due run off by ``wait``.

    Signals (GUI thread): ``ran(result)`` after a run, ``failed(D365SyncError)``."""

    ran = Signal(object)
    failed = Signal(object)

    def __init__(
        self,
        name: str,
        work: Work,
        *,
        may_run: Callable[[], bool] = lambda: True,
        runner: TaskRunner | None = None,
        clock: Callable[[], datetime] | None = None,
        wait: timedelta = timedelta(minutes=FLOOR_MINUTES),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self._work = work
        self.may_run = may_run
        self.runner = runner or TaskRunner(self)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.wait = wait  # the delay when a run was put off, or failed for good, before any interval is known
        self.interval: timedelta | None = None
        self.failures = 0
        self.next_run: datetime | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._due)
        self._task: Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self, delay: timedelta = timedelta(0)) -> None:
        """Schedule the next run ``delay`` from now (a running one is not interrupted)."""
        self.next_run = self.clock() + delay
        self.timer.start(max(0, int(delay.total_seconds() * 1000)))

    def stop(self) -> None:
        self.timer.stop()
        self.next_run = None

    def run_now(self) -> bool:
        """Start the work on a worker now; False when it runs already."""
        if self._task is not None:
            return False
        self.timer.stop()
        work = self._work
        self._task = self.runner.run(
            self.name, lambda _ctx: work(), on_success=self._succeeded, on_failure=self._failed
        )
        return True

    @Slot()
    def _due(self) -> None:
        if not self.may_run():
            self.start(self.wait)
            return
        self.run_now()

    def _succeeded(self, value: Any) -> None:
        self._task = None
        delay, result = value
        self.interval = delay
        self.failures = 0
        self.start(delay)
        self.ran.emit(result)

    def _failed(self, error: D365SyncError) -> None:
        self._task = None
        log.info("%s failed: %s", self.name, error)
        interval = self.interval or self.wait
        if error.retriable:
            self.failures += 1
            self.start(backoff(self.failures, interval))
        else:
            self.failures = 0
            self.start(interval)
        self.failed.emit(error)
