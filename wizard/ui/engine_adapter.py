"""The GUI's adapter over the Qt-free sync engine (dangerzone's pattern): Reporter events become Qt signals.

The engine runs on a worker thread (:class:`~wizard.ui.workers.TaskRunner`); building it signs in and
connects, so that happens on the worker too: the GUI thread never waits on the network. Its Reporter
calls arrive here from the worker and are re-emitted in the GUI thread (queued connections to this
object's own slots). The adapter also runs the schedule (the rule is :mod:`wizard.app.schedule`'s, shared with
``d365sync sync``): the next run after the interval, Pause/Resume, Sync now, and a growing back-off after a
failure, with the retry time shown in the account state. The server's interval values are read on the worker
before the first run (``server_intervals``), never in the GUI thread. Beside the sync it owns its
:class:`~wizard.ui.periodic.PeriodicJob` s (the offline store's background refresh): they start with
:meth:`EngineAdapter.start`, skip their turn while it is paused or held, and stop at :meth:`shutdown`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from wizard.app.factory import NotConfigured
from wizard.app.schedule import Schedule, ServerIntervals, backoff, interval_for
from wizard.app.status import WizardPage
from wizard.crm.auth import AuthenticationError
from wizard.crm.records import ClaimHeldElsewhere, MailboxRecordMissing
from wizard.errors import D365SyncError
from wizard.mailbox.base import AuthenticationFailed, ServerUnreachable
from wizard.odata.errors import AuthError, NetworkError
from wizard.sync.engine import KindResult, Reporter, RunSummary
from wizard.sync.run import KindRunStatus, RunStatus
from wizard.ui.account_state import AccountState, AccountStateModel
from wizard.ui.engine_texts import translate as engine_text
from wizard.ui.periodic import PeriodicJob, Work
from wizard.ui.workers import Task, TaskContext, TaskRunner

log = logging.getLogger(__name__)

__all__ = ["EngineAdapter", "backoff", "classify", "clock_text", "interval_for", "wizard_page_for"]


class RunsOnce(Protocol):
    """What the adapter needs of :class:`wizard.sync.engine.Engine`."""

    def run_once(
        self,
        kinds: Sequence[str] | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
        fresh: bool = False,
    ) -> RunSummary: ...


EngineFactory = Callable[[Reporter], RunsOnce]  # called on the worker thread: it may sign in and connect


def clock_text(when: datetime) -> str:
    """10:47 in the local time zone."""
    return when.astimezone().strftime("%H:%M")


def classify(error: D365SyncError) -> AccountState:
    """Which state a failure of a whole run puts the account in."""
    if isinstance(error, ClaimHeldElsewhere):
        return AccountState.NOT_SYNC_COMPUTER
    if isinstance(error, NotConfigured | MailboxRecordMissing):
        return AccountState.NOT_CONFIGURED
    if isinstance(error, AuthenticationError | AuthError | AuthenticationFailed):
        return AccountState.SIGNED_OUT
    if isinstance(error, NetworkError | ServerUnreachable):
        return AccountState.OFFLINE
    return AccountState.ERROR


def wizard_page_for(error: D365SyncError) -> WizardPage:
    """The wizard page that fixes a failure of a whole run: the Mailbox page for the mailbox's sign-in or
    binding, the Computer page for the claim, the Organizations page for the organization's sign-in and
    for a missing synchronizing organization; none for the rest (network, server)."""
    if isinstance(error, ClaimHeldElsewhere):
        return WizardPage.COMPUTER
    if isinstance(error, MailboxRecordMissing | AuthenticationFailed):
        return WizardPage.MAILBOX
    if isinstance(
        error, NotConfigured
    ):  # its texts name the step: bind the mailbox, or choose an organization
        return WizardPage.MAILBOX if "mailbox" in error.user_text.lower() else WizardPage.ORGANIZATIONS
    if isinstance(error, AuthenticationError | AuthError):
        return WizardPage.ORGANIZATIONS
    return WizardPage.NONE


class _SignalReporter:
    """The engine's Reporter: each call emits one of the adapter's private signals (from the worker).

    Progress is coalesced: the worker keeps only the latest value and emits again only once the GUI thread
    has taken the previous one, so a fast engine cannot flood the event queue (bench/bench_gui.py measured
    stalls of several hundred milliseconds with one queued signal per item)."""

    def __init__(self, adapter: EngineAdapter) -> None:
        self._adapter = adapter
        self._lock = threading.Lock()
        self._latest: tuple[str, int, int, str] | None = None
        self._pending = False
        self._generation = 0  # bumped by kind_started: a ready event of an earlier kind takes nothing

    def take_progress(self, generation: int) -> tuple[str, int, int, str] | None:
        """Called in the GUI thread: the newest progress since the last call (and re-arm the emitter)."""
        with self._lock:
            if generation != self._generation:
                return None
            latest, self._latest, self._pending = self._latest, None, False
        return latest

    def run_started(self, kinds: Sequence[str]) -> None:
        self._adapter._run_started.emit(list(kinds))

    def kind_started(self, kind: str) -> None:
        with self._lock:  # a progress event still queued for the previous kind must not show this kind's
            self._latest, self._pending = None, False  # numbers before its "starting…"
            self._generation += 1
        self._adapter._kind_started.emit(kind)

    def progress(self, kind: str, done: int, total: int | None, message: str = "") -> None:
        with self._lock:
            self._latest = (kind, done, -1 if total is None else total, message)
            if self._pending:
                return
            self._pending = True
            generation = self._generation
        self._adapter._progress_ready.emit(self, generation)

    def kind_finished(self, result: KindResult) -> None:
        self._adapter._kind_finished.emit(result)

    def run_finished(self, summary: RunSummary) -> None:
        pass  # the task's result carries the same summary; one source avoids a double event


class EngineAdapter(QObject):
    """Runs the engine on a worker, re-emits its progress in the GUI thread and schedules the next run.

    Public signals (always in the GUI thread): ``run_started(kinds)``, ``kind_started(kind)``,
    ``progress(kind, done, total)`` (total -1 when unknown), ``kind_finished(KindResult)``,
    ``run_finished(RunSummary)``, ``run_failed(D365SyncError)``, ``running_changed(bool)``,
    ``schedule_changed(next_run or None)``. ``state`` is the account state everyone shows.
    """

    run_started = Signal(list)
    kind_started = Signal(str)
    progress = Signal(str, int, int, str)
    kind_finished = Signal(object)
    run_finished = Signal(object)
    run_failed = Signal(object)
    running_changed = Signal(bool)
    schedule_changed = Signal(object)

    _run_started = Signal(list)
    _kind_started = Signal(str)
    _progress_ready = Signal(object, int)  # a _SignalReporter with progress to take, its generation
    _kind_finished = Signal(object)

    def __init__(
        self,
        make_engine: EngineFactory,
        *,
        interval_minutes: int | None = None,
        clock: Callable[[], datetime] | None = None,
        runner: TaskRunner | None = None,
        parent: QObject | None = None,
        server_intervals: Callable[[], ServerIntervals] | None = None,
    ) -> None:
        """``server_intervals`` reads the user's interval and the organization's minimum; it is called on the
        worker before the first run (and again after :meth:`reset`) until it answers."""
        super().__init__(parent)
        self._make_engine = make_engine
        self.schedule = Schedule(interval_minutes)
        self._read_server = server_intervals
        self._server_lock = threading.Lock()
        self._server_read: ServerIntervals | None = None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.runner = runner or TaskRunner(self)
        self.state = AccountStateModel(self)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._due)
        self.next_run: datetime | None = None
        self.last_summary: RunSummary | None = None
        self.last_error: D365SyncError | None = None
        self._task: Task | None = None
        self._paused = False
        self._held = False  # hold(): no run starts (the synchronizing organization is being changed)
        self._when_idle: list[Callable[[], None]] = []
        self._idle: tuple[AccountState, str] = (AccountState.CONNECTING, "")
        self.jobs: list[PeriodicJob] = []
        self._started = False
        queued = Qt.ConnectionType.QueuedConnection
        self._run_started.connect(self._on_run_started, queued)
        self._kind_started.connect(self._on_kind_started, queued)
        self._progress_ready.connect(self._on_progress_ready, queued)
        self._kind_finished.connect(self._on_kind_finished, queued)

    # -- commands ----------------------------------------------------------------------------------
    @property
    def interval(self) -> timedelta:
        """The time between runs (the schedule's rule with what the server said, once it was read)."""
        self._take_server_values()
        return self.schedule.interval

    def _take_server_values(self) -> None:
        """In the GUI thread: what the worker read from the server, for the schedule."""
        with self._server_lock:
            if self._server_read is not None:
                self.schedule.server = self._server_read

    @property
    def failures(self) -> int:
        return self.schedule.failures

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def paused(self) -> bool:
        return self._paused

    def add_job(self, name: str, work: Work, *, may_run: Callable[[], bool] = lambda: True) -> PeriodicJob:
        """A second schedule: ``work`` runs on a worker when due (see :class:`~wizard.ui.periodic.PeriodicJob`),
        from :meth:`start` on, never while paused or held, nor while ``may_run()`` says no."""
        job = PeriodicJob(
            name,
            work,
            may_run=lambda: not self._paused and not self._held and may_run(),
            clock=self.clock,
            parent=self,
        )
        self.jobs.append(job)
        if self._started:
            job.start()
        return job

    def start(self, *, run_now: bool = True) -> None:
        """Begin: a run right away (the usual start-up) or only the schedule; the jobs start too."""
        if not self._started:
            self._started = True
            for job in self.jobs:
                job.start()
        if run_now:
            self.sync_now()
        else:
            self._schedule(self.interval)

    @property
    def held(self) -> bool:
        return self._held

    def hold(self, then: Callable[[], None]) -> None:
        """Stop the engine for a change under it (the synchronizing organization): no run starts from now on
        until :meth:`release`, and ``then`` is called in the GUI thread once no run is going on (at once when
        idle, else when the running one has finished and its result was reported; the engine is not
        interrupted mid-run, its writes are not cut in half)."""
        self._held = True
        self.timer.stop()
        self._set_next(None)
        if self._task is None:
            then()
        else:
            self._when_idle.append(then)

    def release(self, *, schedule: bool = True) -> None:
        """End :meth:`hold`: the schedule goes on at the interval (``schedule``), or nothing is scheduled and
        the caller starts a run or says why none can run."""
        self._held = False
        self._when_idle.clear()
        if schedule:
            self._schedule(self.interval)

    def show_idle(self) -> None:
        """Show the state between runs again (after a step that showed its own, such as a switch)."""
        self.set_idle_state(*self._idle)

    def reset(self) -> None:
        """Forget the last run's outcome and failures (a different organization now synchronizes)."""
        self.schedule.reset()
        self.last_summary = None
        self.last_error = None
        with self._server_lock:  # the new organization's values are read before its first run
            self._server_read = None
        self.schedule.server = None

    def sync_now(
        self, kinds: Sequence[str] | None = None, *, force: bool = False, fresh: bool = False
    ) -> bool:
        """Start a run now (also while paused: the user asked for it). False when one is running already
        or the engine is held. ``fresh``: the user asked (Sync now, Retry): the run reads the claim, the
        filters and the user's settings again instead of the ones kept from earlier runs."""
        if self._task is not None or self._held:
            return False
        self.timer.stop()
        self.state.set_state(AccountState.CONNECTING)
        reporter = _SignalReporter(self)
        wanted = list(kinds) if kinds is not None else None

        def work(_ctx: TaskContext) -> RunSummary:
            self._read_server_intervals()
            engine = self._make_engine(reporter)
            try:
                return engine.run_once(wanted, force=force, fresh=fresh)
            finally:
                close = getattr(engine, "close", None)  # the real engine holds the state DB and the mailbox
                if close is not None:
                    close()

        self._task = self.runner.run("Synchronize", work, on_success=self._succeeded, on_failure=self._failed)
        self.running_changed.emit(True)
        return True

    def _read_server_intervals(self) -> None:
        """On the worker: the server's interval values, once (a failure leaves them unknown until next run)."""
        if self._read_server is None:
            return
        with self._server_lock:
            if self._server_read is not None:
                return
        try:
            found = self._read_server()
        except D365SyncError as error:
            log.info("the synchronization interval could not be read: %s", error)
            return
        with self._server_lock:
            self._server_read = found

    def pause(self) -> None:
        """No more scheduled runs until :meth:`resume`; a running one finishes."""
        if self._paused:
            return
        self._paused = True
        self.timer.stop()
        self._set_next(None)
        if self._task is None:
            self.state.set_state(AccountState.PAUSED)

    def resume(self) -> None:
        """Scheduled runs again: right away when one was due while paused, else at the interval."""
        if not self._paused:
            return
        self._paused = False
        if self._task is not None:
            return
        self.state.set_state(*self._idle)
        self._schedule(timedelta(0) if self._idle[0] is not AccountState.CONNECTED else self.interval)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop the schedule and give a running engine a moment to finish (window closed, Quit)."""
        self.timer.stop()
        for job in self.jobs:
            job.stop()
        self.runner.wait_all(timeout_ms)
        for job in self.jobs:
            job.runner.wait_all(timeout_ms)

    # -- the schedule -----------------------------------------------------------------------------
    def _schedule(self, delay: timedelta) -> None:
        if self._held:  # release() schedules again
            return
        if self._paused:
            self._set_next(None)
            return
        self._set_next(self.clock() + delay)
        self.timer.start(max(0, int(delay.total_seconds() * 1000)))

    def _set_next(self, when: datetime | None) -> None:
        self.next_run = when
        self.schedule_changed.emit(when)

    @Slot()
    def _due(self) -> None:
        if not self._paused:
            self.sync_now()

    def set_idle_state(self, state: AccountState, detail: str = "") -> None:
        """The state to show between runs (PAUSED hides it until Resume)."""
        self._idle = (state, detail)
        self.state.set_state(AccountState.PAUSED if self._paused else state, "" if self._paused else detail)

    # -- engine events (GUI thread) -------------------------------------------------------------------
    @Slot(list)
    def _on_run_started(self, kinds: list[str]) -> None:
        self.state.set_state(AccountState.SYNCING)
        self.run_started.emit(kinds)

    @Slot(str)
    def _on_kind_started(self, kind: str) -> None:
        self.kind_started.emit(kind)

    @Slot(object, int)
    def _on_progress_ready(self, reporter: _SignalReporter, generation: int) -> None:
        latest = reporter.take_progress(generation)
        if latest is not None:
            self._on_progress(*latest)

    @Slot(str, int, int, str)
    def _on_progress(self, kind: str, done: int, total: int, message: str) -> None:
        self.progress.emit(kind, done, total, message)

    @Slot(object)
    def _on_kind_finished(self, result: Any) -> None:
        self.kind_finished.emit(result)

    def _end_task(self) -> None:
        self._task = None
        self.running_changed.emit(False)

    def _call_when_idle(self) -> None:
        """After a run's result was handled: the callbacks of :meth:`hold` that waited for it."""
        waiting, self._when_idle = self._when_idle, []
        for then in waiting:
            then()

    def _succeeded(self, summary: Any) -> None:
        self._end_task()
        assert isinstance(summary, RunSummary) or hasattr(summary, "status")
        self.last_summary = summary
        status = summary.status
        self._take_server_values()
        delay = self.schedule.after_summary(summary)
        self._schedule(delay)
        if status == RunStatus.NOT_SYNC_COMPUTER:
            self.set_idle_state(AccountState.NOT_SYNC_COMPUTER)
        elif status in (RunStatus.PARTIAL, RunStatus.FAILED):
            failed = [k for k in summary.kinds if k.status == KindRunStatus.ERROR]
            waiting = [k for k in summary.kinds if k.status == KindRunStatus.NEEDS_CONFIRMATION]
            if failed or not waiting:
                reason = (
                    engine_text(failed[0].message)
                    if failed and failed[0].message
                    else self.tr("the last run failed")
                )
                self.set_idle_state(AccountState.ERROR, self._retry_text(reason))
            else:  # only a confirmation is missing: retrying sooner cannot help
                self.set_idle_state(AccountState.ERROR, engine_text(waiting[0].message))
        else:
            self.last_error = None
            self.set_idle_state(AccountState.CONNECTED)
        self.run_finished.emit(summary)
        self._call_when_idle()

    def _failed(self, error: D365SyncError) -> None:
        self._end_task()
        self.last_error = error
        state = classify(error)
        log.info("synchronization failed: %s", error)
        text = engine_text(error.user_text)
        self._take_server_values()
        delay = self.schedule.after_error(error)
        if state is AccountState.NOT_SYNC_COMPUTER:
            self._schedule(self.interval)
            self.set_idle_state(state, text)
        elif delay is not None:
            self._schedule(delay)
            self.set_idle_state(state, self._retry_text(text))
        else:  # will not heal by itself (sign-in, configuration): only "Retry now"
            self._set_next(None)
            self.timer.stop()
            self.set_idle_state(state, text)
        self.run_failed.emit(error)
        self._call_when_idle()

    def _retry_text(self, reason: str) -> str:
        reason = reason.rstrip(". ")
        if self._paused or self.next_run is None:
            return reason + "."
        return self.tr("{reason}; retrying at {time}.").format(reason=reason, time=clock_text(self.next_run))
