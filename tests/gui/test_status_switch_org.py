"""Switching the synchronizing organization from the status window, against the stand-ins: the engine is
stopped (a running sync finishes) before the server flags flip, a declined confirmation changes nothing, an
accepted one flips the flags in both organizations of the Dataverse stand-in, and each organization keeps its
own state DB, so switching back finds the first one's links intact (no duplicates)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gui.helpers import replies
from wizard.app import offline
from wizard.app.factory import Factory, NotConfigured
from wizard.app.instance import claim_instance
from wizard.app.mailbox import bind_mailbox
from wizard.app.orgs import connect_org, save_org
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.settings import MailboxBinding
from wizard.settings.enums import Kind
from wizard.sync.state import StateDB
from wizard.ui.account_state import AccountState
from wizard.ui.status import OrgSwitch, StatusWindow, build_status_window

pytestmark = pytest.mark.gui
TIMEOUT = 60000


def _mailbox_row(sandbox: Sandbox, unique_name: str) -> dict[str, Any]:
    env = sandbox.environment(unique_name)
    user_id = sandbox.directory.users[0].systemuserid(env.org)
    (row,) = [r for r in env.store.rows("mailboxes") if r.get("_regardingobjectid_value") == user_id]
    return dict(row)


def _flags(sandbox: Sandbox, unique_name: str) -> tuple[bool, bool]:
    row = _mailbox_row(sandbox, unique_name)
    return bool(row["isactsyncorgflagset"]), bool(row["orgmarkedasprimaryforexchangesync"])


def _links(path: Path) -> int:
    with StateDB.open(path) as state:
        return state.count_links(Kind.CONTACTS)


@pytest.fixture
def two_orgs(sandbox: Sandbox, isolated_home: Path) -> Iterator[tuple[Factory, str, str]]:
    """Contoso Sales (synchronizing, mailbox bound, this computer claimed) and Contoso Test; contacts only."""
    for unique_name in ("contososales", "contosotest"):  # as the stand-in starts (tests share the module's)
        row = _mailbox_row(sandbox, unique_name)
        sandbox.environment(unique_name).store.update("mailboxes", row["mailboxid"], {
            "isactsyncorgflagset": False, "orgmarkedasprimaryforexchangesync": False,
            "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2, "exchangesyncstatexml": "",
        })  # fmt: skip
    info = sandbox.port_info()
    user = info["users"][0]
    factory = Factory(locations().ensure())
    ids = []
    for env in info["environments"]:
        connected = connect_org(
            factory, env["url"], username=user["upn"], password=user["password"], ca_file=info["ca_file"]
        )
        save_org(factory, connected)
        ids.append(connected.org.id)
    sales, test = ids
    assert factory.profile.sync_org_id == sales
    claim_instance(factory, force=True)
    bind_mailbox(factory,
        MailboxBinding(address=user["primary_email"], kind="exchange", auth="basic",
                       autodiscover_url=info["autodiscover_url"], ca_file=info["ca_file"]),
        user["ews_password"],
    )  # fmt: skip
    factory.profile.sync.kinds = {"email": False, "contacts": True, "appointments": False, "tasks": False}
    factory.save()
    client = factory.dataverse(factory.require_sync_org())
    client.create("contacts", {"firstname": "Ilse", "lastname": "Umschalt-Statuswindow"})
    yield factory, sales, test


def _window(qtbot: Any, factory: Factory, **kwargs: Any) -> StatusWindow:
    window = build_status_window(factory, **kwargs)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
        window.show()
    return window


def _state(window: StatusWindow) -> AccountState:
    """The state, read fresh (a call, so type checkers do not narrow it between reads)."""
    return window.adapter.state.state


def _close(window: StatusWindow) -> None:
    window.adapter.shutdown(10000)
    window.runner.wait_all(10000)
    window.dispose()


def _choose(qtbot: Any, window: StatusWindow, org_id: str) -> None:
    """What a user does: pick the organization in the combo (activated, as a click or the keyboard does)."""
    index = window.org_combo.findData(org_id)
    assert index >= 0, org_id
    assert window.org_combo.isEnabled()
    window.org_combo.setCurrentIndex(index)
    window.org_combo.activated.emit(index)


def test_switch_org_stops_the_engine_asks_flips_flags_and_keeps_each_orgs_state(
    qtbot: Any, sandbox: Sandbox, two_orgs: tuple[Factory, str, str]
) -> None:
    factory, sales, test = two_orgs
    window = _window(qtbot, factory)
    adapter = window.adapter
    events: list[str] = []
    adapter.running_changed.connect(lambda running: events.append("run" if running else "stopped"))
    real_switch = window.switch_org
    assert real_switch is not None

    def switch(org_id: str) -> OrgSwitch:  # on the worker: record what the engine was doing when flags flip
        events.append(f"flip, engine running={adapter.running}")
        return real_switch(org_id)

    window.switch_org = switch
    try:
        assert [window.org_combo.itemText(i) for i in range(window.org_combo.count())] == [
            "Contoso Sales",
            "Contoso Test",
        ]
        with qtbot.waitSignal(adapter.run_finished, timeout=TIMEOUT) as first:
            window.start()
        assert first.args[0].status == "ok"
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)
        sales_db = factory.where.state_db
        assert sales_db == factory.where.org_state_db(sales)
        assert _links(sales_db) == 1

        # Declined: nothing changes (profile, flags, combo), and the schedule goes on.
        asked: list[str] = []
        window.confirm = replies(False, asked=asked)
        _choose(qtbot, window, test)
        qtbot.waitUntil(lambda: not window.switching, timeout=TIMEOUT)
        assert "from Contoso Sales to Contoso Test" in asked[0]
        assert factory.profile.sync_org_id == sales
        assert _flags(sandbox, "contososales") == (True, True)
        assert _flags(sandbox, "contosotest") == (False, False)
        assert window.org_combo.currentData() == sales
        assert adapter.timer.isActive() and not adapter.held
        assert not any(e.startswith("flip") for e in events)

        # Accepted while a sync runs: the run finishes first, then the flags flip in both organizations.
        window.confirm = replies(True)
        events.clear()
        assert adapter.sync_now()
        _choose(qtbot, window, test)
        assert window.switching and adapter.held
        assert not window.sync_button.isEnabled()
        qtbot.waitUntil(lambda: not window.switching and not window.runner.busy, timeout=TIMEOUT)
        assert events[0] == "run"  # the sync that was running when the user chose
        assert events.index("stopped") < events.index("flip, engine running=False")
        assert factory.profile.sync_org_id == test
        assert _flags(sandbox, "contosotest") == (True, True)
        assert _flags(sandbox, "contososales") == (False, False)
        # The mailbox is bound in Contoso Sales only: the window says what to do, nothing runs or retries.
        assert adapter.state.state is AccountState.NOT_CONFIGURED
        assert "not bound in Contoso Test" in window.state_detail.text()
        assert "Mailbox page" in window.state_detail.text()
        assert not adapter.timer.isActive() and not adapter.running
        assert window.org_combo.currentData() == test
        assert factory.where.state_db == factory.where.org_state_db(test)
        assert sales_db.exists() and _links(sales_db) == 1  # the first organization's state is untouched

        # Bound in Contoso Test too (the Mailbox page's step), then back to Contoso Sales: its mailbox record
        # is still bound, the binding follows, the engine starts on Sales' own state: nothing new is created.
        info = sandbox.port_info()
        binding = factory.profile.mailbox
        assert binding is not None
        bind_mailbox(factory, binding, info["users"][0]["ews_password"])
        assert factory.profile.mailbox is not None and factory.profile.mailbox.org_id == test
        with qtbot.waitSignal(adapter.run_finished, timeout=TIMEOUT) as back:
            _choose(qtbot, window, sales)
        summary = back.args[0]
        assert summary.status == "ok", [(k.kind, k.status, k.message) for k in summary.kinds]
        (contacts,) = summary.kinds
        assert contacts.to_mailbox.created == 0 and contacts.to_crm.created == 0
        assert factory.profile.sync_org_id == sales
        assert factory.profile.mailbox is not None and factory.profile.mailbox.org_id == sales
        assert _flags(sandbox, "contososales") == (True, True)
        assert _flags(sandbox, "contosotest") == (False, False)
        assert _links(sales_db) == 1
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)
        assert adapter.state.state is AccountState.CONNECTED, adapter.state.display_text()
    finally:
        _close(window)


def test_cli_set_sync_keeps_state_per_org_and_says_what_to_do(
    sandbox: Sandbox, two_orgs: tuple[Factory, str, str], isolated_home: Path
) -> None:
    """``d365sync orgs set-sync`` goes through the same Factory step: the old unscoped state DB is adopted by
    the organization that synchronized, and the new organization without a bound mailbox is named."""
    from tests.support.cli import run_cli

    factory, sales, test = two_orgs
    legacy = factory.where.legacy_state_db
    with StateDB.open(legacy) as state:  # a state DB as versions before per-organization state left it
        state.set_cursor(Kind.CONTACTS, "crm", "token-1")
    fresh = Factory(locations())
    assert fresh.where.state_db == legacy  # before the profile is read: the unscoped path
    assert fresh.profile.sync_org_id == sales
    assert fresh.where.state_db == fresh.where.org_state_db(sales)
    assert not legacy.exists()
    with StateDB.open(fresh.where.state_db) as state:
        assert state.cursor(Kind.CONTACTS, "crm") == "token-1"

    switched = run_cli(isolated_home, "orgs", "set-sync", test, "--yes")
    assert switched.returncode == 0, switched.stderr
    err = switched.stderr
    assert "not bound in Contoso Test" in err
    assert "d365sync mailbox bind" in err
    again = Factory(locations())
    assert again.profile.sync_org_id == test
    assert again.where.state_db == again.where.org_state_db(test)
    with StateDB.open(again.where.org_state_db(sales)) as state:  # Sales' state waits for the way back
        assert state.cursor(Kind.CONTACTS, "crm") == "token-1"
    with pytest.raises(NotConfigured) as refused:
        again.engine()
    assert "is not bound in Contoso Test" in refused.value.user_text


def test_a_running_engine_of_another_process_blocks_the_switch(
    qtbot: Any, sandbox: Sandbox, two_orgs: tuple[Factory, str, str]
) -> None:
    """The engine lock is held (another process synchronizes): the switch fails before any flag flips and
    the window says why; the schedule of the current organization goes on."""
    from wizard.sync.engine import EngineLock

    factory, sales, test = two_orgs
    window = _window(qtbot, factory)
    lock = EngineLock(factory.where.lock_file)  # what another process's running engine holds
    lock.acquire()
    try:
        window.confirm = replies(True)
        _choose(qtbot, window, test)
        qtbot.waitUntil(lambda: not window.switching and not window.runner.busy, timeout=TIMEOUT)
        assert factory.profile.sync_org_id == sales
        assert _flags(sandbox, "contosotest") == (False, False)
        assert any("already running" in e.label.text() for e in window.error_lines)
        assert window.org_combo.currentData() == sales
        assert window.adapter.timer.isActive()
    finally:
        lock.release()
        _close(window)


def test_after_switching_and_binding_in_the_wizard_the_window_follows(
    qtbot: Any, sandbox: Sandbox, two_orgs: tuple[Factory, str, str]
) -> None:
    """Issue 12 item 5 against the stand-ins: switch to Contoso Test (not bound there), open the wizard from
    the window (on the Mailbox page), bind and claim there, close it: the window checks again at once, says
    this computer synchronizes with Contoso Test and runs; no "not bound" and no endless "checking…"."""
    from wizard.app.status import WizardPage

    factory, _sales, test = two_orgs
    opened: list[WizardPage] = []

    def wizard(page: WizardPage) -> None:  # what the Mailbox and Computer pages do before Finish
        opened.append(page)
        binding = factory.profile.mailbox
        assert binding is not None
        bind_mailbox(factory, binding, sandbox.port_info()["users"][0]["ews_password"])
        claim_instance(factory, force=True)
        factory.reload()

    window = _window(qtbot, factory, open_wizard=wizard)
    try:
        window.confirm = replies(True)
        _choose(qtbot, window, test)
        qtbot.waitUntil(lambda: not window.switching and not window.runner.busy, timeout=TIMEOUT)
        assert window.adapter.state.state is AccountState.NOT_CONFIGURED
        assert "not bound in Contoso Test" in window.state_detail.text()

        with qtbot.waitSignal(window.adapter.run_finished, timeout=TIMEOUT) as ran:
            window.wizard_button.click()
        assert opened == [WizardPage.MAILBOX]
        assert ran.args[0].status == "ok", [(k.kind, k.status, k.message) for k in ran.args[0].kinds]
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)
        assert _state(window) is AccountState.CONNECTED, window.adapter.state.display_text()
        assert "not bound" not in window.state_detail.text()
        assert window.title.text().endswith("Contoso Test")
        assert window.mailbox_line.text().endswith("· this computer synchronizes"), window.mailbox_line.text()
        assert not any("not bound" in e.label.text() for e in window.error_lines)
    finally:
        _close(window)


def test_switching_away_from_an_organization_with_queued_offline_changes_says_so(
    qtbot: Any, two_orgs: tuple[Factory, str, str]
) -> None:
    factory, sales, test = two_orgs
    offline.go_offline(factory)
    offline.create_record(factory, "accounts", {"name": "Northwind offline"})
    offline.create_record(factory, "accounts", {"name": "Tailspin offline"})
    window = _window(qtbot, factory)
    try:
        asked: list[str] = []
        window.confirm = replies(False, asked=asked)
        _choose(qtbot, window, test)
        qtbot.waitUntil(lambda: not window.switching, timeout=TIMEOUT)
        assert "Contoso Sales has 2 offline changes that have not been sent to Dynamics 365 yet." in asked[0]
        assert "They stay on this computer" in asked[0]
        assert factory.profile.sync_org_id == sales
        assert offline.queued_changes(factory, sales) == 2
    finally:
        _close(window)
