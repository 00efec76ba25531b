"""Driving the wizard the way a user does: click, type, wait for the controller's answer (never sleep)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

TIMEOUT = 20000


def click(qtbot: Any, button: Any) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_idle(qtbot: Any, page: Any, timeout: int = TIMEOUT) -> None:
    qtbot.waitUntil(lambda: not page.running, timeout=timeout)


def wait_dialog_idle(qtbot: Any, dialog: Any, timeout: int = TIMEOUT) -> None:
    qtbot.waitUntil(lambda: not dialog._op, timeout=timeout)


def next_page(qtbot: Any, wizard: QWizard) -> None:
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))


def open_add_dialog(qtbot: Any, wizard: Any) -> Any:
    page = wizard.organizations_page
    click(qtbot, page.add_button)
    dialog = page.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=TIMEOUT)
    return dialog


def sign_in_sandbox(qtbot: Any, dialog: Any, password: str | None = None) -> None:
    """The Sandbox cloud is first and prefilled; Sign in with the password, wait for the environments."""
    dialog.online_radio.setChecked(True)
    dialog.cloud_combo.setCurrentIndex(0)
    if password is not None:
        dialog.online_password.setText(password)
    click(qtbot, dialog.sign_in_button)
    wait_dialog_idle(qtbot, dialog)


def add_via_discovery(qtbot: Any, wizard: Any, name: str = "Contoso Sales") -> None:
    dialog = open_add_dialog(qtbot, wizard)
    if dialog.environments.topLevelItemCount() == 0:
        sign_in_sandbox(qtbot, dialog)
    assert dialog.banner.kind != "error", dialog.banner.text()
    items = [dialog.environments.topLevelItem(i) for i in range(dialog.environments.topLevelItemCount())]
    (item,) = [i for i in items if i.text(0) == name]
    dialog.environments.setCurrentItem(item)
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT):
        click(qtbot, dialog.connect_button)


def replies(*answers: bool, asked: list[str] | None = None) -> Callable[[str, str], bool]:
    """A stand-in for a page's ``confirm(title, text)``: records the question, gives the next answer
    (the last one repeats)."""
    queue = list(answers)

    def confirm(title: str, text: str) -> bool:
        if asked is not None:
            asked.append(text)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return confirm
