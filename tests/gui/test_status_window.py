"""The status window and its engine adapter, offscreen: a fake engine that blocks on an Event in the worker
(the window keeps responding meanwhile), and one run of the real engine against the stand-ins."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QThreadPool, QTimer
from PySide6.QtWidgets import QPushButton

from wizard.app.instance import claim_instance
from wizard.app.mailbox import bind_mailbox
from wizard.app.orgs import connect_org, save_org
from wizard.app.status import AccountCheck, WhoSynchronizes, WizardPage
from wizard.errors import D365SyncError
from wizard.odata.errors import NetworkError, ThrottledError
from wizard.sync.engine import KindCounts, KindResult, Reporter, RunSummary
from wizard.sync.run import KindRunStatus, RunStatus
from wizard.ui.account_state import AccountState, AccountStateModel
from wizard.ui.engine_adapter import EngineAdapter, backoff, clock_text, interval_for
from wizard.ui.log_view import SignalLogHandler
from wizard.ui.status import ConflictView, KindRow, StatusView, StatusWindow, counts_text
from wizard.ui.widgets import tree_items
from wizard.ui.workers import TaskRunner

pytestmark = pytest.mark.gui
TIMEOUT = 10000


# -- a fake engine that follows docs (engine_api.md) ------------------------------------------------------
@dataclass
class Script:
    """What the fake engine does: report, wait for ``gate`` (in the worker), then return or raise."""

    kinds: list[str] = field(default_factory=lambda: ["contacts", "tasks"])
    results: dict[str, KindResult] = field(default_factory=dict)
    status: RunStatus = RunStatus.OK
    raises: D365SyncError | None = None
    gate: threading.Event | None = None
    at_gate: threading.Event = field(default_factory=threading.Event)
    calls: list[list[str] | None] = field(default_factory=list)
    forced: list[bool] = field(default_factory=list)
    fresh: list[bool] = field(default_factory=list)
    threads: list[Any] = field(default_factory=list)


class FakeEngine:
    def __init__(self, reporter: Reporter, script: Script) -> None:
        self.reporter = reporter
        self.script = script

    def run_once(
        self,
        kinds: Sequence[str] | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
        fresh: bool = False,
    ) -> RunSummary:
        s = self.script
        s.calls.append(list(kinds) if kinds is not None else None)
        s.forced.append(force)
        s.fresh.append(fresh)
        # thread ids, not QThread wrappers: a wrapper kept past its thread's end can be handed back by
        # PySide for a new object at the same address (a widget in a later test's focus chain)
        s.threads.append(threading.get_ident())
        started = datetime.now(UTC)
        if s.raises is not None:
            raise s.raises
        run = [k for k in s.kinds if kinds is None or k in kinds]
        self.reporter.run_started(run)
        out: list[KindResult] = []
        for index, kind in enumerate(run):
            self.reporter.kind_started(kind)
            self.reporter.progress(kind, 620, 1000)
            if index == 0 and s.gate is not None:
                s.at_gate.set()
                assert s.gate.wait(10), "the test never opened the gate"
            result = s.results.get(kind, KindResult(kind, KindCounts(), KindCounts()))
            self.reporter.kind_finished(result)
            out.append(result)
        summary = RunSummary(1, started, datetime.now(UTC), s.status, out, [])
        self.reporter.run_finished(summary)
        return summary


class FakeStatus:
    """load_status / resolve / check_account stand-ins with a record of the calls."""

    def __init__(self) -> None:
        self.view = StatusView(
            org_name="Contoso Sales",
            mailbox_address="anna.schmidt@contoso.com",
            mailbox_kind="exchange",
            is_sync_computer=True,
            kinds=[KindRow("contacts"), KindRow("tasks")],
        )
        self.resolved: list[tuple[int, str]] = []
        self.resolve_threads: list[Any] = []

    def load(self) -> StatusView:
        return StatusView(**{**self.view.__dict__, "kinds": list(self.view.kinds),
                             "conflicts": list(self.view.conflicts)})  # fmt: skip

    def resolve(self, conflict_id: int, use: str) -> None:
        self.resolve_threads.append(threading.get_ident())
        self.resolved.append((conflict_id, use))
        self.view.conflicts = [c for c in self.view.conflicts if c.id != conflict_id]


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def status() -> FakeStatus:
    return FakeStatus()


@pytest.fixture
def make_window(
    qtbot: Any, script: Script, status: FakeStatus, tmp_path: Path
) -> Iterator[Callable[..., StatusWindow]]:
    made: list[StatusWindow] = []

    def make(
        *,
        check_account: Callable[[], AccountCheck] | None = None,
        settings: QSettings | None = None,
        open_wizard: Callable[[WizardPage], None] = lambda _page: None,
    ) -> StatusWindow:
        adapter = EngineAdapter(
            lambda reporter: FakeEngine(reporter, script),
            interval_minutes=5,  # below the minimum: 15 is used
            runner=TaskRunner(pool=QThreadPool()),
        )
        window = StatusWindow(
            adapter,
            status.load,
            resolve=status.resolve,
            check_account=check_account,
            open_wizard=open_wizard,
            settings=settings,
        )
        adapter.setParent(window)
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
            window.show()
        made.append(window)
        return window

    yield make
    if script.gate is not None:
        script.gate.set()
    for window in made:
        window.adapter.shutdown(5000)
        window.runner.wait_all(5000)
        window.dispose()


def run_and_wait(qtbot: Any, window: StatusWindow, start: Callable[[], Any] | None = None) -> None:
    """Start a run (Sync now) and wait until its result is shown."""
    with (
        qtbot.waitSignal(window.adapter.running_changed, timeout=TIMEOUT, check_params_cb=lambda r: not r),
        qtbot.waitSignal(window.refreshed, timeout=TIMEOUT),
    ):
        (start or (lambda: qtbot.mouseClick(window.sync_button, Qt.MouseButton.LeftButton)))()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)


def claimed(this_computer: bool, hostname: str) -> AccountCheck:
    """The account check of a set-up account whose claim ``hostname`` holds."""
    page = WizardPage.NONE if this_computer else WizardPage.COMPUTER
    return AccountCheck(True, "", page, WhoSynchronizes(this_computer, hostname))


def current_state(adapter: EngineAdapter) -> AccountState:
    """The adapter's state, read fresh (a function call, so type checkers do not narrow it between reads)."""
    return adapter.state.state


def row_texts(window: StatusWindow, kind: str) -> list[str]:
    item = window.table.item_for(kind)
    assert item is not None, kind
    return [item.text(c) for c in range(window.table.columnCount())]


# -- the pure helpers ---------------------------------------------------------------------------------------
def test_interval_and_backoff() -> None:
    assert interval_for(None) == timedelta(minutes=15)
    assert interval_for(5) == timedelta(minutes=15)
    assert interval_for(30) == timedelta(minutes=30)
    assert [backoff(n, timedelta(minutes=15)).seconds // 60 for n in range(1, 6)] == [5, 10, 20, 40, 60]


def test_counts_text_names_email_verbs(qapp: Any) -> None:
    assert counts_text("contacts", KindCounts(created=1, updated=3), "to_crm") == "1 created, 3 updated"
    assert counts_text("email", KindCounts(created=12), "to_crm") == "12 tracked"
    assert counts_text("email", KindCounts(created=1), "to_mailbox") == "1 sent"
    assert counts_text("tasks", KindCounts(), "to_mailbox") == "—"


def test_account_state_model_signals_changes_once(qtbot: Any) -> None:
    model = AccountStateModel()
    seen: list[tuple[AccountState, str]] = []
    model.state_changed.connect(lambda s, d: seen.append((s, d)))
    model.set_state(AccountState.SYNCING)
    model.set_state(AccountState.SYNCING)
    model.set_state(AccountState.ERROR, "the server is busy")
    assert seen == [(AccountState.SYNCING, ""), (AccountState.ERROR, "the server is busy")]
    assert model.display_text() == "Error — the server is busy"
    assert all(s.text and s.icon_name in {"ok", "warning", "error", "sync", "info"} for s in AccountState)


# -- runs -----------------------------------------------------------------------------------------------------
def test_sync_now_runs_on_a_worker_with_progress_and_gui_keeps_responding(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    script.gate = threading.Event()
    script.results["contacts"] = KindResult(
        "contacts", to_crm=KindCounts(created=1), to_mailbox=KindCounts(updated=3)
    )
    window = make_window()
    assert window.title.text() == "d365sync — Contoso Sales"
    assert (
        window.mailbox_line.text()
        == "Mailbox anna.schmidt@contoso.com (Exchange) · this computer synchronizes"
    )

    with qtbot.waitSignal(window.adapter.run_started, timeout=TIMEOUT):
        qtbot.mouseClick(window.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.progress_label.text() == "Contacts: 620 of 1,000", timeout=TIMEOUT)
    assert script.at_gate.is_set() and script.threads[0] != threading.get_ident()
    assert script.fresh == [True]  # Sync now: the reads kept from earlier runs are read again
    # the engine blocks in its worker; the GUI thread still runs timers and repaints
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=TIMEOUT)
    timer.stop()
    assert current_state(window.adapter) is AccountState.SYNCING
    assert window.state_label.text() == "Synchronizing…"
    assert window.progress_row.isVisible()
    assert window.progress_bar.maximum() == 1000 and window.progress_bar.value() == 620
    assert not window.sync_button.isEnabled()

    # the first kind finishes: its row updates before the run ends
    with qtbot.waitSignal(window.adapter.kind_finished, timeout=TIMEOUT):
        script.gate.set()
    qtbot.waitUntil(lambda: row_texts(window, "contacts")[3] == "3 updated", timeout=TIMEOUT)
    assert row_texts(window, "contacts")[4] == "1 created"
    qtbot.waitUntil(lambda: not window.adapter.running, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: current_state(window.adapter) is AccountState.CONNECTED, timeout=TIMEOUT)
    assert window.state_label.text() == "Connected"
    assert not window.progress_row.isVisible()
    assert window.sync_button.isEnabled()
    # the next run in 15 minutes (5 asked, 15 is the minimum), shown in every row
    next_run = window.adapter.next_run
    assert next_run is not None
    assert timedelta(minutes=14) < next_run - datetime.now(UTC) <= timedelta(minutes=15)
    assert window.adapter.timer.isActive() and window.adapter.timer.remainingTime() > 14 * 60 * 1000
    assert row_texts(window, "tasks")[2] == clock_text(next_run)


def test_throttled_run_shows_the_retry_time_and_retry_now_runs_again(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    window = make_window()
    script.raises = ThrottledError("429", user_text="The server is busy (throttled).", retry_after=None)
    run_and_wait(qtbot, window)
    adapter = window.adapter
    assert current_state(adapter) is AccountState.ERROR
    assert adapter.next_run is not None
    retry_at = clock_text(adapter.next_run)
    assert timedelta(minutes=4) < adapter.next_run - datetime.now(UTC) <= timedelta(minutes=5)
    assert window.state_detail.isVisible()
    assert window.state_detail.text() == f"The server is busy (throttled); retrying at {retry_at}."
    (line,) = window.error_lines
    assert line.label.text() == f"The server is busy (throttled). Retrying at {retry_at}."
    assert not window.nothing_label.isVisible()

    # a second failure backs off further
    run_and_wait(qtbot, window, lambda: qtbot.mouseClick(line.retry, Qt.MouseButton.LeftButton))
    assert len(script.calls) == 2 and adapter.failures == 2
    assert adapter.next_run is not None and adapter.next_run - datetime.now(UTC) > timedelta(minutes=9)

    # the service recovers: Retry now runs again and clears the error
    script.raises = None
    run_and_wait(
        qtbot, window, lambda: qtbot.mouseClick(window.error_lines[0].retry, Qt.MouseButton.LeftButton)
    )
    assert current_state(adapter) is AccountState.CONNECTED and adapter.failures == 0
    assert window.error_lines == [] and window.nothing_label.isVisible()
    assert not window.state_detail.isVisible()


def test_unreachable_is_offline_and_a_failed_kind_is_marked(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script, status: FakeStatus
) -> None:
    window = make_window()
    script.raises = NetworkError("refused", user_text="Dynamics 365 cannot be reached.")
    run_and_wait(qtbot, window)
    assert current_state(window.adapter) is AccountState.OFFLINE
    assert window.state_label.text() == "Offline"

    script.raises = None
    script.status = RunStatus.PARTIAL
    script.results["tasks"] = KindResult("tasks", KindCounts(), KindCounts(), status=KindRunStatus.ERROR,
                                         message="Tasks folder not found")  # fmt: skip
    status.view.kinds = [
        KindRow("contacts", datetime.now(UTC), "ok"),
        KindRow("tasks", datetime.now(UTC), "error", errors=["Tasks folder not found"]),
    ]
    run_and_wait(qtbot, window)
    assert current_state(window.adapter) is AccountState.ERROR
    assert "Tasks folder not found; retrying at" in window.state_detail.text()
    texts = row_texts(window, "tasks")
    assert texts[5] == "1 error"
    item = window.table.item_for("tasks")
    assert item is not None and item.toolTip(1) == "Failed"
    (line,) = window.error_lines
    assert line.kind == "tasks" and line.label.text().startswith("Tasks: Tasks folder not found.")
    run_and_wait(qtbot, window, lambda: qtbot.mouseClick(line.retry, Qt.MouseButton.LeftButton))
    assert script.calls[-1] == ["tasks"]  # Retry now on a kind's error runs that kind


def test_occurrence_changes_that_wait_are_shown_with_why(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script, status: FakeStatus
) -> None:
    window = make_window()
    status.view.kinds = [KindRow("appointments", datetime.now(UTC), "ok", waiting=2)]
    run_and_wait(qtbot, window)
    assert row_texts(window, "appointments")[5] == "2 waiting"
    item = window.table.item_for("appointments")
    assert item is not None and "beyond its calendar window" in item.toolTip(5)
    assert current_state(window.adapter) is AccountState.CONNECTED  # waiting is no error


def test_a_mass_delete_waits_for_confirmation_then_runs_with_force(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script, status: FakeStatus
) -> None:
    message = "The run would delete 40 of 50 contacts in the mailbox; nothing was changed."
    script.status = RunStatus.PARTIAL
    script.results["contacts"] = KindResult("contacts", KindCounts(), KindCounts(), status=KindRunStatus.NEEDS_CONFIRMATION,
                                            message=message)  # fmt: skip
    status.view.kinds = [KindRow("contacts", datetime.now(UTC), "needs_confirmation", errors=[message]),
                         KindRow("tasks", datetime.now(UTC), "ok")]  # fmt: skip
    window = make_window()
    run_and_wait(qtbot, window)
    adapter = window.adapter
    assert current_state(adapter) is AccountState.ERROR and window.state_detail.text() == message
    assert adapter.failures == 0  # no back-off: only the user can unblock it
    assert adapter.next_run is not None and adapter.next_run - datetime.now(UTC) > timedelta(minutes=14)
    (line,) = window.error_lines
    assert line.needs_confirmation and line.retry.text() == "Synchronize &anyway…"
    assert line.label.text() == f"Contacts: {message}"  # no "retrying at": retrying alone cannot help

    asked: list[str] = []

    def decline(title: str, text: str) -> bool:
        asked.append(text)
        return False

    window.confirm = decline
    qtbot.mouseClick(line.retry, Qt.MouseButton.LeftButton)
    assert "Contacts stopped because the run would delete many items" in asked[0]
    assert not adapter.running and script.forced == [False]  # declined: nothing runs

    window.confirm = lambda title, text: True
    script.status = RunStatus.OK
    script.results.pop("contacts")
    run_and_wait(qtbot, window, lambda: qtbot.mouseClick(line.retry, Qt.MouseButton.LeftButton))
    assert script.calls[-1] == ["contacts"] and script.forced[-1] is True
    assert script.fresh[-1] is True  # the user asked: the run reads what earlier runs kept again


def test_not_the_synchronizing_computer(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    window = make_window(check_account=lambda: claimed(False, "ANNA-DESKTOP"))
    with qtbot.waitSignal(window.adapter.state.state_changed, timeout=TIMEOUT,
                          check_params_cb=lambda s, d: s is AccountState.NOT_SYNC_COMPUTER):  # fmt: skip
        window.start()
    assert window.mailbox_line.text().endswith("· ANNA-DESKTOP synchronizes, not this computer")
    assert window.state_label.text() == "Not the synchronizing computer"
    assert window.state_detail.text().startswith("ANNA-DESKTOP synchronizes your mailbox, so this computer")
    assert window.error_lines == []  # another computer synchronizing is a choice, not a problem
    assert script.calls == []  # nothing ran, the schedule re-checks later
    assert window.adapter.timer.isActive()

    # the engine says so too (the claim moved meanwhile)
    script.status = RunStatus.NOT_SYNC_COMPUTER
    run_and_wait(qtbot, window)
    assert current_state(window.adapter) is AccountState.NOT_SYNC_COMPUTER


def test_no_computer_synchronizes_yet_points_to_the_computer_page(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    opened: list[WizardPage] = []
    window = make_window(check_account=lambda: claimed(False, ""), open_wizard=opened.append)
    window.start()
    qtbot.waitUntil(lambda: current_state(window.adapter) is AccountState.NOT_SYNC_COMPUTER, timeout=TIMEOUT)
    assert window.mailbox_line.text().endswith("· no computer synchronizes yet")
    assert "Computer page" in window.state_detail.text()
    (line,) = window.error_lines
    assert line.retry.text() == "Open the &wizard…"
    qtbot.mouseClick(line.retry, Qt.MouseButton.LeftButton)
    assert opened == [WizardPage.COMPUTER]
    assert script.calls == []

    # the scheduled run finds the same (the engine's own claim check): the line stays, with what to do
    script.status = RunStatus.NOT_SYNC_COMPUTER
    window.check_account = lambda: claimed(False, "")
    run_and_wait(qtbot, window, window.adapter.timer.timeout.emit)
    assert current_state(window.adapter) is AccountState.NOT_SYNC_COMPUTER
    assert "Computer page" in window.state_detail.text()
    assert [line.retry.text() for line in window.error_lines] == ["Open the &wizard…"]


def test_start_runs_at_once_on_the_synchronizing_computer(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    window = make_window(check_account=lambda: claimed(True, "ANNA-LAPTOP"))
    run_and_wait(qtbot, window, window.start)
    assert script.calls == [None]
    assert window.mailbox_line.text().endswith("· this computer synchronizes")


def test_pause_stops_the_timer_and_resume_restarts_it(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    window = make_window()
    run_and_wait(qtbot, window)
    adapter = window.adapter
    assert adapter.timer.isActive()
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert adapter.paused and not adapter.timer.isActive() and adapter.next_run is None
    assert current_state(adapter) is AccountState.PAUSED
    assert window.pause_button.text() == "&Resume"
    assert row_texts(window, "contacts")[2] == "Paused"
    adapter.timer.timeout.emit()  # a stray tick while paused runs nothing
    assert not adapter.running and len(script.calls) == 1

    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert not adapter.paused and adapter.timer.isActive()
    assert current_state(adapter) is AccountState.CONNECTED
    assert window.pause_button.text() == "&Pause"


def test_the_timer_starts_a_run(qtbot: Any, make_window: Callable[..., StatusWindow], script: Script) -> None:
    window = make_window()
    window.adapter.start(run_now=False)
    assert window.adapter.timer.isActive() and script.calls == []
    run_and_wait(qtbot, window, window.adapter.timer.timeout.emit)
    assert script.calls == [None]


# -- conflicts -----------------------------------------------------------------------------------------------
def test_conflicts_side_by_side_and_resolved_through_the_callback(
    qtbot: Any, make_window: Callable[..., StatusWindow], status: FakeStatus
) -> None:
    status.view.conflicts = [
        ConflictView(
            7, "contacts", "department", "Einkauf", "Purchasing", item="Jörg Bär", label="Department"
        ),
        ConflictView(8, "tasks", "scheduledend", "2026-11-03", None, label="Due Date"),
    ]
    status.view.kinds[0].conflicts = 1
    window = make_window()
    first, second = window.cards
    assert (first.crm_value.text(), first.mailbox_value.text()) == ("Einkauf", "Purchasing")
    assert second.mailbox_value.text() == "(empty)"
    # the record by its name, the field by its display name, never the logical name
    title = first.use_mailbox.accessibleDescription()
    assert title == "Conflict: Contacts · Jörg Bär — Department"
    assert second.use_crm.accessibleDescription() == "Conflict: Tasks — Due Date"
    # "Ask me": nothing was applied, so the card offers the two values only and says what they do
    assert not hasattr(first, "keep")
    assert [b.text() for b in first.findChildren(QPushButton)] == [
        "Use &mailbox value",
        "Use &Dynamics 365 value",
    ]
    assert "until you choose" in first.explanation.text()
    # side by side: the two values are on one line, the Dynamics 365 one left of the mailbox one
    qtbot.waitUntil(lambda: first.mailbox_value.geometry().left() > 0, timeout=TIMEOUT)
    assert first.crm_value.geometry().top() == first.mailbox_value.geometry().top()
    assert first.crm_value.geometry().right() < first.mailbox_value.geometry().left()
    assert row_texts(window, "contacts")[5] == "1 conflict"

    with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
        qtbot.mouseClick(first.use_mailbox, Qt.MouseButton.LeftButton)
    assert status.resolved == [(7, "mailbox")]
    assert status.resolve_threads[0] != threading.get_ident()  # resolving may do I/O: a worker
    assert [c.conflict.id for c in window.cards] == [8]
    with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
        qtbot.mouseClick(window.cards[0].use_crm, Qt.MouseButton.LeftButton)
    assert status.resolved == [(7, "mailbox"), (8, "crm")]
    assert window.cards == [] and window.nothing_label.isVisible()


# -- log, geometry, accessibility -------------------------------------------------------------------------
def test_log_view_receives_redacted_records_newest_last(
    qtbot: Any, make_window: Callable[..., StatusWindow]
) -> None:
    window = make_window()
    logger = logging.getLogger("wizard.test_status")
    logger.setLevel(logging.INFO)
    with qtbot.waitSignal(window.log_handler.emitter.record, timeout=TIMEOUT):
        logger.info("first line")
    done = threading.Event()

    def from_a_worker() -> None:
        logger.warning("sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
        done.set()

    with qtbot.waitSignal(window.log_handler.emitter.record, timeout=TIMEOUT):
        threading.Thread(target=from_a_worker).start()
        assert done.wait(5)
    qtbot.waitUntil(lambda: len(window.log_view.lines()) >= 2, timeout=TIMEOUT)
    lines = window.log_view.lines()
    assert "first line" in lines[-2]
    assert "WARNING wizard.test_status: sent Authorization" in lines[-1]
    assert "eyJhbGciOiJIUzI1NiJ9" not in lines[-1]
    qtbot.mouseClick(window.log_button, Qt.MouseButton.LeftButton)
    assert window.log_view.isVisible()
    window.dispose()
    assert window.log_handler not in logging.getLogger().handlers


def test_geometry_is_remembered(qtbot: Any, make_window: Callable[..., StatusWindow], tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = make_window(settings=settings)
    window.resize(700, 610)
    window.close()
    assert settings.value("status/geometry") is not None
    again = make_window(settings=settings)
    assert (again.width(), again.height()) == (700, 610)


def test_accessible_names_and_tab_order(
    qtbot: Any, make_window: Callable[..., StatusWindow], status: FakeStatus
) -> None:
    status.view.conflicts = [ConflictView(1, "contacts", "Job title", "A", "B")]
    window = make_window()
    assert window.table.accessibleName() == "Synchronization by kind"
    assert window.table_caption.buddy() is window.table
    assert window.progress_bar.accessibleName() and window.progress_label.buddy() is window.progress_bar
    card = window.cards[0]
    assert "Job title" in card.use_mailbox.accessibleDescription()
    chain = [window.table, card.use_mailbox, card.use_crm, window.sync_button, window.pause_button,
             window.wizard_button, window.log_button]  # fmt: skip
    for first, second in itertools.pairwise(chain):
        assert first.nextInFocusChain() is second or _reaches(first, second), (first, second)


def _reaches(first: Any, second: Any) -> bool:
    """``second`` follows ``first`` in the tab chain (skipping widgets that take no Tab focus)."""
    widget = first.nextInFocusChain()
    for _ in range(50):
        if widget is second:
            return True
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisible():
            return False
        widget = widget.nextInFocusChain()
    return False


def test_tray_follows_the_state_and_drives_the_window(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    from wizard.ui.tray import StatusTray

    window = make_window()
    quits: list[int] = []
    tray = StatusTray(window, quit_app=lambda: quits.append(1))
    assert window.hide_on_close
    run_and_wait(qtbot, window, tray.sync_action.trigger)
    assert script.calls == [None]
    assert tray.toolTip() == "d365sync — Connected"
    tray.pause_action.trigger()
    assert window.adapter.paused and tray.toolTip() == "d365sync — Paused"
    assert tray.pause_action.text() == "&Resume" and not tray.pause_action.isChecked()
    window.close()
    assert not window.isVisible()  # hidden, the tray keeps the app
    tray.open_action.trigger()
    assert window.isVisible()
    tray.quit_action.trigger()
    assert quits == [1]


def test_log_handler_survives_a_deleted_emitter(qapp: Any) -> None:
    handler = SignalLogHandler()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    handler.emit(record)  # no receiver: nothing happens, nothing raises


def test_pyside_reference_drains_cannot_kill_the_app(qapp: Any) -> None:
    """The PySide6 reference bugs cannot kill the app: True/False (emit) and None (void calls) are protected
    when the bugs are present."""
    import sys

    from wizard.ui import account_state

    if account_state.signal_calls_drain_true():
        assert account_state.SINGLETONS_PROTECTED
        assert sys.getrefcount(True) > 1 << 39
    if account_state.void_calls_drain_none():
        assert account_state.SINGLETONS_PROTECTED
        assert sys.getrefcount(None) > 1 << 39
    assert account_state.protect_singletons() is account_state.SINGLETONS_PROTECTED  # idempotent


def test_log_opens_on_the_activity_with_the_technical_log_one_click_away(qtbot: Any) -> None:
    """Issue 12 item 12: the activity in words first (time, what happened, result; failures beneath); the
    raw lines behind "Show the technical log", scrolled to the left (their times visible) however long."""
    from wizard.app.status import RunActivity
    from wizard.errors import Severity
    from wizard.sync.state import ErrorRecord, RunCounts, RunRecord
    from wizard.ui.log_view import LogView
    from wizard.ui.status.activity import entries

    view = LogView()
    qtbot.addWidget(view)
    for n in range(60):
        view.append(logging.INFO, f"10:{n:02d}:00 INFO wizard.odata.session: HTTP 404 GET /api/data/v9.2/"
                    + "queues?$select=name&$filter=" + "x" * 400)  # fmt: skip
    today = datetime.now(UTC).replace(microsecond=0)
    ok = RunRecord(2, today.isoformat(), today.isoformat(), "ok",
                   {("contacts", "to_mailbox"): RunCounts(updated=3), ("contacts", "to_crm"): RunCounts(created=1)})  # fmt: skip
    failed = RunRecord(1, "2026-01-05T09:00:00Z", "2026-01-05T09:01:00Z", "partial", {})
    error = ErrorRecord(1, "tasks", Severity.KIND, "contoso.crm4.dynamics.com did not answer in time. Check "
                        "your network connection; it will be tried again.", None)  # fmt: skip
    view.set_activity(entries([RunActivity(ok), RunActivity(failed, [error])]))
    view.show()
    qtbot.waitUntil(view.isVisible)
    assert not view.technical and view.activity.isVisible()
    rows = view.activity_rows()
    assert rows[0] == [today.astimezone().strftime("%H:%M"), "Synchronized: Contacts", "Succeeded"]
    latest = view.activity.topLevelItem(0)
    assert latest is not None and latest.isExpanded()
    detail = latest.child(0)
    assert detail is not None
    assert detail.text(1) == "Contacts: 3 updated in the mailbox, 1 created in Dynamics 365"
    assert rows[1][1:] == ["Synchronized: nothing to change", "Partly failed"]
    assert "2026" in rows[1][0] or "26" in rows[1][0]  # another day: with its date
    failure = view.activity.topLevelItem(1)
    assert failure is not None and failure.isExpanded()
    child = failure.child(0)
    assert child is not None and child.text(1).startswith(
        "Tasks: contoso.crm4.dynamics.com did not answer in time."
    )
    assert not any("HTTP 404" in c for row in rows for c in row)

    qtbot.mouseClick(view.toggle_button, Qt.MouseButton.LeftButton)
    assert view.technical and view.text.isVisible()
    qtbot.waitUntil(lambda: view.text.horizontalScrollBar().maximum() > 0)
    assert view.text.horizontalScrollBar().value() == 0
    view.append(logging.INFO, "11:00:00 INFO wizard.test: " + "y" * 800)
    assert view.text.horizontalScrollBar().value() == 0
    assert view.toggle_button.text() == "Show the &activity"
    qtbot.mouseClick(view.toggle_button, Qt.MouseButton.LeftButton)
    assert not view.technical


# -- the real engine against the stand-ins -----------------------------------------------------------------
def test_real_engine_run_against_the_sandbox(qtbot: Any, sandbox: Any, factory: Any) -> None:
    """The window over real Factory: claim check, a run on a worker, counts from the state DB."""
    from wizard.settings import MailboxBinding
    from wizard.ui.status import build_status_window

    info = sandbox.port_info()
    u = info["users"][0]
    connected = connect_org(
        factory, info["dataverse_url"], username=u["upn"], password=u["password"], ca_file=info["ca_file"]
    )
    save_org(factory, connected)
    claim_instance(factory, force=True)
    bind_mailbox(factory,
        MailboxBinding(address=u["primary_email"], kind="exchange", auth="basic",
                       autodiscover_url=info["autodiscover_url"], ca_file=info["ca_file"]),
        u["ews_password"],
    )  # fmt: skip
    client = factory.dataverse(factory.require_sync_org())
    client.create("contacts", {"firstname": "Jörg", "lastname": "Bär-Statuswindow", "jobtitle": "Einkauf"})
    factory.profile.sync.kinds = {"email": False, "contacts": True, "appointments": False, "tasks": False}
    factory.save()

    window = build_status_window(factory)
    qtbot.addWidget(window)
    adapter = window.adapter
    try:
        with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
            window.show()
        assert window.title.text() == f"d365sync — {connected.org.display_name}"
        kinds_seen: list[str] = []
        adapter.kind_started.connect(kinds_seen.append)
        with qtbot.waitSignal(adapter.run_finished, timeout=60000) as finished:
            window.start()
        summary = finished.args[0]
        assert summary.status == "ok", [(k.kind, k.status, k.message) for k in summary.kinds]
        assert kinds_seen == ["contacts"]
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)
        assert current_state(adapter) is AccountState.CONNECTED, adapter.state.display_text()
        assert window.mailbox_line.text().endswith("· this computer synchronizes")
        qtbot.waitUntil(lambda: window.table.item_for("contacts") is not None, timeout=TIMEOUT)
        texts = row_texts(window, "contacts")
        assert "1 created" in texts[3], texts
        assert [i.text(0) for i in tree_items(window.table)] == ["Contacts"]
        # the Log's activity: the run in words from the state DB's run records, no raw lines
        (run,) = window.log_view.activity_rows()
        assert run[1] == "Synchronized: Contacts", run
        latest = window.log_view.activity.topLevelItem(0)
        assert latest is not None and latest.isExpanded()
        assert [latest.child(i).text(1) for i in range(latest.childCount())] == [  # type: ignore[union-attr]
            "Contacts: 1 created in the mailbox"
        ]
        assert run[2] == "Succeeded" and len(run[0]) == 5, run  # "10:42": today's runs by their time
        assert not window.log_view.technical
    finally:
        adapter.shutdown(10000)
        window.runner.wait_all(5000)
        window.dispose()


def test_run_status_without_a_tray_shows_the_failure_and_quits_with_the_window(
    qtbot: Any, factory: Any
) -> None:
    """``app.run_status`` on a profile with nothing configured: the window says why nothing runs (no retry
    loop), remembers its geometry, and closing it ends the event loop (offscreen there is no tray)."""
    from PySide6.QtWidgets import QApplication

    from wizard.ui import app as app_module
    from wizard.ui.status import StatusWindow as Window

    seen: dict[str, Any] = {}

    def close_when_settled() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, Window) and w.isVisible()]
        if not windows:
            return
        window = windows[0]
        if (
            window.adapter.running
            or window.runner.busy
            or current_state(window.adapter) is AccountState.CONNECTING
        ):
            return
        seen.update(state=current_state(window.adapter), detail=window.state_detail.text(),
                    timer=window.adapter.timer.isActive(), errors=[e.label.text() for e in window.error_lines])  # fmt: skip
        poll.stop()
        window.close()

    poll = QTimer()
    poll.timeout.connect(close_when_settled)
    poll.start(10)
    assert app_module.run_status(factory) == 0
    assert seen["state"] is AccountState.NOT_CONFIGURED
    assert "No organization synchronizes yet" in seen["detail"]
    assert "wizard" in seen["detail"]  # the GUI says where to choose one, not the command line
    assert seen["timer"] is False  # a configuration problem does not heal by itself: no retry loop
    assert any("No organization synchronizes yet" in e for e in seen["errors"])
    settings = QSettings(str(factory.where.config_dir / "gui.ini"), QSettings.Format.IniFormat)
    assert settings.value("status/geometry") is not None


# -- one source of truth for the account (issue 12 item 5) ------------------------------------------------
def test_closing_the_wizard_checks_the_account_again(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    """The window said "not bound in Contoso Test"; the user binds the mailbox in the wizard and closes it:
    the window checks again at once (no Sync now needed), runs, and no longer says "not bound"."""
    from wizard.app.factory import not_bound_text

    checks = [
        AccountCheck(False, not_bound_text("anna.schmidt@contoso.com", "Contoso Test"), WizardPage.MAILBOX)
    ]
    opened: list[WizardPage] = []

    def wizard(page: WizardPage) -> None:  # modal; the Mailbox page binds, so the next check finds it bound
        opened.append(page)
        checks[0] = claimed(True, "ANNA-LAPTOP")

    window = make_window(check_account=lambda: checks[0], open_wizard=wizard)
    window.start()
    qtbot.waitUntil(lambda: current_state(window.adapter) is AccountState.NOT_CONFIGURED, timeout=TIMEOUT)
    assert "not bound in Contoso Test" in window.state_detail.text()
    assert [e.label.text() for e in window.error_lines] == [window.state_detail.text()]
    assert script.calls == [] and not window.adapter.timer.isActive()

    (line,) = window.error_lines
    assert line.retry.text() == "Open the &wizard…"  # a retry cannot help: the setup is not complete
    run_and_wait(qtbot, window, lambda: qtbot.mouseClick(line.retry, Qt.MouseButton.LeftButton))
    assert opened == [WizardPage.MAILBOX]  # the message pointed to the Mailbox page
    assert script.calls == [None]
    assert current_state(window.adapter) is AccountState.CONNECTED
    assert not window.state_detail.isVisible() and "not bound" not in window.state_detail.text()
    assert window.mailbox_line.text().endswith("· this computer synchronizes")
    assert window.error_lines == []


def test_checking_which_computer_synchronizes_clears(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script, status: FakeStatus
) -> None:
    """The state DB does not know who synchronizes (the real load says None): "checking…" shows only while a
    check is on its way; a check that got no answer does not leave it for good, and the run that got past
    the engine's claim check says this computer synchronizes."""
    status.view.is_sync_computer = None
    gate = threading.Event()

    def check() -> AccountCheck:
        assert gate.wait(10)
        raise NetworkError("no answer", user_text="contoso.crm4.dynamics.com did not answer in time.")

    window = make_window(check_account=check)
    window.start()
    assert window.mailbox_line.text().endswith("· checking which computer synchronizes…")
    run_and_wait(qtbot, window, gate.set)
    assert script.calls == [None]  # the run reports what the check could not find out
    assert "checking" not in window.mailbox_line.text()
    assert window.mailbox_line.text().endswith("· this computer synchronizes")

    # the next check answers that another computer synchronizes; its own run says so again
    window.check_account = lambda: claimed(False, "ANNA-DESKTOP")
    window.setup_changed()
    qtbot.waitUntil(lambda: current_state(window.adapter) is AccountState.NOT_SYNC_COMPUTER, timeout=TIMEOUT)
    assert window.mailbox_line.text().endswith("· ANNA-DESKTOP synchronizes, not this computer")
    assert window.wizard_page() is WizardPage.COMPUTER


def test_open_the_wizard_on_the_page_the_message_points_to(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    from wizard.mailbox.base import AuthenticationFailed

    no_org = AccountCheck(False, "No organization synchronizes yet, so messaging data is not synchronized. "
                          "Choose one: d365sync orgs set-sync ID", WizardPage.ORGANIZATIONS)  # fmt: skip
    checks = [no_org]
    opened: list[WizardPage] = []
    window = make_window(check_account=lambda: checks[0], open_wizard=opened.append)
    window.start()
    qtbot.waitUntil(lambda: current_state(window.adapter) is AccountState.NOT_CONFIGURED, timeout=TIMEOUT)
    assert "Organizations page" in window.state_detail.text()
    assert window.wizard_page() is WizardPage.ORGANIZATIONS

    # the mailbox refused its password during a run: the Mailbox page
    checks[0] = claimed(True, "ANNA-LAPTOP")
    script.raises = AuthenticationFailed(
        "401", user_text="mail.contoso.com did not accept the user name or password (or the sign-in token). "
        "Check them and try again.",
    )  # fmt: skip
    qtbot.mouseClick(window.wizard_button, Qt.MouseButton.LeftButton)
    assert opened == [WizardPage.ORGANIZATIONS]
    qtbot.waitUntil(lambda: current_state(window.adapter) is AccountState.SIGNED_OUT, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.runner.busy and not window.adapter.running, timeout=TIMEOUT)
    qtbot.mouseClick(window.wizard_button, Qt.MouseButton.LeftButton)
    assert opened[-1] is WizardPage.MAILBOX

    # nothing is wrong: the wizard opens where it always does
    script.raises = None
    qtbot.waitUntil(lambda: current_state(window.adapter) is AccountState.CONNECTED, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.runner.busy and not window.adapter.running, timeout=TIMEOUT)
    assert window.wizard_page() is WizardPage.NONE


def test_the_wizard_opens_on_the_page_asked_for(qtbot: Any, factory: Any) -> None:
    from wizard.ui.app import create_wizard

    for page, attribute in [(WizardPage.MAILBOX, "mailbox_page"), (WizardPage.COMPUTER, "computer_page"),
                            (WizardPage.ORGANIZATIONS, "organizations_page"), (WizardPage.NONE, "welcome_page")]:  # fmt: skip
        wizard = create_wizard(factory, page=page)
        wizard.confirm = lambda *_: True  # type: ignore[method-assign]
        qtbot.addWidget(wizard)
        wizard.show()
        assert wizard.currentPage() is getattr(wizard, attribute), page
        wizard.controller.runner.cancel_all()
        wizard.controller.shutdown()
        wizard.close()


def test_closing_the_wizard_while_paused_runs_nothing(
    qtbot: Any, make_window: Callable[..., StatusWindow], script: Script
) -> None:
    """The account is checked again, but a paused window stays paused (not "Connecting…" for good)."""
    window = make_window(check_account=lambda: claimed(True, "ANNA-LAPTOP"))
    run_and_wait(qtbot, window, window.start)
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert current_state(window.adapter) is AccountState.PAUSED
    window.open_wizard()
    qtbot.waitUntil(lambda: not window.runner.busy and not window.checking, timeout=TIMEOUT)
    assert current_state(window.adapter) is AccountState.PAUSED
    assert script.calls == [None] and not window.adapter.timer.isActive()
    assert window.mailbox_line.text().endswith("· this computer synchronizes")
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)  # Resume: the schedule goes on
    assert current_state(window.adapter) is AccountState.CONNECTED and window.adapter.timer.isActive()
