"""The status window: the home screen after setup (UI.md, "Status window").

It shows the account state, the mailbox and which computer synchronizes, a row per kind (last run, next run,
counts per direction, issues), the progress of a running sync, conflicts to decide with both values side by
side, and the last errors with "Retry now". It reads the status through a ``load_status`` callable (local
SQLite, no network) and talks to the engine only through :class:`~wizard.ui.engine_adapter.EngineAdapter`;
anything that may touch the network (resolving a conflict, checking the account) runs on a worker. The account
check (``wizard.app.status.check_account``) is the one source of what the setup allows: it runs at start, after
the wizard closes and after a switch, so the window never contradicts what the wizard just did.
:func:`wizard.ui.status.compose.build_status_window` puts it together over the application layer
(``wizard.app.status``, ``wizard.app.conflicts``, ``wizard.app.offline``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import shiboken6
from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from wizard.app.status import AccountCheck, WizardPage
from wizard.errors import D365SyncError
from wizard.sync.engine import KindResult, RunSummary
from wizard.sync.run import RunStatus
from wizard.ui.account_state import AccountState
from wizard.ui.engine_adapter import EngineAdapter, clock_text, wizard_page_for
from wizard.ui.engine_texts import kind_title
from wizard.ui.engine_texts import translate as engine_text
from wizard.ui.icons import icon
from wizard.ui.log_view import LogView, SignalLogHandler
from wizard.ui.status.activity import entries as activity_entries
from wizard.ui.status.model import (
    MAILBOX_KINDS,
    KindRow,
    LoadStatus,
    OrgSwitch,
    Resolve,
    StatusView,
    SwitchOrg,
)
from wizard.ui.status.offline_cards import OfflineDecisionCard
from wizard.ui.status.widgets import ConflictCard, ErrorLine, KindTable, number
from wizard.ui.sync_org import change_sync_org_question
from wizard.ui.widgets import ask, fit_to_screen, heading, hint
from wizard.ui.workers import TaskRunner

log = logging.getLogger(__name__)


class StatusWindow(QMainWindow):
    """The home screen. ``load_status`` reads the state DB and profile (no network); ``resolve`` decides a
    conflict; ``check_account`` (optional) says whether the account can synchronize and who does
    (:class:`~wizard.app.status.AccountCheck`). All three run on a worker. ``open_wizard(page)`` shows the
    Configuration Wizard on that page and returns when it is closed (modal); the window checks again then."""

    refreshed = Signal()

    def __init__(
        self,
        adapter: EngineAdapter,
        load_status: LoadStatus,
        *,
        resolve: Resolve,
        check_account: Callable[[], AccountCheck] | None = None,
        open_wizard: Callable[[WizardPage], None] | None = None,
        settings: QSettings | None = None,
        log_handler: SignalLogHandler | None = None,
        switch_org: SwitchOrg | None = None,
        resolve_offline: Callable[[int, str], object] | None = None,
    ) -> None:
        super().__init__()
        self.adapter = adapter
        self.load_status = load_status
        self.resolve = resolve
        self.resolve_offline = resolve_offline  # (offline conflict id, "local" | "server"); on a worker
        self.check_account = check_account
        self.checking = False  # an account check is on its way (the mailbox line says "checking…")
        self.setup_page = WizardPage.NONE  # where the wizard fixes what the last check found missing
        self.switch_org = switch_org
        self.switching = (
            False  # from choosing another organization until the new one runs (or nothing changed)
        )
        self.open_wizard_callback = open_wizard
        self.settings = settings
        self.hide_on_close = False  # set when a tray icon keeps the app running
        self.confirm: Callable[[str, str], bool] = self._ask  # tests replace it
        self.runner = TaskRunner(self)
        self._refresh_seq = 0
        self.view = StatusView()
        self.run_error: tuple[str | None, str] | None = None  # a failure of a whole run
        self.setup_text = ""  # what the setup lacks (its line offers the wizard instead of a retry)
        self.cards: list[ConflictCard] = []
        self.offline_cards: list[OfflineDecisionCard] = []
        self.error_lines: list[ErrorLine] = []
        self.log_handler = log_handler or SignalLogHandler()
        self._own_handler = log_handler is None
        self.log_view = LogView(self)
        self.log_view.attach(self.log_handler)
        if self._own_handler:
            logging.getLogger().addHandler(self.log_handler)
        self._build()
        self._connect()
        self.refresh()
        self._show_state(adapter.state.state, adapter.state.detail)
        if settings is not None:
            geometry = settings.value("status/geometry")
            if geometry is not None:
                self.restoreGeometry(geometry)

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.setWindowIcon(icon("app"))
        self.resize(fit_to_screen(self, QSize(760, 560)))
        central = QWidget(self)
        self.setCentralWidget(central)

        self.title = QLabel(central)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.state_icon = QLabel(central)
        self.state_icon.setFixedSize(18, 18)
        self.state_label = QLabel(central)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.state_icon)
        header.addWidget(self.state_label)
        self.state_detail = QLabel(central)
        self.state_detail.setWordWrap(True)
        self.state_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_detail.hide()
        self.mailbox_line = QLabel(central)
        self.mailbox_line.setWordWrap(True)
        self.mailbox_line.setTextFormat(Qt.TextFormat.PlainText)
        self.org_combo = QComboBox(central)
        self.org_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.org_combo.setAccessibleName(self.tr("Synchronizing organization"))
        self.org_combo.setToolTip(
            self.tr("Only this organization synchronizes email, contacts, appointments and tasks")
        )
        self.org_label = QLabel(self.tr("Synchronizing &organization:"), central)
        self.org_label.setBuddy(self.org_combo)
        org_row = QHBoxLayout()
        org_row.addWidget(self.org_label)
        org_row.addWidget(self.org_combo)
        org_row.addStretch(1)

        self.table_caption = heading(self.tr("&Synchronization"), central)
        self.table = KindTable(central)
        self.table_caption.setBuddy(self.table)

        self.progress_bar = QProgressBar(central)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedWidth(220)
        self.progress_bar.setAccessibleName(self.tr("Synchronization progress"))
        self.progress_label = QLabel(central)
        self.progress_label.setBuddy(self.progress_bar)
        self.progress_row = QWidget(central)
        progress = QHBoxLayout(self.progress_row)
        progress.setContentsMargins(0, 0, 0, 0)
        progress.addWidget(self.progress_bar)
        progress.addWidget(self.progress_label, 1)
        self.progress_row.hide()

        self.issues_caption = heading(self.tr("Needs your attention"), central)
        self.issues = QWidget()
        self.issues_layout = QVBoxLayout(self.issues)
        self.issues_layout.setContentsMargins(0, 0, 0, 0)
        self.nothing_label = hint(self.tr("Nothing needs your attention."), self.issues)
        self.issues_layout.addWidget(self.nothing_label)
        self.issues_layout.addStretch(1)
        self.issues_area = QScrollArea(central)
        self.issues_area.setWidgetResizable(True)
        self.issues_area.setFrameShape(QFrame.Shape.NoFrame)
        self.issues_area.setWidget(self.issues)
        self.issues_area.setAccessibleName(self.tr("Conflicts and errors"))
        self.issues_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its buttons take focus, it scrolls to them

        self.sync_button = QPushButton(icon("sync"), self.tr("Sync &now"), central)
        self.pause_button = QPushButton(self.tr("&Pause"), central)
        self.wizard_button = QPushButton(self.tr("Open the &wizard…"), central)
        self.wizard_button.setEnabled(self.open_wizard_callback is not None)
        self.log_button = QPushButton(self.tr("&Log"), central)
        buttons = QHBoxLayout()
        for button in (self.sync_button, self.pause_button, self.wizard_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.log_button)

        layout = QVBoxLayout(central)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.state_detail)
        layout.addLayout(org_row)
        layout.addWidget(self.mailbox_line)
        layout.addSpacing(6)
        layout.addWidget(self.table_caption)
        layout.addWidget(self.table)
        layout.addWidget(self.progress_row)
        layout.addSpacing(6)
        layout.addWidget(self.issues_caption)
        layout.addWidget(self.issues_area, 1)
        layout.addLayout(buttons)

        order = [self.org_combo, self.table, self.sync_button, self.pause_button, self.wizard_button,
                 self.log_button]  # fmt: skip
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)
        self.sync_button.setFocus()

    def _connect(self) -> None:
        a = self.adapter
        a.state.state_changed.connect(self._show_state)
        a.run_started.connect(self._run_started)
        a.kind_started.connect(self._kind_started)
        a.progress.connect(self._progress)
        a.kind_finished.connect(self._kind_finished)
        a.run_finished.connect(self._run_finished)
        a.run_failed.connect(self._run_failed)
        a.running_changed.connect(self._running_changed)
        a.schedule_changed.connect(lambda when: self.table.set_next_run(when, paused=a.paused))
        self.sync_button.clicked.connect(self.sync_now)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.wizard_button.clicked.connect(self.open_wizard)
        self.log_button.clicked.connect(self.show_log)
        self.org_combo.activated.connect(self._org_chosen)

    # -- commands -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Check the account (on a worker), then run now, only schedule (another computer synchronizes, or
        paused), or say what to set up first (nothing runs or retries until the setup changes)."""
        if self.check_account is None:
            self._go()
            return
        self.adapter.state.set_state(AccountState.CONNECTING)
        self.checking = True
        self._show_mailbox()
        check = self.check_account
        self.runner.run(
            "Check the account",
            lambda _ctx: check(),
            on_success=self._account_checked,
            on_failure=self._check_failed,
        )

    def _check_failed(self, error: D365SyncError) -> None:
        log.info("account check failed: %s", error)
        self.checking = False
        self._show_mailbox()
        self._go()  # the run reports the real failure

    def _account_checked(self, check: AccountCheck) -> None:
        self.checking = False
        self.setup_page = check.page
        if check.claim is not None:
            self.view.is_sync_computer, self.view.sync_computer = check.claim
        if not check.ready:
            self._not_set_up(check.user_text)
        elif check.claim is not None and not check.claim.this_computer:
            self.adapter.start(run_now=False)
            self._explain_not_sync_computer(check.claim.hostname)
        else:
            self._go()
        self._show_mailbox()

    def _go(self) -> None:
        """Run now; while paused only show that (nothing runs until Resume, which schedules the next run)."""
        if self.adapter.paused:
            self.adapter.set_idle_state(AccountState.CONNECTED)  # shown as Paused
            self.adapter.start(run_now=False)
        else:
            self.adapter.start()

    def _explain_not_sync_computer(self, hostname: str) -> None:
        """Another computer synchronizes (``hostname``): a choice, said in the header; none does: the setup is
        not complete, listed under "Needs your attention" with the wizard's Computer page."""
        if hostname:
            detail = self.tr(
                "{host} synchronizes your mailbox, so this computer does not. To synchronize here instead, "
                "open the wizard (Computer page)."
            ).format(host=hostname)
        else:
            detail = self.tr(
                "No computer synchronizes your mailbox yet. Open the wizard and make this computer the "
                "synchronizing client on the Computer page."
            )
            self.run_error, self.setup_text = (None, detail), detail
        self.adapter.set_idle_state(AccountState.NOT_SYNC_COMPUTER, detail)
        self._show_issues()

    def _not_set_up(self, what: str) -> None:
        """Nothing can run until the setup is completed: say what to do in the header and under "Needs your
        attention" (nothing is scheduled or retried until the setup changes)."""
        text = engine_text(what)
        self.run_error = (None, text)
        self.setup_text = text
        self.adapter.set_idle_state(AccountState.NOT_CONFIGURED, text)
        self._show_issues()

    def setup_changed(self) -> None:
        """The setup may have changed (the wizard was closed: a switch, a bind, a claim): stop the engine (a
        running sync finishes first), forget what was known of the old setup, reload and check again."""
        if self.switching:
            return
        self.switching = True
        self._update_buttons()
        self.adapter.hold(self._restart)

    def _restart(self) -> None:
        self.adapter.reset()
        self.run_error, self.setup_text = None, ""
        self.view.is_sync_computer, self.view.sync_computer = None, ""
        self.switching = False
        self.adapter.release(schedule=False)
        self.refresh()
        self.start()
        self._update_buttons()

    def sync_now(self) -> None:
        self.adapter.sync_now(fresh=True)  # the user asked: nothing kept from earlier runs is trusted

    def retry(self, kind: str | None) -> None:
        self.adapter.sync_now([kind] if kind else None, fresh=True)

    def force(self, kind: str | None) -> None:
        """A kind stopped before deleting many items: run it with ``force`` once the user confirms."""
        title = self.tr("Synchronize anyway?")
        text = self.tr(
            "{kind} stopped because the run would delete many items. Synchronize anyway and delete them?"
        ).format(kind=kind_title(kind) if kind else self.tr("The synchronization"))
        if self.confirm(title, text):
            self.adapter.sync_now([kind] if kind else None, force=True, fresh=True)

    def _ask(self, title: str, text: str) -> bool:
        return ask(self, title, text)

    # -- switching the synchronizing organization --------------------------------------------------------
    def _org_chosen(self, index: int) -> None:
        org_id = self.org_combo.itemData(index)
        if org_id and org_id != self.view.sync_org_id:
            self.switch_to(str(org_id))

    def switch_to(self, org_id: str) -> None:
        """Make ``org_id`` the synchronizing organization: stop the engine (a running sync finishes first),
        ask as the original did, flip the server flags on a worker, then start the engine for the new
        organization with its own state. Declined or failed: nothing changes and the schedule goes on."""
        if self.switch_org is None or self.switching:
            return
        names = dict(self.view.organizations)
        if org_id not in names:
            return
        self.switching = True
        self._update_buttons()
        if self.adapter.running:
            self.progress_label.setText(self.tr("Waiting for the running synchronization to finish…"))
        self.adapter.hold(lambda: self._ask_switch(org_id, names))

    def _ask_switch(self, org_id: str, names: dict[str, str]) -> None:
        current = names.get(self.view.sync_org_id) if self.view.sync_org_id else None
        queued = self.view.queued_offline.get(self.view.sync_org_id, 0) if current is not None else 0
        title, text = change_sync_org_question(current, names[org_id], queued)
        if not self.confirm(title, text):
            self._switch_ended("resume")
            return
        switch = self.switch_org
        assert switch is not None
        self.adapter.state.set_state(
            AccountState.CONNECTING,
            self.tr("Making {0} the synchronizing organization…").format(names[org_id]),
        )
        self.runner.run(
            "Switch the synchronizing organization",
            lambda _ctx: switch(org_id),
            on_success=lambda outcome: self._switched(org_id, outcome),
            on_failure=self._switch_failed,
        )

    def _switched(self, org_id: str, outcome: OrgSwitch) -> None:
        """The flags are flipped and the profile saved: show the new organization's own state, then run."""
        self.adapter.reset()
        self.view = StatusView(  # nothing of the old organization's status (claim, kinds) carries over
            org_name=outcome.org_name, organizations=self.view.organizations, sync_org_id=org_id
        )
        self.run_error, self.setup_text = None, ""
        if outcome.failed:
            lines = [f"{name}: {engine_text(text)}" for name, text in outcome.failed.items()]
            head = self.tr("{0} is now your synchronizing organization, but these could not be updated:")
            self.run_error = (None, "\n".join([head.format(outcome.org_name), *lines]))
        if outcome.mailbox_text:  # nothing can run until the mailbox is bound there: say what to do
            self.setup_page = WizardPage.MAILBOX
            self._switch_ended("idle")
            self._not_set_up(outcome.mailbox_text)
        else:
            self._switch_ended("start")
        self.refresh()

    def _switch_failed(self, error: D365SyncError) -> None:
        """Nothing was changed (the chosen organization refused, or a sync of another process held the
        lock): say so and go on with the organization that synchronized."""
        self.run_error = (None, engine_text(error.user_text))
        self.adapter.show_idle()
        self._switch_ended("resume")
        self.refresh()

    def _switch_ended(self, then: str) -> None:
        """``then``: "resume" the schedule, "start" the engine for the new organization (claim check, run),
        or stay "idle" (nothing can run yet)."""
        self.switching = False
        self._show_orgs()
        self.adapter.release(schedule=then == "resume")
        if then == "start":
            self.start()
        self._update_buttons()

    def _show_orgs(self) -> None:
        """The combo lists the configured organizations with the synchronizing one selected (none: a
        "(none)" entry that says messaging data does not synchronize)."""
        combo = self.org_combo
        combo.blockSignals(True)
        combo.clear()
        if not self.view.sync_org_id:
            combo.addItem(self.tr("(none: messaging data is not synchronized)"), "")
        for org_id, name in self.view.organizations:
            combo.addItem(name, org_id)
        index = combo.findData(self.view.sync_org_id)
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        self._update_buttons()

    def toggle_pause(self) -> None:
        if self.adapter.paused:
            self.adapter.resume()
        else:
            self.adapter.pause()
        self._update_buttons()
        self.table.set_next_run(self.adapter.next_run, paused=self.adapter.paused)

    def wizard_page(self) -> WizardPage:
        """The wizard page the state's message points to (the mailbox to bind, the computer to claim, the
        organization to sign in to again), or none."""
        state = self.adapter.state.state
        if state is AccountState.NOT_CONFIGURED and self.setup_page:
            return self.setup_page
        if state is AccountState.NOT_SYNC_COMPUTER:
            return WizardPage.COMPUTER
        if state in (AccountState.NOT_CONFIGURED, AccountState.SIGNED_OUT) and self.adapter.last_error:
            return wizard_page_for(self.adapter.last_error)
        return WizardPage.NONE

    def open_wizard(self) -> None:
        """Show the wizard on the page the current message points to; when it is closed, check the account
        again and reload (the wizard may have bound the mailbox, claimed this computer or switched)."""
        if self.open_wizard_callback is None:
            return
        self.open_wizard_callback(self.wizard_page())
        self.setup_changed()

    def show_log(self) -> None:
        self.log_view.show()
        self.log_view.raise_()
        self.log_view.activateWindow()

    def choose(self, conflict_id: int, use: str) -> None:
        """Resolve a conflict on a worker; the list reloads when it is done."""
        for card in self.cards:
            if card.conflict.id == conflict_id:
                card.set_busy(True)
        resolve = self.resolve
        self.runner.run(
            "Resolve conflict",
            lambda _ctx: resolve(conflict_id, use),
            on_success=lambda _r: self.refresh(),
            on_failure=self._resolve_failed,
        )

    def choose_offline(self, conflict_id: int, use: str) -> None:
        """Decide an offline change going online held (``wizard.app.offline.resolve_conflict``) on a worker;
        the list reloads when it is done (the next go-online sends what is queued)."""
        resolve = self.resolve_offline
        if resolve is None:
            return
        for card in self.offline_cards:
            if card.decision.id == conflict_id:
                card.set_busy(True)
        self.runner.run(
            "Offline decision",
            lambda _ctx: resolve(conflict_id, use),
            on_success=lambda _r: self.refresh(),
            on_failure=self._resolve_failed,
        )

    def _resolve_failed(self, error: D365SyncError) -> None:
        self.run_error = (None, engine_text(error.user_text))
        self.refresh()

    # -- the status from the state DB ---------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the status (state DB + profile) on a worker, then redraw all but the live progress;
        ``refreshed`` fires when the new status is shown."""
        self._refresh_seq += 1
        seq = self._refresh_seq
        load = self.load_status
        self.runner.run(
            "Load status",
            lambda _ctx: load(),
            on_success=lambda view: self._loaded(seq, view),
            on_failure=lambda error: self._load_failed(seq, error),
        )

    def _load_failed(self, seq: int, error: D365SyncError) -> None:
        log.warning("status not available: %s", error)
        self.run_error = (None, engine_text(error.user_text))
        self._loaded(seq, self.view)

    def _loaded(self, seq: int, view: StatusView) -> None:
        if seq != self._refresh_seq or not shiboken6.isValid(self.title):  # newer load on its way; deleted
            return
        for row in view.kinds:  # the state DB keeps the engine's English texts
            row.errors = [engine_text(e) for e in row.errors]
        known = (self.view.is_sync_computer, self.view.sync_computer)
        self.view = view
        if view.is_sync_computer is None:
            view.is_sync_computer, view.sync_computer = known
        name = view.org_name or self.tr("no synchronizing organization")
        self.title.setText(f"d365sync — {name}")
        self.setWindowTitle(name)  # Qt appends the application's display name: "Contoso Sales — d365sync"
        self._show_mailbox()
        if not self.switching:
            self._show_orgs()
        self.table.show_kinds(view.kinds)
        self.log_view.set_activity(activity_entries(view.activity))
        self.table.set_next_run(self.adapter.next_run, paused=self.adapter.paused)
        self._show_issues()
        self._update_buttons()
        self.refreshed.emit()

    def _show_mailbox(self) -> None:
        v = self.view
        if not v.mailbox_address:
            self.mailbox_line.setText(self.tr("No mailbox is bound. Open the wizard to bind your mailbox."))
            return
        kind = MAILBOX_KINDS.get(v.mailbox_kind, v.mailbox_kind)
        if self.adapter.state.state is AccountState.NOT_CONFIGURED:
            who = self.tr("not set up for this organization (see above)")
        elif v.is_sync_computer:
            who = self.tr("this computer synchronizes")
        elif v.is_sync_computer is False:
            who = (
                self.tr("{host} synchronizes, not this computer").format(host=v.sync_computer)
                if v.sync_computer
                else self.tr("no computer synchronizes yet")
            )
        elif self.checking:
            who = self.tr("checking which computer synchronizes…")
        else:  # not known (Dynamics 365 did not answer): the state line says what happened
            self.mailbox_line.setText(
                self.tr("Mailbox {address} ({kind})").format(address=v.mailbox_address, kind=kind)
            )
            return
        self.mailbox_line.setText(
            self.tr("Mailbox {address} ({kind}) · {who}").format(
                address=v.mailbox_address, kind=kind, who=who
            )
        )

    def _show_issues(self) -> None:
        for widget in [*self.cards, *self.offline_cards, *self.error_lines]:
            widget.setParent(None)
            widget.deleteLater()
        self.cards, self.offline_cards, self.error_lines = [], [], []
        position = 0
        for conflict in self.view.conflicts:
            card = ConflictCard(conflict, self.choose, self.issues)
            card.set_busy(self.adapter.running)
            self.issues_layout.insertWidget(position, card)
            self.cards.append(card)
            position += 1
        for decision in self.view.offline_decisions if self.resolve_offline is not None else []:
            offline_card = OfflineDecisionCard(decision, self.choose_offline, self.issues)
            self.issues_layout.insertWidget(position, offline_card)
            self.offline_cards.append(offline_card)
            position += 1
        errors: list[tuple[str | None, str]] = [(k.kind, e) for k in self.view.kinds for e in k.errors]
        if self.run_error is not None and self.run_error not in errors:
            errors.insert(0, self.run_error)
        waiting = {k.kind for k in self.view.kinds if k.last_status == "needs_confirmation"}
        for kind, text in errors:
            if kind is None and text == self.setup_text:
                line = ErrorLine(kind, text, lambda _kind: self.open_wizard(), self.issues, setup=True)
            elif kind in waiting:
                line = ErrorLine(kind, text, self.force, self.issues, needs_confirmation=True)
            else:
                line = ErrorLine(kind, self._with_retry_time(text), self.retry, self.issues)
            self.issues_layout.insertWidget(position, line)
            self.error_lines.append(line)
            position += 1
        self.nothing_label.setVisible(not (self.cards or self.offline_cards or self.error_lines))
        self._chain_issue_focus()

    def _with_retry_time(self, text: str) -> str:
        text = text.rstrip()
        when = self.adapter.next_run
        if self.adapter.paused or when is None or "retrying at" in text:
            return text
        return self.tr("{text} Retrying at {time}.").format(
            text=text if text.endswith(".") else text + ".", time=clock_text(when)
        )

    def _chain_issue_focus(self) -> None:
        chain: list[QWidget] = [self.table]
        for card in self.cards:
            chain += [card.use_mailbox, card.use_crm]
        for offline_card in self.offline_cards:
            chain += [offline_card.use_local, offline_card.use_server]
        chain += [line.retry for line in self.error_lines]
        chain.append(self.sync_button)
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    # -- engine events ------------------------------------------------------------------------------
    def _show_state(self, state: AccountState, detail: str) -> None:
        self.state_icon.setPixmap(icon(state.icon_name).pixmap(16, 16))
        self.state_label.setText(state.text)
        self.state_label.setAccessibleName(self.tr("Account state: {state}").format(state=state.text))
        self.state_detail.setText(detail)
        self.state_detail.setVisible(bool(detail))
        self.state_label.setAccessibleDescription(detail)
        if state is AccountState.NOT_SYNC_COMPUTER:
            self.view.is_sync_computer = False
        self._show_mailbox()
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.sync_button.setEnabled(not self.adapter.running and not self.switching)
        choices = len(self.view.organizations) > 1 or (self.view.organizations and not self.view.sync_org_id)
        self.org_combo.setEnabled(self.switch_org is not None and bool(choices) and not self.switching)
        self.pause_button.setText(self.tr("&Resume") if self.adapter.paused else self.tr("&Pause"))
        self.pause_button.setAccessibleName(self.pause_button.text().replace("&", ""))

    def _running_changed(self, running: bool) -> None:
        self._update_buttons()
        for card in self.cards:  # applying a value needs the engine's lock: not while a run holds it
            card.set_busy(running)
        if not running:
            self.progress_row.hide()

    def _run_started(self, kinds: list[str]) -> None:
        self.run_error, self.setup_text = None, ""
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText(self.tr("Starting…"))
        self.progress_row.show()

    def _kind_started(self, kind: str) -> None:
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText(self.tr("{kind}: starting…").format(kind=kind_title(kind)))
        self.progress_row.show()

    def _progress(self, kind: str, done: int, total: int, message: str) -> None:
        if total >= 0:
            self.progress_bar.setRange(0, max(total, 1))
            self.progress_bar.setValue(min(done, max(total, 1)))
            text = self.tr("{kind}: {done} of {total}").format(
                kind=kind_title(kind), done=number(done), total=number(total)
            )
        else:
            self.progress_bar.setRange(0, 0)
            text = self.tr("{kind}: {done}").format(kind=kind_title(kind), done=number(done))
        if message:
            text += f" — {engine_text(message)}"
        self.progress_label.setText(text)
        self.progress_row.show()

    def _kind_finished(self, result: KindResult) -> None:
        previous = self.table.rows.get(result.kind, KindRow(result.kind))
        conflicts = previous.conflicts + result.to_crm.conflicts + result.to_mailbox.conflicts
        failed = result.status in ("error", "needs_confirmation")
        errors = [engine_text(result.message)] if failed and result.message else []
        self.table.update_kind(
            KindRow(
                kind=result.kind,
                last_run=datetime.now(UTC),
                last_status=result.status,
                to_mailbox=result.to_mailbox,
                to_crm=result.to_crm,
                conflicts=conflicts,
                errors=errors,
            )
        )

    def _run_finished(self, summary: RunSummary) -> None:
        """A run that got past the engine's claim check (it has a run id) shows that this computer
        synchronizes; one that stopped there says it does not."""
        self.progress_row.hide()
        if summary.status == RunStatus.NOT_SYNC_COMPUTER:  # the engine's claim check said so (again)
            self.view.is_sync_computer = False
            if self.setup_page is WizardPage.COMPUTER or self.view.sync_computer:  # the check told who
                self._explain_not_sync_computer(self.view.sync_computer)
        elif summary.run_id is not None:
            self.view.is_sync_computer, self.view.sync_computer = True, ""
        self._show_mailbox()
        self.refresh()

    def _run_failed(self, error: D365SyncError) -> None:
        self.progress_row.hide()
        self.run_error = (None, engine_text(error.user_text))
        self.refresh()

    # -- window -------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """With a tray icon closing only hides the window (the tray's Quit ends the app); without one the
        window is the app."""
        if self.settings is not None:
            self.settings.setValue("status/geometry", self.saveGeometry())
        if self.hide_on_close:
            event.ignore()
            self.hide()
            return
        self.dispose()
        super().closeEvent(event)

    def dispose(self) -> None:
        """Detach from the root logger (once; the window may be closed and then quit)."""
        if self._own_handler:
            logging.getLogger().removeHandler(self.log_handler)
            self._own_handler = False
