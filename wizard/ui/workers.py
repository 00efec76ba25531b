"""Run blocking work (network calls) on a thread pool; results come back to the GUI thread through signals.

The GUI thread never waits on the network: a :class:`Task` wraps a plain callable, runs it on a
``QThreadPool`` and reports through Qt signals, which Qt delivers to the receivers' (GUI) thread as queued
calls. The callable gets a :class:`TaskContext` to poll for cancellation and to report progress; neither
needs Qt, so the application layer stays Qt-free (dangerzone's GUI adapter over a plain core).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from wizard.errors import D365SyncError

log = logging.getLogger(__name__)


class CancelToken:
    """A thread-safe flag the GUI sets and the worker polls (``cancelled()`` is what the use cases expect)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def cancelled(self) -> bool:
        return self._event.is_set()


class UnexpectedError(D365SyncError):
    """A failure that is not one of ours (a bug): shown briefly, logged in full."""


class Cancelled(D365SyncError):
    """The user cancelled the step before it started."""


class TaskContext:
    """What the worker callable may use: the cancel flag and a progress channel to the GUI."""

    def __init__(self, token: CancelToken, emit_progress: Callable[[object], None]) -> None:
        self.token = token
        self._emit_progress = emit_progress

    def cancelled(self) -> bool:
        return self.token.cancelled()

    def progress(self, value: object) -> None:
        """Send ``value`` to the GUI thread (e.g. a device code to show)."""
        self._emit_progress(value)


class TaskSignals(QObject):
    """Signals of one task, always emitted in the GUI thread.

    The worker emits the private ``_``-signals; they reach this object's own slots as queued calls (it lives
    in the GUI thread), which re-emit the public ones there. So any callable connected to the public
    signals, lambdas included, runs in the GUI thread whatever PySide does with non-QObject receivers.
    """

    succeeded = Signal(object)
    failed = Signal(object)  # a D365SyncError
    progress = Signal(object)
    finished = Signal()

    _succeeded = Signal(object)
    _failed = Signal(object)
    _progress = Signal(object)
    _finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._succeeded.connect(self._relay_succeeded)
        self._failed.connect(self._relay_failed)
        self._progress.connect(self._relay_progress)
        self._finished.connect(self._relay_finished)

    @Slot(object)
    def _relay_succeeded(self, value: object) -> None:
        self.succeeded.emit(value)

    @Slot(object)
    def _relay_failed(self, value: object) -> None:
        self.failed.emit(value)

    @Slot(object)
    def _relay_progress(self, value: object) -> None:
        self.progress.emit(value)

    @Slot()
    def _relay_finished(self) -> None:
        self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task = task

    def run(self) -> None:
        self._task._run()


class Task:
    """One piece of blocking work. Connect to ``signals`` before :meth:`start`."""

    def __init__(self, name: str, work: Callable[[TaskContext], Any]) -> None:
        self.name = name
        self._work = work
        self.token = CancelToken()
        self.signals = TaskSignals()
        self.done = threading.Event()

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled()

    def start(self, pool: QThreadPool | None = None) -> Task:
        (pool or task_pool()).start(_Runnable(self))
        return self

    def _run(self) -> None:
        context = TaskContext(self.token, self.signals._progress.emit)
        try:
            if self.token.cancelled():  # cancelled while it waited for a free thread
                raise Cancelled(f"{self.name}: cancelled", user_text="Cancelled.")
            result = self._work(context)
        except D365SyncError as exc:
            log.info("%s failed: %s", self.name, exc)
            self._emit(self.signals._failed, exc)
        except Exception as exc:  # a bug: keep the GUI alive, say what failed
            log.exception("%s failed unexpectedly", self.name)
            error = UnexpectedError(
                f"{self.name}: {type(exc).__name__}",
                user_text=f"Something unexpected went wrong ({type(exc).__name__}). The log file has the details.",
            )
            self._emit(self.signals._failed, error)
        else:
            self._emit(self.signals._succeeded, result)
        finally:
            self.done.set()
            with contextlib.suppress(RuntimeError):  # the receiving side was torn down (window closed)
                self.signals._finished.emit()

    @staticmethod
    def _emit(signal: Any, value: object) -> None:
        with contextlib.suppress(RuntimeError):
            signal.emit(value)


#: the workers of the GUI's tasks: most wait on the network, so more of them than cores (Qt's global pool has
#: one per core: two syncs' worth of waiting starved a quick local read such as the offline line's)
TASK_THREADS = 8
_pool: QThreadPool | None = None


def task_pool() -> QThreadPool:
    """The pool every task runs on unless it names its own."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(max(TASK_THREADS, QThreadPool.globalInstance().maxThreadCount()))
    return _pool


class TaskRunner(QObject):
    """Starts tasks and keeps them alive until they finish; ``busy_changed`` tells the GUI when work runs."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or task_pool()
        self._running: dict[int, Task] = {}

    def run(
        self,
        name: str,
        work: Callable[[TaskContext], Any],
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[D365SyncError], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Task:
        task = Task(name, work)
        if on_success is not None:
            task.signals.succeeded.connect(on_success)
        if on_failure is not None:
            task.signals.failed.connect(on_failure)
        if on_progress is not None:
            task.signals.progress.connect(on_progress)
        key = id(task)
        task.signals.finished.connect(lambda: self._finished(key))  # runs in the GUI thread (relayed)
        was_idle = not self._running
        self._running[key] = task
        if was_idle:
            self.busy_changed.emit(True)
        return task.start(self.pool)

    def _finished(self, key: int) -> None:
        self._running.pop(key, None)
        if not shiboken6.isValid(self):  # its owner (a window) was deleted while the task ran
            return
        if not self._running:
            self.busy_changed.emit(False)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def cancel_all(self) -> None:
        for task in list(self._running.values()):
            task.cancel()

    def wait_all(self, timeout_ms: int = 5000) -> bool:
        """Used on shutdown only: cancel everything and give workers a moment to notice."""
        self.cancel_all()
        return self.pool.waitForDone(timeout_ms)
