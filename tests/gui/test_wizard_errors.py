"""Error paths: each failure ends as a message in the page that says what to do, and the wizard stays usable."""

from __future__ import annotations

from typing import Any

import keyring
import pytest
from keyring.backends import fail

from tests.gui.conftest import hints_for
from tests.gui.helpers import (
    TIMEOUT,
    add_via_discovery,
    click,
    next_page,
    open_add_dialog,
    replies,
    sign_in_sandbox,
    wait_dialog_idle,
    wait_idle,
)
from wizard.app import offline
from wizard.app.factory import Factory
from wizard.app.instance import read_claim
from wizard.crm import records
from wizard.crm.records import ADDRESS_MISMATCH_TEXT
from wizard.sandbox import Sandbox
from wizard.ui.presets import Preset

pytestmark = pytest.mark.gui


def _connect_url(
    qtbot: Any, dialog: Any, url: str, *, auth: str = "ntlm", user: str = "", password: str = ""
) -> None:
    dialog.url_radio.setChecked(True)
    dialog.url_edit.setText(url)
    dialog.auth_combo.setCurrentIndex(dialog.auth_combo.findData(auth))
    dialog.url_user.setText(user)
    dialog.url_password.setText(password)
    click(qtbot, dialog.connect_button)
    wait_dialog_idle(qtbot, dialog)


def test_invalid_url_is_explained_in_the_dialog(qtbot: Any, make_wizard: Any, hints: Preset) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    _connect_url(qtbot, dialog, "http://crm contoso local/Org", user="CONTOSO\\anna", password="x")
    assert dialog.isVisible()
    assert dialog.banner.kind == "error"
    assert "address" in dialog.banner.text().lower()
    assert wizard.organizations_page.rows == []


def test_unreachable_server(qtbot: Any, make_wizard: Any, hints: Preset) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    _connect_url(
        qtbot, dialog, "https://127.0.0.1:9/Contoso", auth="oauth", user="anna@contoso.com", password="secret"
    )
    assert dialog.banner.kind == "error"
    assert dialog.connect_button.isEnabled()  # the user can correct and retry
    assert "secret" not in dialog.banner.text()


def test_wrong_password(qtbot: Any, make_wizard: Any, hints: Preset) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    sign_in_sandbox(qtbot, dialog, password="not-the-password")
    assert dialog.banner.kind == "error"
    assert "password" in dialog.banner.text().lower()
    assert dialog.environments.topLevelItemCount() == 0
    assert "not-the-password" not in dialog.banner.text()


def test_connect_by_url_with_oauth_password(
    qtbot: Any, make_wizard: Any, hints: Preset, info: dict[str, Any], factory: Factory
) -> None:
    """The URL path: the organization names its authority, the password signs in."""
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT):
        _connect_url(
            qtbot,
            dialog,
            info["dataverse_url"],
            auth="oauth",
            user=hints.clouds[0].username,
            password=hints.clouds[0].password,
        )
    assert [o.display_name for o in factory.reload().organizations] == ["Contoso Sales"]
    assert factory.profile.organizations[0].found_via == "url"


def test_throttled_then_recovers(
    qtbot: Any, make_wizard: Any, sandbox: Sandbox, info: dict[str, Any], factory: Factory
) -> None:
    wizard = make_wizard(hints_for(info, 2))
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    sign_in_sandbox(qtbot, dialog)
    assert dialog.environments.topLevelItemCount() == 1
    # a 429 storm on the organization: the retries give up and the dialog says so
    sandbox.faults.throttle(0, path_contains="/api/data/")
    dialog.environments.setCurrentItem(dialog.environments.topLevelItem(0))
    click(qtbot, dialog.connect_button)
    wait_dialog_idle(qtbot, dialog)
    assert dialog.banner.kind == "error"
    assert factory.reload().organizations == []
    # a short burst is absorbed by the retries
    sandbox.faults.clear()
    sandbox.faults.throttle(0, remaining=3, path_contains="/api/data/")
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT):
        click(qtbot, dialog.connect_button)
    assert [o.display_name for o in factory.reload().organizations] == ["Contoso Sales"]


def test_no_keyring_backend(qtbot: Any, make_wizard: Any, hints: Preset) -> None:
    keyring.set_keyring(fail.Keyring())
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    sign_in_sandbox(qtbot, dialog)
    assert dialog.banner.kind == "error"
    assert "No keyring is available" in dialog.banner.text()


def test_device_code_sign_in_and_cancel(
    qtbot: Any, make_wizard: Any, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    sandbox.authority.device_code_interval = 1
    wizard = make_wizard(hints_for(info, 1))
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    dialog.online_password.clear()
    click(qtbot, dialog.sign_in_button)
    qtbot.waitUntil(dialog.device_panel.isVisible, timeout=TIMEOUT)
    code = dialog.device_panel.code.text()
    assert code in sandbox.authority.pending_user_codes()
    assert "/devicelogin" in dialog.device_panel.intro.text()
    click(qtbot, dialog.device_panel.copy_button)
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == code
    click(qtbot, dialog.busy.cancel_button)
    wait_dialog_idle(qtbot, dialog)
    assert dialog.banner.kind == "info" and "cancelled" in dialog.banner.text()
    assert not dialog.device_panel.isVisible()

    # again, and this time the user enters the code
    click(qtbot, dialog.sign_in_button)
    qtbot.waitUntil(dialog.device_panel.isVisible, timeout=TIMEOUT)
    sandbox.authority.approve_device_code(dialog.device_panel.code.text(), info["users"][1]["upn"])
    wait_dialog_idle(qtbot, dialog)
    assert dialog.banner.kind == "", dialog.banner.text()
    assert dialog.environments.topLevelItemCount() == 2
    assert info["users"][1]["upn"] in dialog.signed_in_label.text()


def test_another_computer_holds_the_claim(
    qtbot: Any, make_wizard: Any, info: dict[str, Any], factory: Factory
) -> None:
    wizard = make_wizard(hints_for(info, 1))
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    records.release(factory.dataverse(factory.reload().organizations[0]), "desk-1")
    other = factory.dataverse(factory.profile.organizations[0])
    records.claim(other, "desk-1", "JOERG-DESKTOP", force=True)
    wizard.setCurrentId(wizard.pageIds()[3])
    computer = wizard.computer_page
    wait_idle(qtbot, computer)
    assert "JOERG-DESKTOP" in computer.holder.text()
    assert not computer.is_synchronizing_here
    asked: list[str] = []
    computer.confirm = replies(False, True, asked=asked)
    click(qtbot, computer.claim_button)  # "no": nothing changes
    assert read_claim(factory).hostname == "JOERG-DESKTOP"  # type: ignore[union-attr]
    click(qtbot, computer.claim_button)  # "yes": take over
    wait_idle(qtbot, computer)
    assert "JOERG-DESKTOP" in asked[0]
    assert computer.is_synchronizing_here
    assert read_claim(factory).instance_id == factory.profile.instance_id  # type: ignore[union-attr]

    # the other computer takes it back while the page is open: the page shows it and asks again
    records.claim(other, "desk-1", "JOERG-DESKTOP", force=True)
    computer.info = None  # the page's view is stale; a click claims without force
    computer.confirm = replies(False)
    computer.claim_button.setEnabled(True)
    click(qtbot, computer.claim_button)
    wait_idle(qtbot, computer)
    assert computer.banner.kind == "info" and "JOERG-DESKTOP stays" in computer.banner.text()


def test_mailbox_address_must_be_the_primary_email(
    qtbot: Any, make_wizard: Any, info: dict[str, Any], factory: Factory
) -> None:
    wizard = make_wizard(hints_for(info, 3))  # Nancy: Primary Email nanderson@, UPN nancy.anderson@
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    next_page(qtbot, wizard)
    mailbox = wizard.mailbox_page
    wait_idle(qtbot, mailbox)
    assert mailbox.address.text() == "nanderson@contoso.com"
    assert "nanderson@contoso.com" in mailbox.address_hint.text()
    mailbox.address.setText("nancy.anderson@contoso.com")
    click(qtbot, mailbox.bind_button)
    wait_idle(qtbot, mailbox)
    assert mailbox.banner.kind == "error"
    assert ADDRESS_MISMATCH_TEXT in mailbox.banner.text()
    assert factory.reload().mailbox is None


def test_no_synchronizing_organization_warning(
    qtbot: Any, make_wizard: Any, hints: Preset, factory: Factory
) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Test")
    page = wizard.organizations_page
    page.confirm = replies(True)
    click(qtbot, page.remove_button)
    wait_idle(qtbot, page)
    assert page.rows == []
    # removing signed the account out of this profile (issue 16): the environments it found are gone and
    # adding again signs in again (the preset's user is filled in again)
    assert page.dialog is not None and page.dialog.environments.topLevelItemCount() == 0
    assert page.dialog.online_password.text()
    add_via_discovery(qtbot, wizard, "Contoso Test")
    assert page.rows[0].synchronizes  # the first organization synchronizes again
    profile = factory.reload()
    profile.sync_org_id = None
    factory.save()
    wizard.controller._profile = profile
    wizard.controller.emit_orgs()
    assert "Messaging data will not be synchronized" in page.no_sync_warning.text()
    assert page.sync_button.isEnabled()


def test_windows_sign_in_to_an_online_organization_says_to_choose_microsoft_sign_in(
    qtbot: Any, make_wizard: Any, hints: Preset, info: dict[str, Any], factory: Factory
) -> None:
    """Issue 12 item 11: one clean sentence with the hint (no doubled punctuation, no "Sign in again in the
    Configuration Wizard" while the user is in it); the error goes when the sign-in method changes."""
    anna = info["users"][0]
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    _connect_url(
        qtbot,
        dialog,
        info["dataverse_url"],
        auth="ntlm",
        user=anna["ntlm_username"],
        password=anna["password"],
    )
    text = dialog.banner.text()
    assert dialog.banner.kind == "error", text
    assert "is a Dynamics 365 (online) organization" in text and "Organization account (OAuth, AD FS)" in text
    assert "Configuration Wizard" not in text and ".)." not in text and ".." not in text
    assert factory.reload().organizations == []
    dialog.auth_combo.setCurrentIndex(dialog.auth_combo.findData("oauth"))
    assert dialog.banner.kind == "" and not dialog.banner.isVisible()
    _connect_url(
        qtbot,
        dialog,
        info["dataverse_url"],
        auth="ntlm",
        user=anna["ntlm_username"],
        password=anna["password"],
    )
    assert dialog.banner.kind == "error"
    dialog.online_radio.setChecked(True)
    assert dialog.banner.kind == ""


def test_removing_an_organization_with_queued_offline_changes_warns_and_needs_a_yes(
    qtbot: Any, make_wizard: Any, hints: Preset, factory: Factory
) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Test")
    page = wizard.organizations_page
    factory.reload()
    offline.go_offline(factory)
    offline.create_record(factory, "accounts", {"name": "Northwind offline"})
    store = offline.store_file(factory)
    asked: list[str] = []
    page.confirm = replies(False, asked=asked)
    click(qtbot, page.remove_button)
    assert "Contoso Test has 1 offline change that has not been sent to Dynamics 365 yet." in asked[0]
    assert "Removing it deletes them" in asked[0]
    assert len(page.rows) == 1 and store.exists()  # declined: nothing removed, nothing deleted
    page.confirm = replies(True)
    click(qtbot, page.remove_button)
    wait_idle(qtbot, page)
    assert page.rows == [] and not store.exists()
