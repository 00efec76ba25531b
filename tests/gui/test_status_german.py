"""The status window in German (issue 12 item 6): every state it can be in — a good run, failed kinds,
conflicts, paused, offline, signed out, the claim lost to another computer, not set up, the engine process
crashed, a run in progress — rendered with the engine's and the application layer's real English texts, and
no English word of the English catalogue may be seen (labels, buttons, table cells, tooltips, the Log's
activity). The words come from the German catalogue's sources minus the words its translations use too."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QTreeWidget, QTreeWidgetItem, QWidget

from tests.gui.test_translations import LIVE
from wizard.app.factory import not_bound_text
from wizard.app.status import AccountCheck, RunActivity, WhoSynchronizes, WizardPage
from wizard.app.worker import EngineProcessFailed
from wizard.crm.auth import SIGN_IN_AGAIN, SignInRequired
from wizard.crm.records import Claim, ClaimHeldElsewhere
from wizard.errors import D365SyncError, Severity
from wizard.mailbox.ews.errors import translate_error
from wizard.odata.session import network_error
from wizard.sync.engine import KindCounts, KindResult, Reporter, RunSummary
from wizard.sync.run import KindRunStatus, RunStatus
from wizard.sync.state import ErrorRecord, RunCounts, RunRecord
from wizard.ui import i18n
from wizard.ui.account_state import AccountState
from wizard.ui.engine_adapter import EngineAdapter
from wizard.ui.status import ConflictView, KindRow, StatusView, StatusWindow
from wizard.ui.workers import TaskRunner

pytestmark = pytest.mark.gui
TIMEOUT = 10000

# Names that are the same in both languages (products, protocols) and what the test data itself says.
SAME_IN_GERMAN = {
    "dynamics", "exchange", "online", "microsoft", "outlook", "contoso", "sales", "test", "anna", "schmidt",
    "desktop", "laptop", "crm", "com", "ews", "https", "http", "smtp", "tls", "api", "data", "json",
}  # fmt: skip
WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")


def english_words() -> set[str]:
    """Words of the English catalogue that no German translation uses (lower case, 3 letters or more)."""
    english = {
        w.lower() for (_c, source, _m) in LIVE for w in WORD.findall(re.sub(r"\{\w*\}|<[^>]*>", " ", source))
    }
    german = {
        w.lower() for m in LIVE.values() for w in WORD.findall(re.sub(r"\{\w*\}|<[^>]*>", " ", m.translation))
    }
    return {w for w in english - german - SAME_IN_GERMAN if len(w) >= 3}


ENGLISH = english_words()


def _item_texts(item: QTreeWidgetItem) -> list[str]:
    """A tree item's cells and tooltips, and its children's."""
    texts = [item.text(c) for c in range(item.columnCount())]
    texts += [item.toolTip(c) for c in range(item.columnCount())]
    for i in range(item.childCount()):
        child = item.child(i)
        if child is not None:
            texts += _item_texts(child)
    return texts


def visible_texts(root: QWidget) -> list[str]:
    """What a user can read in a window: titles, labels, buttons, combo entries, table cells and headers, and
    the tooltips and accessible names of all of them (hidden widgets left out)."""
    texts = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) and widget is not root:
            continue
        texts += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
        if isinstance(widget, QLabel):
            texts.append(widget.text())
        elif isinstance(widget, QAbstractButton):
            texts.append(widget.text().replace("&", ""))
        elif isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        elif isinstance(widget, QTreeWidget):
            header = widget.headerItem()
            texts += [header.text(c) for c in range(header.columnCount())]

            for i in range(widget.topLevelItemCount()):
                top = widget.topLevelItem(i)
                if top is not None:
                    texts += _item_texts(top)
    return [t for t in texts if t]


def english_in(texts: Sequence[str]) -> list[str]:
    found = []
    for text in texts:
        words = {w.lower() for w in WORD.findall(re.sub(r"<[^>]*>|\S+@\S+|\S+\.\w{2,}\S*", " ", text))}
        if words & ENGLISH:
            found.append(f"{sorted(words & ENGLISH)} in {text!r}")
    return found


@pytest.fixture
def german(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(i18n.LANG_ENV, "de")
    i18n.install_translations(qapp)
    yield
    i18n.remove_translations()


class Engine:
    """Each run takes the next outcome: a RunSummary (reported kind by kind) or an error to raise."""

    def __init__(self, reporter: Reporter, outcomes: list[Any], gate: threading.Event | None) -> None:
        self.reporter, self.outcomes, self.gate = reporter, outcomes, gate

    def run_once(self, kinds: Any = None, **_: Any) -> RunSummary:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, D365SyncError):
            raise outcome
        if outcome == "progress":
            self.reporter.run_started(["contacts"])
            self.reporter.kind_started("contacts")
            self.reporter.progress("contacts", 620, 1000, "reading Dynamics 365 and the mailbox")
            assert self.gate is not None and self.gate.wait(10)
            outcome = summary(RunStatus.OK, [KindResult("contacts", KindCounts(), KindCounts())])
        self.reporter.run_started([k.kind for k in outcome.kinds])
        for result in outcome.kinds:
            self.reporter.kind_started(result.kind)
            self.reporter.kind_finished(result)
        return outcome


def summary(status: RunStatus, kinds: list[KindResult]) -> RunSummary:
    return RunSummary(1, datetime.now(UTC), datetime.now(UTC), status, kinds, [])


def test_every_state_of_the_status_window_is_german(qtbot: Any, german: None) -> None:
    assert {"synchronizing", "mailbox", "conflict", "retrying", "paused"} <= ENGLISH
    url = "https://contoso.crm4.dynamics.com/api/data/v9.2/contacts"
    offline = network_error(requests.exceptions.ConnectTimeout("timed out"), url)
    mailbox_down = translate_error(ConnectionError("connection refused"), server="mail.contoso.com")
    claimed_at = datetime.now(UTC) - timedelta(days=2)
    lost = ClaimHeldElsewhere(Claim("i-2", "ANNA-DESKTOP", claimed_at, claimed_at), lost=True)
    mass = (
        "contacts: this run would delete 12 of 20 items in the mailbox and 0 of 20 records in Dynamics 365. "
        "Nothing was changed. Run again with --yes to delete them."
    )
    gate = threading.Event()
    outcomes: list[Any] = [
        summary(RunStatus.OK, [KindResult("contacts", KindCounts(created=1), KindCounts(updated=3))]),  # ok
        summary(
            RunStatus.PARTIAL,
            [  # kinds failed: the mailbox cannot be reached, a mass delete waits
                KindResult("tasks", KindCounts(), KindCounts(), KindRunStatus.ERROR, mailbox_down.user_text),
                KindResult("contacts", KindCounts(), KindCounts(), KindRunStatus.NEEDS_CONFIRMATION, mass),
            ],
        ),
        offline,  # the organization cannot be reached
        SignInRequired("invalid_grant", user_text=SIGN_IN_AGAIN),  # signed out
        lost,  # another computer took over
        EngineProcessFailed(
            "exit 9",
            user_text="The synchronization stopped unexpectedly. The log file has the "
            "details; it will be tried again.",
        ),
        "progress",
    ]
    conflicts = [
        ConflictView(1, "contacts", "jobtitle", "Einkauf", "Purchasing", item="Jörg Bär", label="Job Title"),
        ConflictView(
            2, "contacts", "department", "Vertrieb", None, winner="crm", item="Jörg Bär", label="Department"
        ),
    ]
    today = datetime.now(UTC).isoformat()
    activity = [
        RunActivity(RunRecord(3, today, today, "ok", {("contacts", "to_mailbox"): RunCounts(updated=3)})),
        RunActivity(
            RunRecord(2, today, today, "partial", {}),
            [ErrorRecord(2, "tasks", Severity.KIND, mailbox_down.user_text, None)],
        ),
        RunActivity(RunRecord(1, "2026-01-05T09:00:00Z", None, "running", {})),
    ]
    view = StatusView(
        org_name="Contoso Sales", mailbox_address="anna.schmidt@contoso.com", mailbox_kind="exchange",
        kinds=[KindRow("contacts", conflicts=1, errors=[mass], last_status="needs_confirmation"),
               KindRow("tasks", errors=[mailbox_down.user_text], last_status="error"),
               KindRow("appointments", waiting=2), KindRow("email")],
        conflicts=conflicts, organizations=[("o1", "Contoso Sales"), ("o2", "Contoso Test")], sync_org_id="o1",
        activity=activity,
    )  # fmt: skip
    checks = [
        AccountCheck(False, not_bound_text("anna.schmidt@contoso.com", "Contoso Sales"), WizardPage.MAILBOX),
        AccountCheck(True, "", WizardPage.NONE, WhoSynchronizes(True, "ANNA-LAPTOP")),
    ]
    adapter = EngineAdapter(lambda r: Engine(r, outcomes, gate), runner=TaskRunner(pool=QThreadPool()))
    window = StatusWindow(adapter, lambda: view, resolve=lambda _i, _u: None, check_account=lambda: checks[0],
                          open_wizard=lambda _page: checks.__delitem__(0))  # fmt: skip
    adapter.setParent(window)
    qtbot.addWidget(window)
    seen: dict[str, list[str]] = {}

    def look(state: str) -> None:
        qtbot.waitUntil(lambda: not window.runner.busy and not adapter.running, timeout=TIMEOUT)
        window.log_view.show()
        texts = visible_texts(window) + visible_texts(window.log_view) + [adapter.state.display_text()]
        window.log_view.show_technical_log()
        texts += [window.log_view.toggle_button.text(), window.log_view.caption.text()]
        window.log_view.show_activity_page()
        window.log_view.hide()
        seen[state] = english_in(texts)

    def run(start: Callable[[], Any]) -> None:
        with qtbot.waitSignal(adapter.running_changed, timeout=TIMEOUT, check_params_cb=lambda r: not r):
            start()
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)

    try:
        with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
            window.show()
        window.start()  # the mailbox is not bound in the synchronizing organization
        qtbot.waitUntil(lambda: adapter.state.state is AccountState.NOT_CONFIGURED, timeout=TIMEOUT)
        look("not set up")
        run(window.open_wizard)  # bound in the wizard: the first run is good
        look("ok, conflicts")
        for state in ("kinds failed", "offline", "signed out", "claim lost", "engine crashed"):
            run(adapter.sync_now)
            look(state)
        window.toggle_pause()
        look("paused")
        window.toggle_pause()
        adapter.sync_now()
        qtbot.waitUntil(lambda: window.progress_row.isVisible() and "—" in window.progress_label.text(),
                        timeout=TIMEOUT)  # fmt: skip
        seen["running"] = english_in(visible_texts(window))
        gate.set()
        qtbot.waitUntil(lambda: not adapter.running, timeout=TIMEOUT)
    finally:
        gate.set()
        adapter.shutdown(5000)
        window.runner.wait_all(5000)
        window.dispose()
    assert list(seen) == ["not set up", "ok, conflicts", "kinds failed", "offline", "signed out", "claim lost",
                          "engine crashed", "paused", "running"]  # fmt: skip
    english = [f"{state}: {line}" for state, lines in seen.items() for line in lines]
    assert not english, "English in the German status window:\n" + "\n".join(english)


def test_the_check_finds_english(qtbot: Any) -> None:
    """The check itself: an English sentence of the catalogue is found, its German translation is not."""
    label = QLabel("Waiting for the running synchronization to finish…")
    qtbot.addWidget(label)
    assert english_in(visible_texts(label))
    german = LIVE[("StatusWindow", "Waiting for the running synchronization to finish…", "")].translation
    label.setText(german)
    assert not english_in(visible_texts(label))


# -- issue 12 item 17 in the status window: mnemonics on every button, one question style -------------------
@pytest.mark.parametrize("language", ["en", "de"])
def test_every_button_of_the_status_window_has_its_own_mnemonic(
    qtbot: Any, qapp: Any, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    monkeypatch.setenv(i18n.LANG_ENV, language)
    i18n.install_translations(qapp)
    view = StatusView(
        org_name="Contoso Sales", kinds=[KindRow("contacts", errors=["Something nobody listed."]),
                                         KindRow("tasks", errors=["x"], last_status="needs_confirmation")],
        conflicts=[ConflictView(1, "contacts", "jobtitle", "a", "b", item="Jörg Bär", label="Job Title")],
        organizations=[("o1", "Contoso Sales"), ("o2", "Contoso Test")], sync_org_id="o1",
    )  # fmt: skip
    adapter = EngineAdapter(lambda _r: None, runner=TaskRunner(pool=QThreadPool()))  # type: ignore[arg-type, return-value]
    window = StatusWindow(adapter, lambda: view, resolve=lambda _i, _u: None, open_wizard=lambda _p: None,
                          switch_org=lambda _o: None)  # type: ignore[arg-type, return-value]  # fmt: skip
    adapter.setParent(window)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
            window.show()

        def shown() -> list[QAbstractButton]:
            return [b for b in window.findChildren(QAbstractButton) if b.isVisibleTo(window) and b.text()]

        # Sync now, Pause, Open the wizard, Log, two conflict buttons, two error lines
        qtbot.waitUntil(lambda: len(shown()) >= 8, timeout=TIMEOUT)
        buttons = shown()
        without = [b.text() for b in buttons if not re.search(r"&[^&\s]", b.text())]
        assert not without, without
        labels = [label.text() for label in window.findChildren(QLabel)]
        texts = {t for t in [*(b.text() for b in buttons), *labels] if re.search(r"&[^&\s]", t)}
        keys = [re.search(r"&([^&\s])", t).group(1).lower() for t in texts]  # type: ignore[union-attr]
        assert sorted(k for k in set(keys) if keys.count(k) > 1) == [], sorted(texts)
    finally:
        window.runner.wait_all(5000)
        window.dispose()
        i18n.remove_translations()


def test_the_status_window_asks_yes_or_no(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its questions (synchronize anyway, switch the organization) are Yes/No questions with No as the
    default, as everywhere in the GUI (wizard.ui.widgets.ask), never OK/Cancel."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[Any] = []

    def question(parent: Any, title: str, text: str, buttons: Any, default: Any = None) -> Any:
        asked.append((buttons, default))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
    view = StatusView(org_name="Contoso Sales", organizations=[("o1", "Contoso Sales"), ("o2", "Contoso Test")],
                      sync_org_id="o1")  # fmt: skip
    adapter = EngineAdapter(lambda _r: None, runner=TaskRunner(pool=QThreadPool()))  # type: ignore[arg-type, return-value]
    window = StatusWindow(adapter, lambda: view, resolve=lambda _i, _u: None,
                          switch_org=lambda _o: None)  # type: ignore[arg-type, return-value]  # fmt: skip
    adapter.setParent(window)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
            window.show()
        window.force("contacts")
        window.switch_to("o2")
        qtbot.waitUntil(lambda: not window.switching, timeout=TIMEOUT)
        yes_no = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        assert asked == [(yes_no, QMessageBox.StandardButton.No)] * 2
        assert not adapter.running  # declined: nothing ran
    finally:
        window.runner.wait_all(5000)
        window.dispose()
