"""The status window's Offline filters dialog: the wizard's list of offline filters, by keyboard, saved on
Enter, dropped on Escape, read-only while offline; and the offline line after a go-online that stopped
(issue 14, items 1 and 4)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QTreeWidgetItem

from tests.gui.helpers import TIMEOUT
from tests.support.profiles import signed_in_profile
from wizard.app import offline
from wizard.app.factory import Factory
from wizard.app.offline import OfflineStatus
from wizard.odata.errors import NetworkError
from wizard.sandbox import Sandbox
from wizard.ui import i18n
from wizard.ui.offline_entry import OfflinePanel
from wizard.ui.offline_filters import ID_ROLE, OfflineFilterList
from wizard.ui.pages.offline import OfflinePage
from wizard.ui.status.offline_filters import OfflineFiltersDialog


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def signed_in(sandbox: Sandbox, isolated_home: Path) -> Factory:
    factory = signed_in_profile(sandbox)
    client = factory.dataverse(factory.require_sync_org())
    for name in ("Anna", "Jörg", "Nina"):
        client.create("contacts", {"lastname": name})
    return factory


@pytest.fixture
def window(qtbot: Any, signed_in: Factory) -> Iterator[Any]:
    from wizard.ui.status import build_status_window

    made = build_status_window(signed_in)
    qtbot.addWidget(made)
    made.show()
    panel = made.offline_panel  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.status is not None, timeout=TIMEOUT)
    yield made
    made.adapter.shutdown(10000)
    made.runner.wait_all(5000)
    made.dispose()


@pytest.fixture
def german(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(i18n.LANG_ENV, "de")
    i18n.install_translations(qapp)
    yield
    i18n.remove_translations()


def _open(qtbot: Any, window: Any) -> OfflineFiltersDialog:
    """Tab to Offline filters… and press Space, as a keyboard user does."""
    panel: OfflinePanel = window.offline_panel
    panel.filters_button.setFocus()
    qtbot.keyClick(panel.filters_button, Qt.Key.Key_Space)
    dialog = panel.filters_dialog
    assert isinstance(dialog, OfflineFiltersDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: bool(dialog.view) and not dialog.runner.busy, timeout=TIMEOUT)
    return dialog


def _table_count(item: QTreeWidgetItem) -> str:
    parent = item.parent()
    assert parent is not None
    return parent.text(1)


def _first_filter(tree: OfflineFilterList, table: str) -> QTreeWidgetItem:
    for index in range(tree.topLevelItemCount()):
        parent = tree.topLevelItem(index)
        if parent is not None and parent.text(0) == table and parent.child(0) is not None:
            return parent.child(0)  # type: ignore[return-value]
    raise AssertionError(f"no filter of {table}")


def _server_filter(factory: Factory, filter_id: str) -> bool:
    return next(f for f in offline.list_filters(factory) if f.id == filter_id).active


def _mnemonic_clashes(texts: list[str]) -> list[str]:
    keys = [m.group(1).lower() for t in set(texts) for m in [re.search(r"&([^&\s])", t)] if m]
    return sorted({k for k in keys if keys.count(k) > 1})


def test_the_status_window_offers_the_offline_filters_next_to_records(qtbot: Any, window: Any) -> None:
    panel: OfflinePanel = window.offline_panel
    assert panel.filters_button.isVisibleTo(window)
    assert panel.records_button.nextInFocusChain() is panel.filters_button
    assert panel.filters_button.nextInFocusChain() is panel.go_button
    buttons = [b.text() for b in window.findChildren(QAbstractButton) if b.window() is window and b.text()]
    labels = [label.text() for label in window.findChildren(QLabel) if label.window() is window]
    assert "Offline filt&ers…" in buttons
    assert _mnemonic_clashes([*buttons, *labels]) == []


def test_toggled_with_the_keyboard_and_saved_with_enter(qtbot: Any, window: Any, signed_in: Factory) -> None:
    dialog = _open(qtbot, window)
    assert dialog.view == "online" and dialog.list.read_only is False
    assert "Saved changes apply" in dialog.intro.text()
    item = _first_filter(dialog.list, "Contacts")
    filter_id = str(item.data(0, ID_ROLE))
    assert item.checkState(0) == Qt.CheckState.Checked and item.text(1) == "3"
    assert _table_count(item) == "about 3"
    dialog.list.setFocus()
    dialog.list.setCurrentItem(item)
    qtbot.keyClick(dialog.list, Qt.Key.Key_Space)
    assert item.checkState(0) == Qt.CheckState.Unchecked
    assert dialog.changes == {filter_id: False}
    assert _table_count(item) == "0"  # the table's estimate follows (none: no "about")
    assert _server_filter(signed_in, filter_id)  # nothing written before Save
    qtbot.keyClick(dialog.list, Qt.Key.Key_Return)  # Enter: the default button, Save
    qtbot.waitUntil(lambda: window.offline_panel.filters_dialog is None, timeout=TIMEOUT)
    assert dialog.saved
    assert not _server_filter(signed_in, filter_id)
    assert offline.stored_filters(signed_in) == []  # no store yet: nothing remembered


def test_escape_closes_and_drops_the_changes(qtbot: Any, window: Any, signed_in: Factory) -> None:
    dialog = _open(qtbot, window)
    item = _first_filter(dialog.list, "Contacts")
    filter_id = str(item.data(0, ID_ROLE))
    dialog.list.setFocus()
    dialog.list.setCurrentItem(item)
    qtbot.keyClick(dialog.list, Qt.Key.Key_Space)
    assert dialog.changes == {filter_id: False}
    qtbot.keyClick(dialog.list, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.offline_panel.filters_dialog is None, timeout=TIMEOUT)
    assert not dialog.saved
    assert _server_filter(signed_in, filter_id)


def test_offline_the_dialog_shows_the_stored_filters_read_only(
    qtbot: Any, window: Any, signed_in: Factory
) -> None:
    offline.go_offline(signed_in)
    panel: OfflinePanel = window.offline_panel
    panel.refresh()
    qtbot.waitUntil(lambda: panel.offline, timeout=TIMEOUT)
    dialog = _open(qtbot, window)
    assert dialog.view == "stored"
    assert "You are offline" in dialog.intro.text()
    assert not dialog.save_button.isVisibleTo(dialog)
    assert dialog.cancel_button.text() == "&Close"
    item = _first_filter(dialog.list, "Contacts")
    assert not item.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert item.checkState(0) == Qt.CheckState.Checked
    assert _table_count(item) == "3"  # the records on this computer
    dialog.list.setFocus()
    dialog.list.setCurrentItem(item)
    qtbot.keyClick(dialog.list, Qt.Key.Key_Space)
    assert item.checkState(0) == Qt.CheckState.Checked and dialog.changes == {}
    qtbot.keyClick(dialog.list, Qt.Key.Key_Return)  # Close is the default now
    qtbot.waitUntil(lambda: panel.filters_dialog is None, timeout=TIMEOUT)


def test_when_dynamics_cannot_be_reached_the_stored_filters_are_shown(
    qtbot: Any, signed_in: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline.go_offline(signed_in)
    offline.go_online(signed_in)

    def unreachable(_factory: Factory) -> Any:
        raise NetworkError("refused", user_text="contoso refused the connection.")

    monkeypatch.setattr(offline, "list_filters", unreachable)
    dialog = OfflineFiltersDialog(signed_in)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: dialog.view == "stored" and not dialog.runner.busy, timeout=TIMEOUT)
    assert "cannot be reached" in dialog.intro.text()
    assert dialog.list.topLevelItemCount() >= 1 and dialog.list.read_only


def test_the_page_and_the_dialog_use_one_list(qtbot: Any, signed_in: Factory) -> None:
    from wizard.ui.controller import WizardController

    controller = WizardController(signed_in)
    page = OfflinePage(controller)
    dialog = OfflineFiltersDialog(signed_in)
    qtbot.addWidget(page)
    qtbot.addWidget(dialog)
    assert type(page.tree) is type(dialog.list) is OfflineFilterList
    controller.shutdown(1000)


def test_the_dialog_and_its_button_are_german(qtbot: Any, german: None, window: Any) -> None:
    panel: OfflinePanel = window.offline_panel
    assert panel.filters_button.text() == "Off&linefilter…"
    dialog = _open(qtbot, window)
    assert dialog.windowTitle() == "Offlinefilter"
    assert dialog.save_button.text() == "S&peichern"
    assert dialog.caption.text() == "Offline&filter:"
    assert dialog.intro.text().startswith("Wählen Sie die Datensätze")
    assert _table_count(_first_filter(dialog.list, "Kontakte")) == "etwa 3"
    dialog_texts = [dialog.save_button.text(), dialog.cancel_button.text(), dialog.caption.text()]
    assert _mnemonic_clashes(dialog_texts) == []
    buttons = [b.text() for b in window.findChildren(QAbstractButton) if b.window() is window and b.text()]
    assert "Off&linefilter…" in buttons
    assert _mnemonic_clashes(buttons) == []
    dialog.reject()


@pytest.mark.parametrize(
    ("stopped", "english", "german_text"),
    [
        (
            "contoso refused the connection.",
            "Offline — 3 changes not yet sent; going online stopped: contoso refused the connection.",
            "Offline — 3 Änderungen noch nicht gesendet; das Onlinegehen wurde angehalten: contoso refused "
            "the connection.",
        ),
        (
            offline.CANCELLED,
            "Offline — 3 changes not yet sent; going online stopped: you cancelled it",
            "Offline — 3 Änderungen noch nicht gesendet; das Onlinegehen wurde angehalten: Sie haben es "
            "abgebrochen",
        ),
    ],
)
def test_the_offline_line_after_a_go_online_that_stopped(
    qtbot: Any, qapp: Any, signed_in: Factory, monkeypatch: pytest.MonkeyPatch, stopped: str, english: str,
    german_text: str,
) -> None:  # fmt: skip
    panel = OfflinePanel(signed_in)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: not panel.runner.busy, timeout=TIMEOUT)
    status = OfflineStatus(offline.OFFLINE, "", {"contact": 3}, queued=4, held=1, stopped=stopped)
    panel.show_status(status)
    assert panel.line.text() == english
    assert panel.go_button.text() == "Go onl&ine"  # Go online offered again
    monkeypatch.setenv(i18n.LANG_ENV, "de")
    i18n.install_translations(qapp)
    try:
        fresh = OfflinePanel(signed_in)
        qtbot.addWidget(fresh)
        qtbot.waitUntil(lambda: not fresh.runner.busy, timeout=TIMEOUT)
        fresh.show_status(status)
        assert fresh.line.text() == german_text
    finally:
        i18n.remove_translations()


def test_the_go_online_dialog_says_you_are_still_offline_when_it_stopped(
    qtbot: Any, signed_in: Factory
) -> None:
    from wizard.offline.replay import ReplayResult
    from wizard.ui.offline_progress import GO_ONLINE, OfflineProgressDialog

    dialog = OfflineProgressDialog(signed_in, GO_ONLINE)
    qtbot.addWidget(dialog)
    stopped = offline.OnlineResult(
        ReplayResult(updated=2, failed=["contact 1: too long"]), None, online=False, waiting=1, stopped="x"
    )
    with qtbot.waitSignal(dialog.finished_work, timeout=TIMEOUT) as signal:
        dialog._succeeded(stopped)
    assert signal.args == [False]  # no messaging sync after it
    assert "you are still offline" in dialog.banner.text() and "You are online." not in dialog.banner.text()
    assert dialog.banner.kind == "warning"
