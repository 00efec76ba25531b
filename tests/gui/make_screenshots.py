"""Drive the Configuration Wizard against the stand-ins and save every page as docs/screenshots/<page>.png.

Run: ``python -m tests.gui.make_screenshots [--out DIR]`` (offscreen unless QT_QPA_PLATFORM says otherwise).
A throw-away profile and an in-memory keyring are used; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from PySide6.QtWidgets import QWidget, QWizard

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "screenshots"
SIZE = (820, 640)


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Process events until ``condition()`` holds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
    poll.start()
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError("the wizard did not get there in time")


def settle() -> None:
    for _ in range(5):
        QCoreApplication.processEvents()


def grab(widget: QWidget, out: Path, name: str, saved: list[Path]) -> None:
    settle()
    path = out / f"{name}.png"
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    saved.append(path)


def filters_dialog_shot(factory: Any, out: Path, saved: list[Path]) -> None:
    """24-offline-filters-dialog: the status window's Offline filters dialog (online, one filter turned off and
    not saved yet)."""
    from PySide6.QtCore import Qt

    from wizard.ui.status.offline_filters import OfflineFiltersDialog

    dialog = OfflineFiltersDialog(factory)
    dialog.resize(560, 400)
    dialog.show()
    dialog.start()
    wait_until(lambda: dialog.view == "online" and not dialog.runner.busy)
    last = dialog.list.topLevelItem(dialog.list.topLevelItemCount() - 1)
    item = last.child(0) if last is not None else None
    if item is not None:  # the last table's first filter, turned off by the user
        dialog.list.setCurrentItem(item)
        item.setCheckState(0, Qt.CheckState.Unchecked)
    dialog.list.setFocus()
    grab(dialog, out, "24-offline-filters-dialog", saved)
    dialog.reject()


def records_shots(factory: Any, out: Path, saved: list[Path]) -> None:
    """24-offline-filters-dialog (before going offline), 18-go-offline (the progress dialog when done) and 19-records (the Records window offline, a contact
    with a change not sent yet)."""
    from wizard.app import offline
    from wizard.ui.offline_progress import GO_OFFLINE, OfflineProgressDialog
    from wizard.ui.records import RecordsWindow

    client = factory.dataverse(factory.require_sync_org())
    fabrikam = client.create("accounts", {"name": "Fabrikam", "telephone1": "+49 30 1234 500"})
    people = [("Jörg", "Bär", "Einkauf"), ("Anna", "Schmidt", "Sales"), ("Nina", "Neumann", "Buyer")]
    for first, last, job in people:
        client.create(
            "contacts",
            {
                "firstname": first,
                "lastname": last,
                "jobtitle": job,
                "emailaddress1": f"{first.lower()}.{last.lower()}@fabrikam.example".replace(
                    "ö", "oe"
                ).replace("ä", "ae"),
                "parentcustomerid_account@odata.bind": f"/accounts({fabrikam})",
            },
        )
    filters_dialog_shot(factory, out, saved)
    dialog = OfflineProgressDialog(factory, GO_OFFLINE)
    dialog.resize(520, 330)
    dialog.show()
    dialog.start()
    wait_until(lambda: dialog.close_button.isVisible())
    grab(dialog, out, "18-go-offline", saved)
    dialog.close()
    jorg = offline.list_records(factory, "contacts", search="Bär")[0]
    offline.update_record(factory, "contacts", jorg.id, {"jobtitle": "Purchasing"})

    window = RecordsWindow(factory)
    window.resize(*SIZE)
    window.show()
    window.table_combo.setCurrentIndex(window.table_combo.findData("contacts"))
    wait_until(
        lambda: bool(window.form.fields) and "Jörg Bär" in window.record_names() and not window.runner.busy
    )
    window.list.selectRow(window.record_names().index("Jörg Bär"))
    wait_until(lambda: not window.runner.busy)
    grab(window, out, "19-records", saved)
    window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    from wizard.app.factory import Factory
    from wizard.crm import records
    from wizard.paths import locations
    from wizard.sandbox import Sandbox
    from wizard.secrets import use_memory_keyring
    from wizard.ui import presets
    from wizard.ui.app import create_wizard

    use_memory_keyring()
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="d365sync-shots-") as home, Sandbox(demo_data=False) as sandbox:
        info = sandbox.port_info()
        user = info["users"][0]
        hints = presets.sandbox(info)
        factory = Factory(locations(Path(home)).ensure())
        wizard: Any = create_wizard(factory, preset=hints)
        wizard.resize(*SIZE)
        wizard.show()
        settle()
        grab(wizard, out, "01-welcome", saved)

        wizard.next()
        orgs = wizard.organizations_page
        orgs.add_organization()
        dialog = orgs.dialog
        wait_until(dialog.isVisible)
        grab(dialog, out, "02-add-organization", saved)

        # the device code panel, as a user without a password sees it
        dialog.online_password.clear()
        dialog.sign_in()
        wait_until(dialog.device_panel.isVisible)
        grab(dialog, out, "03-add-organization-device-code", saved)
        sandbox.authority.approve_device_code(dialog.device_panel.code.text(), user["upn"])
        wait_until(lambda: not dialog._op)
        grab(dialog, out, "04-add-organization-environments", saved)
        dialog.connect_selected()
        wait_until(lambda: not dialog.isVisible())

        orgs.add_organization()
        wait_until(dialog.isVisible)
        dialog.environments.setCurrentItem(dialog.environments.topLevelItem(1))
        dialog.connect_selected()
        wait_until(lambda: not dialog.isVisible() and not dialog._op)
        orgs.test_selected()
        wait_until(lambda: not orgs.running)
        grab(wizard, out, "05-organizations", saved)

        # the warning when no organization synchronizes (shown on a copy of the list, nothing is changed)
        rows = [type(r)(r.org, False, r.state, r.detail) for r in orgs.rows]
        orgs.show_rows(rows)
        grab(wizard, out, "06-organizations-none-synchronizes", saved)
        wizard.controller.emit_orgs()

        dialog.url_radio.setChecked(True)
        orgs.add_organization()
        wait_until(dialog.isVisible)
        dialog.url_edit.setText("https://127.0.0.1:9/Contoso")
        dialog.auth_combo.setCurrentIndex(dialog.auth_combo.findData("oauth"))
        dialog.url_user.setText("anna.schmidt@contoso.com")
        dialog.connect_selected()
        wait_until(lambda: not dialog._op)
        grab(dialog, out, "07-add-organization-error", saved)
        dialog.reject()

        wizard.next()
        mailbox = wizard.mailbox_page
        wait_until(lambda: not mailbox.running)
        mailbox.test()
        wait_until(lambda: not mailbox.running)
        grab(wizard, out, "08-mailbox-tested", saved)
        mailbox.address.setText("a.schmidt@contoso.com")
        mailbox.bind()
        wait_until(lambda: not mailbox.running)
        grab(wizard, out, "09-mailbox-rule", saved)
        mailbox.address.setText(user["primary_email"])
        mailbox.bind()
        wait_until(lambda: not mailbox.running)
        grab(wizard, out, "10-mailbox-bound", saved)

        other = factory.dataverse(factory.profile.organizations[0])
        records.claim(other, "anna-desktop-instance", "ANNA-DESKTOP", force=True)
        wizard.next()
        computer = wizard.computer_page
        wait_until(lambda: not computer.running)
        grab(wizard, out, "11-computer-held-elsewhere", saved)
        computer.confirm = lambda title, text: True
        computer.make_this_computer()
        wait_until(lambda: not computer.running)
        grab(wizard, out, "12-computer-this-one", saved)

        wizard.next()
        options = wizard.options_page
        wait_until(lambda: not options.running)
        grab(wizard, out, "13-options-no-filters", saved)
        options.create_default_filters()
        wait_until(lambda: not options.running)
        grab(wizard, out, "14-options", saved)
        options.edit_fields()
        fields = options.fields_dialog
        wait_until(fields.isVisible)
        grab(fields, out, "15-synchronization-fields", saved)
        fields.accept()

        wizard.next()
        offline_page = wizard.offline_page
        wait_until(lambda: bool(offline_page.filters) and not offline_page.busy_bar.running)
        grab(wizard, out, "17-offline-filters", saved)

        wizard.next()
        grab(wizard, out, "16-summary", saved)
        wizard.button(QWizard.WizardButton.FinishButton).click()
        wait_until(lambda: not wizard.isVisible())
        wizard.controller.shutdown()
        records_shots(factory, out, saved)
    for path in saved:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
