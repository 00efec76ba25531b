"""The worker layer: results and failures come back as signals in the GUI thread, which never blocks."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from PySide6.QtCore import QThread, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication

from wizard.errors import D365SyncError
from wizard.ui.workers import Task, TaskContext, TaskRunner

pytestmark = pytest.mark.gui


def test_gui_stays_responsive_while_a_worker_blocks(qtbot: Any, qapp: QApplication) -> None:
    release = threading.Event()
    gui_thread = QThread.currentThread()
    seen: dict[str, Any] = {}

    def slow_network(ctx: TaskContext) -> str:
        seen["worker_thread"] = QThread.currentThread()
        release.wait(10)  # a stand-in with latency: blocks until the test lets it go
        return "answer"

    ticks = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    runner = TaskRunner(pool=QThreadPool())
    task = runner.run(
        "slow", slow_network, on_success=lambda v: seen.update(result=v, thread=QThread.currentThread())
    )
    qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=5000)  # the event loop runs while the worker blocks
    assert "result" not in seen and runner.busy
    with qtbot.waitSignal(task.signals.finished, timeout=5000):
        release.set()
    timer.stop()
    assert seen["result"] == "answer"
    assert seen["thread"] is gui_thread  # results are delivered in the GUI thread
    assert seen["worker_thread"] is not gui_thread
    qtbot.waitUntil(lambda: not runner.busy)


def test_failures_progress_and_cancel(qtbot: Any) -> None:
    def work(ctx: TaskContext) -> None:
        ctx.progress("code ABCD")
        for _ in range(1000):
            if ctx.cancelled():
                raise D365SyncError("stopped", user_text="The step was cancelled.")
            time.sleep(0.005)

    task = Task("cancellable", work)
    progress: list[object] = []
    failures: list[D365SyncError] = []
    task.signals.progress.connect(progress.append)
    task.signals.failed.connect(failures.append)
    pool = QThreadPool()  # kept: a pool's destructor waits for its work
    task.start(pool)
    qtbot.waitUntil(lambda: progress == ["code ABCD"], timeout=5000)
    with qtbot.waitSignal(task.signals.finished, timeout=5000):
        task.cancel()
    assert [f.user_text for f in failures] == ["The step was cancelled."]


def test_unexpected_exception_becomes_a_user_message(qtbot: Any) -> None:
    def broken(ctx: TaskContext) -> None:
        raise KeyError("secret-value")

    task = Task("broken", broken)
    pool = QThreadPool()
    with qtbot.waitSignal(task.signals.failed, timeout=5000) as blocker:
        task.start(pool)
    error = blocker.args[0]
    assert isinstance(error, D365SyncError)
    assert "KeyError" in error.user_text and "secret-value" not in error.user_text
