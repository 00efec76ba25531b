"""What the wizard says when the user's entry is not taken as typed (issue 12 item 13, the GUI half): an interval
below the organization's minimum, an organization that is already in the list."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.gui.helpers import (
    TIMEOUT,
    add_via_discovery,
    click,
    next_page,
    open_add_dialog,
    wait_dialog_idle,
    wait_idle,
)
from wizard.app.factory import Factory
from wizard.ui.presets import Preset

pytestmark = pytest.mark.gui


def test_an_interval_below_the_minimum_says_why(qtbot: Any, make_wizard: Any, hints: Preset) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    for _ in range(3):  # mailbox, computer, options
        next_page(qtbot, wizard)
        wait_idle(qtbot, wizard.currentPage())
    options = wizard.options_page
    assert options.interval.isEnabled()
    assert "15 or more" in options.interval_note.text()  # the minimum, next to the box
    options.interval.setValue(30)
    options.interval.setFocus()
    options.interval.selectAll()
    qtbot.keyClicks(options.interval, "5")
    qtbot.keyClick(options.interval, Qt.Key.Key_Return)
    assert options.interval.value() == 15  # the minimum, not the previous 30
    assert wizard.currentPage() is options  # Return stays with the message (it does not mean Next here)
    assert options.banner.kind == "warning"
    text = options.banner.text()
    assert "15 minutes or more" in text and "5 minutes became 15 minutes" in text
    options.interval.selectAll()
    qtbot.keyClicks(options.interval, "45")
    qtbot.keyClick(options.interval, Qt.Key.Key_Return)
    assert options.interval.value() == 45


def test_the_synchronization_fields_show_every_name_in_full(
    qtbot: Any, make_wizard: Any, hints: Preset
) -> None:
    """Issue 12 item 6: "Company (… 'synccontactcomp…" was cut off; the column shows the name, the tooltip the
    long form."""
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    for _ in range(3):
        next_page(qtbot, wizard)
        wait_idle(qtbot, wizard.currentPage())
    options = wizard.options_page
    click(qtbot, options.fields_button)
    dialog = options.fields_dialog
    qtbot.waitUntil(dialog.isVisible)
    table = dialog.table
    names = [table.item(row, 0) for row in range(table.rowCount())]
    (company,) = [item for item in names if "synccontactcompany" in item.toolTip()]
    assert company.text() == "Company Name"  # the organization's label of parentcustomerid (its metadata)
    (job,) = [item for item in names if item.toolTip().endswith("jobtitle")]
    assert job.text() == "Job Title"
    assert company.toolTip().startswith("Company (parent account's name; only with 'synccontactcompany')")
    metrics = table.fontMetrics()
    for column in (0, 2):
        for row in range(table.rowCount()):
            text = table.item(row, column).text()
            assert metrics.horizontalAdvance(text) < table.columnWidth(column), (column, text)
    dialog.reject()


def test_adding_an_organization_that_is_there_says_already_added(
    qtbot: Any, make_wizard: Any, hints: Preset, info: dict[str, Any], factory: Factory
) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Test")
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    page = wizard.organizations_page
    assert "was added" in page.banner.text()
    page.select(factory.reload().organizations[0].id)  # Contoso Test
    dialog = open_add_dialog(qtbot, wizard)
    dialog.url_radio.setChecked(True)
    dialog.url_edit.setText(info["dataverse_url"])  # Contoso Sales, by its address
    dialog.auth_combo.setCurrentIndex(dialog.auth_combo.findData("oauth"))
    dialog.url_user.setText(hints.clouds[0].username)
    dialog.url_password.setText(hints.clouds[0].password)
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT):
        click(qtbot, dialog.connect_button)
    wait_dialog_idle(qtbot, dialog)
    assert page.banner.text() == "Contoso Sales is already added; it is selected in the list."
    assert page.selected_org() is not None and page.selected_org().display_name == "Contoso Sales"
    assert [o.display_name for o in factory.reload().organizations] == ["Contoso Test", "Contoso Sales"]


def test_mailbox_page_does_not_say_bound_for_a_binding_of_the_previous_organization(
    qtbot: Any, make_wizard: Any
) -> None:
    """Issue 12 item 5: after switching the synchronizing organization the binding stays on the previous
    organization's mailbox record until it is bound in the new one; the page must say so, not "Bound: …"
    while the status window says "not bound in Contoso Test"."""
    from wizard.settings.profile import MailboxBinding, OrgProfile

    wizard = make_wizard()
    page = wizard.mailbox_page
    profile = page.controller.profile
    sales = OrgProfile(id="org-sales", display_name="Contoso Sales", web_url="https://s", api_url="https://s")
    test = OrgProfile(id="org-test", display_name="Contoso Test", web_url="https://t", api_url="https://t")
    profile.organizations[:] = [sales, test]
    binding = MailboxBinding(address="anna@contoso.com", kind="exchange", org_id=sales.id)
    profile.sync_org_id = sales.id
    page._show_bound(binding)
    assert page.bound_banner.kind == "ok" and "Bound: anna@contoso.com" in page.bound_banner.text()
    profile.sync_org_id = test.id
    page._show_bound(binding)
    assert page.bound_banner.kind == "warning"
    text = page.bound_banner.text()
    assert "Bound:" not in text
    assert "bound in Contoso Sales, not yet in Contoso Test" in text
