"""The Configuration Wizard end to end against the stand-ins: organizations, mailbox, computer, options, Finish."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from tests.gui.helpers import TIMEOUT, add_via_discovery, click, next_page, replies, wait_idle
from tests.integration.test_onprem_ntlm import connect_onprem_as_anna
from wizard.app.factory import Factory
from wizard.app.instance import claim_instance, read_claim
from wizard.app.orgs import save_org
from wizard.crm.entities import UserQuery
from wizard.sandbox import Sandbox
from wizard.ui.presets import Preset

pytestmark = pytest.mark.gui


def _row(sandbox: Sandbox, set_name: str, key: str, value: str, org: str = "contososales") -> dict[str, Any]:
    env = sandbox.environment(org)
    (row,) = [r for r in env.store.rows(set_name) if str(r.get(key, "")).lower() == value.lower()]
    return dict(row)


def test_happy_path_end_to_end(
    qtbot: Any, make_wizard: Any, hints: Preset, sandbox: Sandbox, factory: Factory, info: dict[str, Any]
) -> None:
    wizard = make_wizard(hints)
    assert wizard.currentPage() is wizard.welcome_page
    next_page(qtbot, wizard)
    orgs = wizard.organizations_page
    assert wizard.currentPage() is orgs
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # no organization yet

    # Add organization: Sandbox cloud, password sign-in, Global Discovery, Connect
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    assert orgs.banner.kind == "ok", orgs.banner.text()
    assert "synchronizing organization" in orgs.banner.text()
    assert [r.org.display_name for r in orgs.rows] == ["Contoso Sales"]
    assert orgs.rows[0].synchronizes
    assert orgs.no_sync_warning.text() == ""

    # the second environment connects silently (same sign-in)
    add_via_discovery(qtbot, wizard, "Contoso Test")
    assert [r.synchronizes for r in orgs.rows] == [True, False]
    assert orgs.tree.topLevelItem(1).text(2) == "Connected"

    # Synchronize with Contoso Test, after the confirmation; then back
    asked: list[str] = []
    orgs.confirm = replies(True, asked=asked)
    orgs.select(orgs.rows[1].org.id)
    click(qtbot, orgs.sync_button)
    wait_idle(qtbot, orgs)
    assert "from Contoso Sales to Contoso Test" in asked[0]
    sync_org = factory.reload().sync_org
    assert sync_org is not None and sync_org.display_name == "Contoso Test"
    assert orgs.banner.kind == "ok"
    orgs.select(orgs.rows[0].org.id)
    click(qtbot, orgs.sync_button)
    wait_idle(qtbot, orgs)
    assert factory.reload().sync_org.display_name == "Contoso Sales"  # type: ignore[union-attr]

    # Test connection
    click(qtbot, orgs.test_button)
    wait_idle(qtbot, orgs)
    assert orgs.banner.kind == "ok" and "Connected to Contoso Sales" in orgs.banner.text()

    # Mailbox: prefilled with the Primary Email, Autodiscover finds the server, Bind
    next_page(qtbot, wizard)
    mailbox = wizard.mailbox_page
    wait_idle(qtbot, mailbox)
    assert mailbox.address.text() == info["users"][0]["primary_email"]
    click(qtbot, mailbox.test_button)
    wait_idle(qtbot, mailbox)
    assert mailbox.banner.kind == "ok", mailbox.banner.text()
    assert "found by Autodiscover" in mailbox.banner.text()
    click(qtbot, mailbox.bind_button)
    wait_idle(qtbot, mailbox)
    assert mailbox.banner.kind == "ok", mailbox.banner.text()
    assert factory.reload().mailbox is not None
    assert factory.profile.mailbox.address == info["users"][0]["primary_email"]  # type: ignore[union-attr]
    assert mailbox.unbind_button.isVisible()

    # Synchronizing computer: nobody yet; claim
    next_page(qtbot, wizard)
    computer = wizard.computer_page
    wait_idle(qtbot, computer)
    assert "No computer synchronizes" in computer.holder.text()
    click(qtbot, computer.claim_button)
    wait_idle(qtbot, computer)
    assert computer.is_synchronizing_here
    assert computer.banner.kind == "ok"
    claim = read_claim(factory)
    assert claim is not None and claim.instance_id == factory.profile.instance_id
    assert computer.release_button.isVisible() and not computer.claim_button.isVisible()
    click(qtbot, computer.release_button)
    wait_idle(qtbot, computer)
    assert read_claim(factory) is None
    assert computer.claim_button.isVisible()
    click(qtbot, computer.claim_button)
    wait_idle(qtbot, computer)
    assert computer.is_synchronizing_here

    # What to synchronize: default filters, deactivate one, tracking, interval, policy, a field direction
    next_page(qtbot, wizard)
    options = wizard.options_page
    wait_idle(qtbot, options)
    assert options.banner.kind != "error", options.banner.text()
    assert options.filter_warning.kind == "info"  # no filters yet: the first sync creates the defaults
    click(qtbot, options.default_filters_button)
    wait_idle(qtbot, options)
    assert options.filters.topLevelItemCount() == 3
    assert options.filter_warning.kind == ""
    tasks_item = next(
        options.filters.topLevelItem(i)
        for i in range(3)
        if options.filters.topLevelItem(i).text(1) == "Tasks"
    )
    tasks_item.setCheckState(0, Qt.CheckState.Unchecked)
    assert "No active filter" in options.kind_notes["tasks"].text()
    options.track_combo.setCurrentIndex(options.track_combo.findData(3))
    assert options.interval.minimum() == 15
    options.interval.setValue(30)
    options.policy_combo.setCurrentIndex(options.policy_combo.findData("newest_wins"))
    click(qtbot, options.fields_button)
    dialog = options.fields_dialog
    qtbot.waitUntil(dialog.isVisible)
    combo = dialog.direction_combo("jobtitle")
    assert combo is not None and combo.isEnabled()
    combo.setCurrentIndex(combo.findData(2))
    dialog.accept()

    # Offline: the offline filters (the defaults, created on first use) with a preview count
    next_page(qtbot, wizard)
    offline_page = wizard.offline_page
    assert wizard.currentPage() is offline_page
    qtbot.waitUntil(lambda: bool(offline_page.filters) and not offline_page.busy_bar.running, timeout=TIMEOUT)
    assert offline_page.banner.kind != "error", offline_page.banner.text()
    assert offline_page.tree.topLevelItemCount() >= 1

    # Summary, Finish
    next_page(qtbot, wizard)
    summary = wizard.summary_page
    assert "Contoso Sales" in summary.text.text()
    assert "Email messages from Dynamics 365 records that are email enabled" in summary.text.text()
    with qtbot.waitSignal(wizard.finished, timeout=TIMEOUT):
        click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    assert wizard.result() == QWizard.DialogCode.Accepted

    profile = factory.reload()
    assert profile.sync.interval_minutes == 30
    assert profile.sync.conflict_policy["contacts"] == "newest_wins"
    assert profile.sync.field_directions == {"contacts": {"jobtitle": 2}}
    user_id = info["users"][0]["systemuserids"]["contososales"]
    settings = _row(sandbox, "usersettingscollection", "systemuserid", user_id)
    assert settings["incomingemailfilteringmethod"] == 3
    assert settings["outlooksyncinterval"] == 30
    queries = [UserQuery.from_row(r) for r in sandbox.environment("contososales").store.rows("userqueries")]
    mine = {q.returnedtypecode: q.active for q in queries if q.owner_id == user_id and q.querytype == 256}
    assert mine == {"contact": True, "appointment": True, "task": False}


def test_run_wizard_remembers_geometry_and_reports_cancel(qtbot: Any, factory: Factory) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from wizard.ui.app import run_wizard
    from wizard.ui.wizard import ConfigurationWizard

    def close_it() -> None:
        wizards = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, ConfigurationWizard) and w.isVisible()
        ]
        if not wizards:
            QTimer.singleShot(10, close_it)
            return
        assert wizards[0].windowTitle() == "Configuration Wizard"
        wizards[0].reject()

    QTimer.singleShot(0, close_it)
    assert run_wizard(factory) == 1
    assert (factory.where.config_dir / "gui.ini").read_text().count("geometry") == 1


def test_mailbox_page_binds_exchange_online_through_graph(
    qtbot: Any, make_wizard: Any, hints: Preset, sandbox: Sandbox, factory: Factory, info: dict[str, Any]
) -> None:
    """Exchange Online needs no mailbox password: the organization's sign-in reaches Microsoft Graph."""
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    next_page(qtbot, wizard)
    mailbox = wizard.mailbox_page
    wait_idle(qtbot, mailbox)
    mailbox.online_radio.setChecked(True)
    assert not mailbox.password.isEnabled()
    click(qtbot, mailbox.bind_button)
    wait_idle(qtbot, mailbox)
    assert mailbox.banner.kind == "ok", mailbox.banner.text()
    bound = factory.reload().mailbox
    assert bound is not None
    assert (bound.kind, bound.graph_url) == ("exchange_online", info["graph_url"])
    row = _row(sandbox, "mailboxes", "emailaddress", info["users"][0]["primary_email"])
    assert (row["incomingemaildeliverymethod"], row["outgoingemaildeliverymethod"]) == (1, 1)


def test_mailbox_page_on_premises_takes_the_windows_account(
    qtbot: Any, make_wizard: Any, hints: Preset, sandbox: Sandbox, factory: Factory, info: dict[str, Any]
) -> None:
    """An on-premises organization (Windows sign-in): the mailbox page proposes the organization's Windows
    account for Exchange, and Test and Bind sign in to Exchange with NTLM."""
    anna = info["users"][0]
    save_org(factory, connect_onprem_as_anna(factory, info))
    claim_instance(factory, force=True)
    wizard = make_wizard(hints)
    wizard.setStartId(next(i for i in wizard.pageIds() if wizard.page(i) is wizard.mailbox_page))
    wizard.restart()
    mailbox = wizard.mailbox_page
    assert wizard.currentPage() is mailbox
    wait_idle(qtbot, mailbox)
    assert mailbox.address.text() == anna["primary_email"]  # the Primary Email, read through NTLM
    assert mailbox.username.text() == anna["ntlm_username"]
    assert mailbox.exchange_auth.currentData() == "ntlm"
    mailbox.password.setText(anna["ews_password"])
    click(qtbot, mailbox.bind_button)
    wait_idle(qtbot, mailbox)
    assert mailbox.banner.kind == "ok", mailbox.banner.text()
    bound = factory.reload().mailbox
    assert bound is not None and (bound.auth, bound.username) == ("ntlm", anna["ntlm_username"])
    assert sandbox.ews.server.ntlm_sign_ins > 0
