"""The Records window and Go offline / Go online with progress, against the Dataverse stand-in (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit

from tests.gui.helpers import TIMEOUT, click
from tests.support.profiles import signed_in_profile
from wizard.app import offline
from wizard.app.factory import Factory
from wizard.sandbox import Sandbox
from wizard.ui.offline_entry import OfflinePanel
from wizard.ui.offline_progress import GO_OFFLINE, GO_ONLINE, OfflineProgressDialog
from wizard.ui.records import RecordsWindow


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A fresh stand-in per test: each test goes offline and counts what it finds."""
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def signed_in(sandbox: Sandbox, isolated_home: Path) -> Factory:
    """A profile with Contoso Sales added and an account, two contacts and a task of the user."""
    factory = signed_in_profile(sandbox)
    client = factory.dataverse(factory.require_sync_org())
    account = client.create("accounts", {"name": "Fabrikam GUI"})
    client.create(
        "contacts",
        {
            "firstname": "Anna",
            "lastname": "Bär",
            "emailaddress1": "anna@fabrikam.example",
            "parentcustomerid_account@odata.bind": f"/accounts({account})",
        },
    )
    client.create("contacts", {"firstname": "Jörg", "lastname": "Zander", "telephone1": "555-0199"})
    return factory


@pytest.fixture
def make_records(qtbot: Any, signed_in: Factory) -> Iterator[Any]:
    made: list[RecordsWindow] = []

    def make() -> RecordsWindow:
        window = RecordsWindow(signed_in)
        window.confirm = lambda *_: True
        qtbot.addWidget(window)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.runner.wait_all(10000)


def _choose_table(qtbot: Any, window: RecordsWindow, name: str) -> None:
    window.table_combo.setCurrentIndex(window.table_combo.findData(name))
    qtbot.waitUntil(lambda: bool(window.form.fields) and not window.runner.busy, timeout=TIMEOUT)


def _select(qtbot: Any, window: RecordsWindow, name: str) -> None:
    qtbot.waitUntil(lambda: name in window.record_names(), timeout=TIMEOUT)
    window.list.selectRow(window.record_names().index(name))
    assert window.current is not None and window.current.name == name


def _go(qtbot: Any, factory: Factory, direction: str) -> OfflineProgressDialog:
    dialog = OfflineProgressDialog(factory, direction)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.finished_work, timeout=TIMEOUT):
        dialog.start()
    qtbot.waitUntil(lambda: not dialog.runner.busy, timeout=TIMEOUT)
    return dialog


def test_online_the_window_lists_searches_and_validates_before_saving(qtbot: Any, make_records: Any) -> None:
    window = make_records()
    _choose_table(qtbot, window, "contacts")
    qtbot.waitUntil(lambda: "Anna Bär" in window.record_names(), timeout=TIMEOUT)
    assert "Online" in window.mode_label.text()
    # the form comes from the metadata: labels, a required marker, a length, a lookup offering records
    # (the stand-in's first user works in German: uilanguageid 1031)
    last_name = next(f for f in window.form.fields if f.name == "lastname")
    assert last_name.label == "Nachname" and last_name.required
    assert window.form.labels["lastname"].text().replace("&", "") == "Nachname *"
    assert isinstance(window.form.editors["lastname"], QLineEdit)
    assert window.form.editors["lastname"].maxLength() < 1000
    lookup = window.form.editors["parentcustomerid"]
    assert isinstance(lookup, QComboBox)
    qtbot.waitUntil(lambda: lookup.findText("Fabrikam GUI") >= 0, timeout=TIMEOUT)

    window.search_box.setText("Zander")
    window.reload()
    qtbot.waitUntil(lambda: window.record_names() == ["Jörg Zander"], timeout=TIMEOUT)

    # a new record without its required field: the message names the field, nothing is sent
    click(qtbot, window.new_button)
    window.form.set_text("firstname", "Nina")
    click(qtbot, window.save_button)
    assert "Nachname is required." in window.banner.text()
    window.form.set_text("lastname", "Neu")
    click(qtbot, window.save_button)
    qtbot.waitUntil(lambda: window.banner.text() not in ("", "Saving…"), timeout=TIMEOUT)
    assert window.banner.text() == "Saved in Dynamics 365."
    names = [r.name for r in offline.list_records(window.factory, "contacts", search="Neu")]
    assert names == ["Nina Neu"]


def test_offline_edits_are_marked_not_sent_and_going_online_sends_them(
    qtbot: Any, signed_in: Factory, make_records: Any
) -> None:
    dialog = _go(qtbot, signed_in, GO_OFFLINE)
    assert "You are offline" in dialog.banner.text()
    assert dialog.counts["contact"].text() == "2"
    assert dialog.bars["contact"].value() == dialog.bars["contact"].maximum()

    window = make_records()
    _choose_table(qtbot, window, "contacts")
    qtbot.waitUntil(lambda: "Offline" in window.mode_label.text(), timeout=TIMEOUT)
    _select(qtbot, window, "Anna Bär")
    window.form.set_text("jobtitle", "Buyer")
    click(qtbot, window.save_button)
    qtbot.waitUntil(lambda: window.pending_names() == ["Anna Bär"], timeout=TIMEOUT)
    assert "sent when you go online" in window.banner.text()
    # the FTS5 search of the store
    window.search_box.setText("555-0199")
    window.reload()
    qtbot.waitUntil(lambda: window.record_names() == ["Jörg Zander"], timeout=TIMEOUT)
    _select(qtbot, window, "Jörg Zander")
    asked: list[str] = []

    def confirm(_title: str, text: str) -> bool:
        asked.append(text)
        return True

    window.confirm = confirm
    click(qtbot, window.delete_button)
    qtbot.waitUntil(lambda: "was deleted" in window.banner.text(), timeout=TIMEOUT)
    assert asked and "Jörg Zander" in asked[0]
    assert offline.offline_status(signed_in).queued == 2

    back = _go(qtbot, signed_in, GO_ONLINE)
    text = back.banner.text()
    assert "0 created, 1 updated, 1 deleted" in text and "You are online." in text
    assert offline.offline_status(signed_in).state == "online"


def test_a_cancelled_go_offline_leaves_nothing_changed(qtbot: Any, signed_in: Factory) -> None:
    dialog = OfflineProgressDialog(signed_in, GO_OFFLINE)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.finished_work, timeout=TIMEOUT) as done:
        dialog.start()
        dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.runner.busy, timeout=TIMEOUT)
    assert done.args == [False]
    assert "Cancelled" in dialog.banner.text()
    assert offline.offline_status(signed_in).state == "none"


def test_the_panel_says_offline_with_records_and_waiting_changes(qtbot: Any, signed_in: Factory) -> None:
    panel = OfflinePanel(signed_in)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.status is not None, timeout=TIMEOUT)
    assert "No records are kept" in panel.line.text()
    assert panel.go_button.text() == "Go o&ffline"
    _go(qtbot, signed_in, GO_OFFLINE)
    contact = offline.list_records(signed_in, "contacts")[0]
    offline.update_record(signed_in, "contacts", contact.id, {"jobtitle": "Chef"})
    panel.refresh()
    qtbot.waitUntil(lambda: "Offline" in panel.line.text(), timeout=TIMEOUT)
    assert "Offline — 3 records, last refreshed" in panel.line.text()
    assert "1 change waiting to be sent" in panel.line.text()
    assert panel.go_button.text() == "Go onl&ine" == panel.go_action.text()


def test_the_records_window_is_keyboard_operable_without_clipped_labels(
    qtbot: Any, make_records: Any
) -> None:
    window = make_records()
    _choose_table(qtbot, window, "accounts")
    assert not window.form.isEnabled()  # nothing to type into before a record is chosen or New is clicked
    click(qtbot, window.new_button)
    assert window.form.isEnabled()
    letters = []
    for label in window.findChildren(QLabel):
        text = label.text()
        if "&" in text.replace("&&", ""):
            assert label.buddy() is not None, text
            letters.append(text[text.replace("&&", "  ").index("&") + 1].casefold())
            assert (
                label.sizeHint().width() <= max(label.width(), label.minimumSizeHint().width())
                or label.wordWrap()
            )
    for button in (window.new_button, window.save_button, window.delete_button, window.close_button):
        letters.append(button.text()[button.text().index("&") + 1].casefold())
    assert len(letters) == len(set(letters)), letters


def test_a_record_deleted_in_dynamics_but_edited_offline_waits_for_a_decision(
    qtbot: Any, signed_in: Factory, make_records: Any
) -> None:
    _go(qtbot, signed_in, GO_OFFLINE)
    anna = offline.list_records(signed_in, "contacts", search="Anna")[0]
    offline.update_record(signed_in, "contacts", anna.id, {"jobtitle": "Buyer"})
    signed_in.dataverse(signed_in.require_sync_org()).delete("contacts", anna.id)
    back = _go(qtbot, signed_in, GO_ONLINE)
    assert "need your decision" in back.banner.text()

    window = make_records()
    click(qtbot, window.decisions_button)
    dialog = window.decisions_dialog
    assert dialog is not None
    qtbot.waitUntil(
        lambda: dialog.tree.topLevelItemCount() == 1 and dialog.mine_button.isEnabled(), timeout=TIMEOUT
    )
    item = dialog.tree.topLevelItem(0)
    assert item is not None and item.text(1) == "the whole record"
    click(qtbot, dialog.mine_button)
    qtbot.waitUntil(lambda: dialog.decided == 1 and dialog.tree.topLevelItemCount() == 0, timeout=TIMEOUT)
    assert dialog.banner.kind == "ok"
    assert offline.list_conflicts(signed_in, unresolved_only=True) == []


def test_the_status_window_and_the_tray_offer_records_and_go_offline(qtbot: Any, signed_in: Factory) -> None:
    from wizard.ui.status import build_status_window
    from wizard.ui.tray import StatusTray

    window = build_status_window(signed_in)
    qtbot.addWidget(window)
    try:
        panel = window.offline_panel  # type: ignore[attr-defined]
        assert isinstance(panel, OfflinePanel)
        assert panel.refresh_job in window.adapter.jobs  # the background refresh: a second schedule
        qtbot.waitUntil(lambda: panel.status is not None, timeout=TIMEOUT)
        assert panel.line.text() == "No records are kept on this computer for working offline."
        assert window.wizard_button.nextInFocusChain() is panel.records_button
        assert panel.records_button.nextInFocusChain() is panel.filters_button
        assert panel.filters_button.nextInFocusChain() is panel.go_button
        tray = StatusTray(window, quit_app=lambda: None)
        texts = [action.text() for action in tray.menu.actions()]
        assert "Recor&ds…" in texts and "Go o&ffline" in texts
        panel.open_records()
        records = panel.records_window
        assert isinstance(records, RecordsWindow) and records.isVisible()
        qtbot.waitUntil(lambda: not records.runner.busy, timeout=TIMEOUT)
        records.close()
    finally:
        window.adapter.shutdown(10000)
        window.runner.wait_all(5000)
        window.dispose()


def test_the_records_window_opened_again_is_the_same_and_reads_the_mode_again(
    qtbot: Any, signed_in: Factory
) -> None:
    panel = OfflinePanel(signed_in)
    qtbot.addWidget(panel)
    panel.open_records()
    first = panel.records_window
    assert first is not None
    qtbot.waitUntil(lambda: first.status is not None and not first.runner.busy, timeout=TIMEOUT)
    assert "Online" in first.mode_label.text()
    first.close()
    _go(qtbot, signed_in, GO_OFFLINE)
    panel.open_records()
    assert panel.records_window is first and first.isVisible()
    qtbot.waitUntil(lambda: "Offline" in first.mode_label.text(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not first.runner.busy, timeout=TIMEOUT)
    first.close()


def test_offline_decisions_are_cards_under_needs_your_attention(qtbot: Any, signed_in: Factory) -> None:
    from wizard.ui.status import build_status_window

    _go(qtbot, signed_in, GO_OFFLINE)
    anna = offline.list_records(signed_in, "contacts", search="Anna")[0]
    offline.update_record(signed_in, "contacts", anna.id, {"jobtitle": "Buyer"})
    signed_in.dataverse(signed_in.require_sync_org()).delete("contacts", anna.id)
    _go(qtbot, signed_in, GO_ONLINE)

    window = build_status_window(signed_in)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: len(window.offline_cards) == 1, timeout=TIMEOUT)
        card = window.offline_cards[0]
        assert "deleted in Dynamics 365" in card.findChildren(QLabel)[0].text()
        assert card.use_local.text() == "Create it a&gain"
        assert card.use_server.text() == "Dr&op my change"
        assert not window.nothing_label.isVisibleTo(window.issues)
        assert card.use_server in _focus_chain(window)
        click(qtbot, card.use_server)
        qtbot.waitUntil(lambda: window.offline_cards == [] and not window.runner.busy, timeout=TIMEOUT)
        assert offline.list_conflicts(signed_in, unresolved_only=True) == []
        assert window.nothing_label.isVisibleTo(window.issues)
    finally:
        window.adapter.shutdown(10000)
        window.runner.wait_all(5000)
        window.dispose()


def _focus_chain(window: Any) -> list[Any]:
    seen: list[Any] = []
    widget = window.table.nextInFocusChain()
    while widget is not window.table and len(seen) < 200:
        seen.append(widget)
        widget = widget.nextInFocusChain()
    return seen


def test_each_offline_decision_card_names_its_two_choices(qtbot: Any) -> None:
    from PySide6.QtWidgets import QWidget

    from wizard.ui.status.model import OfflineDecisionView
    from wizard.ui.status.offline_cards import OfflineDecisionCard

    parent = QWidget()
    qtbot.addWidget(parent)
    chosen: list[tuple[int, str]] = []
    duplicate = OfflineDecisionView(
        1, "lead", "duplicate", None, {"lastname": "Bär"}, "duplicate", "Anna Bär"
    )
    field = OfflineDecisionView(2, "contact", "jobtitle", "Einkauf", "Buyer", "both_changed", "Anna Bär")
    deleted = OfflineDecisionView(3, "account", "*", None, None, "edited_on_server", "Fabrikam")
    cases = [
        (duplicate, "Create &anyway", "&Discard"),
        (field, "Keep &mine", "Keep the &server's"),
        (deleted, "Keep &mine", "Keep the &server's"),
    ]
    for view, mine, theirs in cases:
        card = OfflineDecisionCard(view, lambda i, u: chosen.append((i, u)), parent)
        assert (card.use_local.text(), card.use_server.text()) == (mine, theirs)
        card.use_local.click()
    assert chosen == [(1, "local"), (2, "local"), (3, "local")]
    field_card = OfflineDecisionCard(field, lambda i, u: None, parent)
    assert field_card.local_value.text() == "Buyer" and field_card.server_value.text() == "Einkauf"


def test_when_dynamics_cannot_be_reached_the_status_window_offers_go_offline(
    qtbot: Any, signed_in: Factory
) -> None:
    from datetime import UTC, datetime

    from wizard.odata.errors import NetworkError
    from wizard.sync.engine import RunSummary
    from wizard.sync.run import RunStatus
    from wizard.ui.status import build_status_window

    window = build_status_window(signed_in)
    qtbot.addWidget(window)
    try:
        panel = window.offline_panel  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: panel.status is not None and not panel.runner.busy, timeout=TIMEOUT)
        window.adapter.run_failed.emit(NetworkError("refused", user_text="Dynamics 365 cannot be reached."))
        qtbot.waitUntil(lambda: not panel.runner.busy, timeout=TIMEOUT)
        assert panel.unreachable
        assert "cannot be reached" not in panel.line.text()  # no store: nothing to go offline with
        _go(qtbot, signed_in, GO_OFFLINE)
        _go(qtbot, signed_in, GO_ONLINE)
        panel.refresh()
        qtbot.waitUntil(
            lambda: (
                "Dynamics 365 cannot be reached. Go offline to keep working with the 3 records"
                in panel.line.text()
            ),
            timeout=TIMEOUT,
        )
        assert panel.go_button.text() == "Go o&ffline" and panel.go_button.isEnabled()
        now = datetime.now(UTC)
        window.adapter.run_finished.emit(RunSummary(1, now, now, RunStatus.OK, [], []))  # through again
        qtbot.waitUntil(lambda: panel.line.text().startswith("Online — "), timeout=TIMEOUT)
        assert not panel.unreachable
    finally:
        window.adapter.shutdown(10000)
        window.runner.wait_all(5000)
        window.dispose()
