"""The status window's schedule follows wizard.app.schedule: the server's values are read on the worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QThread, QThreadPool

from wizard.app.schedule import ServerIntervals
from wizard.odata.errors import NetworkError
from wizard.sync.engine import Reporter, RunSummary
from wizard.sync.run import RunStatus
from wizard.ui.engine_adapter import EngineAdapter
from wizard.ui.workers import TaskRunner

pytestmark = pytest.mark.gui
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class OkEngine:
    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def run_once(
        self,
        kinds: Sequence[str] | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
        fresh: bool = False,
    ) -> RunSummary:
        return RunSummary(1, NOW, NOW, RunStatus.OK, [], [])


def _run(qtbot: Any, adapter: EngineAdapter) -> None:
    with qtbot.waitSignal(
        adapter.running_changed, timeout=10000, check_params_cb=lambda running: not running
    ):
        assert adapter.sync_now()


def test_the_organization_minimum_read_on_the_worker_sets_the_interval(qtbot: Any) -> None:
    threads: list[Any] = []

    def read() -> ServerIntervals:
        threads.append(QThread.currentThread())
        return ServerIntervals(user_minutes=20, org_minimum=30)

    adapter = EngineAdapter(
        OkEngine, interval_minutes=None, clock=lambda: NOW, runner=TaskRunner(pool=QThreadPool()),
        server_intervals=read,
    )  # fmt: skip
    assert adapter.interval == timedelta(minutes=15)  # unknown until the worker read it
    _run(qtbot, adapter)
    assert adapter.next_run == NOW + timedelta(minutes=30)
    _run(qtbot, adapter)
    assert len(threads) == 1 and threads[0] is not QThread.currentThread()  # once, never in the GUI thread
    adapter.reset()  # another organization synchronizes: its values are read again
    _run(qtbot, adapter)
    assert len(threads) == 2
    adapter.shutdown()


def test_an_unreadable_interval_keeps_the_floor_and_is_read_again(qtbot: Any) -> None:
    answers: list[Any] = [NetworkError("offline"), ServerIntervals(user_minutes=50, org_minimum=15)]

    def read() -> ServerIntervals:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    adapter = EngineAdapter(
        OkEngine, clock=lambda: NOW, runner=TaskRunner(pool=QThreadPool()), server_intervals=read
    )
    _run(qtbot, adapter)
    assert adapter.next_run == NOW + timedelta(minutes=15)
    _run(qtbot, adapter)
    assert adapter.next_run == NOW + timedelta(minutes=50)
    adapter.shutdown()


def test_a_second_schedule_runs_its_job_on_a_worker_from_start_and_not_while_paused(qtbot: Any) -> None:
    threads: list[Any] = []
    answers: list[Any] = [(timedelta(minutes=40), "refreshed"), NetworkError("offline"), (timedelta(0), "")]

    def work() -> tuple[timedelta, Any]:
        threads.append(QThread.currentThread())
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    adapter = EngineAdapter(OkEngine, clock=lambda: NOW, runner=TaskRunner(pool=QThreadPool()))
    job = adapter.add_job("Refresh the offline store", work)
    assert job.next_run is None and not threads  # nothing before the adapter starts
    with qtbot.waitSignal(job.ran, timeout=10000) as ran:
        adapter.start(run_now=False)
    assert ran.args == ["refreshed"]
    assert threads[0] is not QThread.currentThread()  # never in the GUI thread
    assert job.next_run == NOW + timedelta(minutes=40)  # the delay the work asked for
    with qtbot.waitSignal(job.failed, timeout=10000):
        assert job.run_now()
    assert job.next_run == NOW + timedelta(minutes=5)  # a failure that may heal: the back-off
    adapter.pause()
    job.timer.timeout.emit()  # due while paused: put off, not run
    assert len(threads) == 2 and job.next_run == NOW + timedelta(minutes=15)
    adapter.shutdown()
    assert not job.timer.isActive()


def test_a_scheduled_run_uses_the_kept_reads_and_a_run_the_user_asked_for_reads_fresh(qtbot: Any) -> None:
    asked: list[bool] = []

    class Recording(OkEngine):
        def run_once(self, kinds: Sequence[str] | None = None, **options: Any) -> RunSummary:
            asked.append(bool(options.get("fresh")))
            return super().run_once(kinds)

    adapter = EngineAdapter(Recording, clock=lambda: NOW, runner=TaskRunner(pool=QThreadPool()))
    with qtbot.waitSignal(
        adapter.running_changed, timeout=10000, check_params_cb=lambda running: not running
    ):
        adapter._due()  # the timer's run
    with qtbot.waitSignal(
        adapter.running_changed, timeout=10000, check_params_cb=lambda running: not running
    ):
        assert adapter.sync_now(fresh=True)  # Sync now
    assert asked == [False, True]
    adapter.shutdown()
