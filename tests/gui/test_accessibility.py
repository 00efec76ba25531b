"""Keyboard and screen-reader basics: every field is labelled, mnemonics don't collide, Escape cancels a step."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
    QWizard,
)

from tests.gui.conftest import hints_for
from tests.gui.helpers import TIMEOUT, click, next_page, open_add_dialog, wait_dialog_idle
from wizard.sandbox import Sandbox
from wizard.ui.pages.options import SyncFieldsDialog
from wizard.ui.presets import Preset

pytestmark = pytest.mark.gui

FIELDS = (QLineEdit, QComboBox, QSpinBox, QAbstractItemView)


def _inside_view(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QAbstractItemView, QComboBox)):
            return True  # cell widgets are named by their row (checked where they are built)
        parent = parent.parentWidget()
    return False


def _unlabelled(root: QWidget) -> list[str]:
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None}
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, FIELDS) or isinstance(widget, QHeaderView):
            continue
        if isinstance(widget.parentWidget(), (QComboBox, QSpinBox)) or _inside_view(widget):
            continue
        if type(widget).__name__ in ("QComboBoxListView",) or widget.objectName().startswith("qt_"):
            continue
        if not widget.accessibleName() and id(widget) not in buddies:
            missing.append(
                f"{type(widget).__name__} {widget.objectName()!r} under {type(widget.parentWidget()).__name__}"
            )
    return missing


def _mnemonics(root: QWidget, extra: list[str]) -> list[str]:
    texts = list(extra)
    for widget in root.findChildren(QWidget):
        if isinstance(widget, (QAbstractButton, QLabel)) and widget.window() is root.window():
            texts.append(widget.text())
    keys = [m.group(1).lower() for t in texts for m in [re.search(r"&([^&\s])", t)] if m]
    return sorted({k for k in keys if keys.count(k) > 1})


def test_every_field_is_labelled_and_mnemonics_are_unique(
    qtbot: Any, make_wizard: Any, hints: Preset
) -> None:
    wizard = make_wizard(hints)
    nav = [wizard.buttonText(b) for b in (QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
                                          QWizard.WizardButton.FinishButton)]  # fmt: skip
    for page in wizard.pages:
        assert _unlabelled(page) == [], type(page).__name__
        assert _mnemonics(page, nav) == [], type(page).__name__
    dialog = open_add_dialog(qtbot, wizard)
    assert _unlabelled(dialog) == []
    assert _mnemonics(dialog, []) == []
    dialog.reject()
    fields = SyncFieldsDialog({}, all_addresses=True, parent=wizard)
    qtbot.addWidget(fields)
    assert _unlabelled(fields) == []


def test_keyboard_only_reaches_the_organization_buttons(qtbot: Any, make_wizard: Any, hints: Preset) -> None:
    wizard = make_wizard(hints)
    wizard.activateWindow()
    qtbot.waitUntil(wizard.isActiveWindow, timeout=TIMEOUT)
    qtbot.keyClick(wizard, Qt.Key.Key_Return)  # Return = Next on the welcome page
    page = wizard.organizations_page
    assert wizard.currentPage() is page
    page.tree.setFocus()
    reached = set()
    for _ in range(12):
        qtbot.keyClick(wizard.focusWidget(), Qt.Key.Key_Tab)
        reached.add(wizard.focusWidget())
    assert page.add_button in reached
    qtbot.keyClick(page.add_button, Qt.Key.Key_Space)
    dialog = page.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=TIMEOUT)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Escape closes an idle dialog
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=TIMEOUT)


def test_escape_cancels_a_running_sign_in_first(
    qtbot: Any, make_wizard: Any, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    sandbox.authority.device_code_interval = 1
    wizard = make_wizard(hints_for(info, 2))
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    dialog.online_password.clear()
    click(qtbot, dialog.sign_in_button)
    qtbot.waitUntil(dialog.device_panel.isVisible, timeout=TIMEOUT)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()  # the step is cancelled, the dialog stays
    wait_dialog_idle(qtbot, dialog)
    assert "cancelled" in dialog.banner.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=TIMEOUT)


def test_password_field_show_hide(qtbot: Any, make_wizard: Any, hints: Preset) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    field = dialog.online_password
    assert field.echoMode() == QLineEdit.EchoMode.Password
    field.toggle_action.trigger()
    assert field.shown and field.toggle_action.text() == "Hide password"
    field.toggle_action.trigger()
    assert not field.shown
