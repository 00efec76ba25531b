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
        self, kinds: Sequence[str] | None = None, *, dry_run: bool = False, force: bool = False
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
