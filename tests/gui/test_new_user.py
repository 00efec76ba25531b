"""What a new user ran into in the wizard and the status window (issue 12, items 2, 4, 7, 14, 15, 17): choices
kept while moving back and forth, the truth about missing filters, questions before losing work, a window
that fits a small screen, visible radio buttons on dark, one title, one question style, mnemonics, hints."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QLabel,
    QMessageBox,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QWidget,
    QWizard,
)

from tests.gui.helpers import add_via_discovery, click, next_page, replies, wait_idle
from wizard.app.factory import Factory
from wizard.ui.presets import Preset

pytestmark = pytest.mark.gui


def _to_options(qtbot: Any, wizard: Any) -> Any:
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    for _ in range(3):  # mailbox, computer, options
        next_page(qtbot, wizard)
        wait_idle(qtbot, wizard.currentPage())
    options = wizard.options_page
    assert wizard.currentPage() is options
    return options


def _back(qtbot: Any, wizard: QWizard) -> None:
    click(qtbot, wizard.button(QWizard.WizardButton.BackButton))


def test_options_keep_the_choices_on_back_and_next_and_load_once(
    qtbot: Any, make_wizard: Any, hints: Preset, monkeypatch: pytest.MonkeyPatch
) -> None:
    wizard = make_wizard(hints)
    loads: list[int] = []
    original = wizard.controller.load_options

    def counted() -> Any:
        loads.append(1)
        return original()

    monkeypatch.setattr(wizard.controller, "load_options", counted)
    options = _to_options(qtbot, wizard)
    assert loads == [1]
    options.policy_combo.setCurrentIndex(options.policy_combo.findData("ask"))
    options.track_combo.setCurrentIndex(options.track_combo.findData(0))
    click(qtbot, options.fields_button)
    dialog = options.fields_dialog
    qtbot.waitUntil(dialog.isVisible)
    combo = dialog.direction_combo("jobtitle")
    assert combo is not None
    combo.setCurrentIndex(combo.findData(2))
    dialog.accept()
    next_page(qtbot, wizard)  # the Offline page
    next_page(qtbot, wizard)
    assert "Ask me" in wizard.summary_page.text.text()
    for _ in range(3):
        _back(qtbot, wizard)
    next_page(qtbot, wizard)
    wait_idle(qtbot, options)
    assert options.policy_combo.currentData() == "ask"
    assert options.track_combo.currentData() == 0
    assert options.choice().sync.field_directions == {"contacts": {"jobtitle": 2}}
    assert loads == [1]  # read from the server once
    next_page(qtbot, wizard)  # the Offline page
    next_page(qtbot, wizard)
    text = wizard.summary_page.text.text()
    assert "Ask me" in text and "Dynamics 365 wins" not in text
    assert "All email messages" in text


def test_no_filters_says_the_defaults_are_created_on_the_first_sync(
    qtbot: Any, make_wizard: Any, hints: Preset
) -> None:
    wizard = make_wizard(hints)
    options = _to_options(qtbot, wizard)
    assert options.filters.topLevelItemCount() == 0
    text = options.filter_warning.text()
    assert "default filters will be created on the first synchronization" in text
    for name in ("My Outlook Contacts", "My Appointments", "My Tasks"):
        assert name in text
    assert "nothing is synchronized" not in text and "no contacts" not in text
    assert "My Outlook Contacts" in options.kind_notes["contacts"].text()
    assert "No active filter" not in options.kind_notes["tasks"].text()


# -- item 7: no work lost by one Escape; Unbind asks ----------------------------------------------------------
def test_escape_closes_an_untouched_wizard_without_asking(
    qtbot: Any, make_wizard: Any, hints: Preset
) -> None:
    from PySide6.QtCore import Qt

    wizard = make_wizard(hints)
    asked: list[str] = []
    wizard.confirm = replies(False, asked=asked)
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    assert asked == [] and not wizard.isVisible()
    assert wizard.result() == QWizard.DialogCode.Rejected


def test_escape_and_cancel_ask_before_abandoning_a_wizard_with_changes(
    qtbot: Any, make_wizard: Any, hints: Preset
) -> None:
    from PySide6.QtCore import Qt

    wizard = make_wizard(hints)
    options = _to_options(qtbot, wizard)  # an organization was added: a change
    asked: list[str] = []
    wizard.confirm = replies(False, asked=asked)
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    assert len(asked) == 1 and "without finishing" in asked[0]
    assert wizard.isVisible() and wizard.currentPage() is options
    click(qtbot, wizard.button(QWizard.WizardButton.CancelButton))
    assert len(asked) == 2 and wizard.isVisible()
    wizard.close()
    assert len(asked) == 3 and wizard.isVisible()
    wizard.confirm = replies(True, asked=asked)
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    assert len(asked) == 4 and not wizard.isVisible()


def test_changed_options_alone_count_as_changes(
    qtbot: Any, make_wizard: Any, hints: Preset, factory: Factory
) -> None:
    wizard = make_wizard(hints)
    options = _to_options(qtbot, wizard)
    wizard._profile_at_start = factory.profile.to_dict()  # as if the organization had been there before
    assert not wizard.has_changes()
    options.policy_combo.setCurrentIndex(options.policy_combo.findData("ask"))
    assert wizard.has_changes()
    options.policy_combo.setCurrentIndex(options.policy_combo.findData("crm_wins"))
    assert not wizard.has_changes()
    options.interval.setValue(options.interval.value() + 15)
    assert wizard.has_changes()


def test_unbind_asks_first(qtbot: Any, make_wizard: Any, hints: Preset, factory: Factory) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    next_page(qtbot, wizard)
    mailbox = wizard.mailbox_page
    wait_idle(qtbot, mailbox)
    click(qtbot, mailbox.bind_button)
    wait_idle(qtbot, mailbox)
    assert factory.reload().mailbox is not None, mailbox.banner.text()
    asked: list[str] = []
    mailbox.confirm = replies(False, asked=asked)
    click(qtbot, mailbox.unbind_button)
    assert len(asked) == 1 and asked[0].startswith("Unbind ") and "?" in asked[0]
    assert not mailbox.running and factory.reload().mailbox is not None
    mailbox.confirm = replies(True, asked=asked)
    click(qtbot, mailbox.unbind_button)
    wait_idle(qtbot, mailbox)
    assert factory.reload().mailbox is None


# -- item 14: the wizard fits a small screen at a scale factor of 2 ------------------------------------------
SMALL_SCREEN = QSize(1280, 720)  # device pixels; at QT_SCALE_FACTOR=2 that is 640×360 logical pixels
SCALE = 2


def test_the_wizard_fits_1280x720_at_scale_2_and_pages_scroll(
    qtbot: Any, make_wizard: Any, hints: Preset
) -> None:
    wizard = make_wizard(hints)
    room = SMALL_SCREEN / SCALE
    for page_id in wizard.pageIds():
        wizard.setStartId(page_id)
        wizard.restart()
        page = wizard.currentPage()
        page.banner.show_message("error", "What happened, and what to do next. " * 6)
        QApplication.processEvents()
        for size in (wizard.minimumSize(), wizard.minimumSizeHint()):
            assert size.width() <= room.width() and size.height() <= room.height(), (
                type(page).__name__,
                size,
            )
        # the page's own content scrolls instead of growing the window
        assert page.scroll_area.widget() is page.content
        assert page.scroll_area.widgetResizable()
        assert page.minimumSizeHint().height() <= room.height()
    # at the smallest size the buttons are inside the window
    wizard.resize(wizard.minimumSize())
    QApplication.processEvents()
    for which in (QWizard.WizardButton.BackButton, QWizard.WizardButton.CancelButton):
        button = wizard.button(which)
        corner = button.mapTo(wizard, button.rect().bottomRight())
        assert wizard.rect().contains(corner), which


def test_the_add_organization_dialog_scrolls_on_a_small_screen(
    qtbot: Any, make_wizard: Any, hints: Preset
) -> None:
    from tests.gui.helpers import open_add_dialog

    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    room = SMALL_SCREEN / SCALE
    hint = dialog.minimumSizeHint()
    assert hint.width() <= room.width() and hint.height() <= room.height(), hint
    dialog.reject()


# -- item 15: radio buttons and check boxes are visible on the dark palette ----------------------------------
def _indicator_contrast(widget: QWidget) -> float:
    """The highest contrast of any pixel of ``widget``'s indicator against the window colour."""
    from tests.gui.test_palette import contrast

    widget.show()
    QApplication.processEvents()
    style = widget.style()
    element = (
        QStyle.SubElement.SE_RadioButtonIndicator
        if isinstance(widget, QRadioButton)
        else QStyle.SubElement.SE_CheckBoxIndicator
    )
    option = QStyleOptionButton()
    widget.initStyleOption(option)  # type: ignore[attr-defined]
    rect = style.subElementRect(element, option, widget)
    image = widget.grab().toImage()
    window = widget.palette().color(QPalette.ColorRole.Window)
    scale = widget.devicePixelRatioF()
    return max(
        contrast(image.pixelColor(int(x * scale), int(y * scale)), window)
        for x in range(rect.left(), rect.right() + 1)
        for y in range(rect.top(), rect.bottom() + 1)
    )


def test_unchecked_indicators_contrast_with_the_dark_window(qtbot: Any, qapp: Any) -> None:
    from wizard.ui import app as app_module

    before_style, before_palette = qapp.style().name(), QPalette(qapp.palette())
    app_module.apply_palette(qapp, dark=True)
    try:
        for widget in (QRadioButton("Exchange (Autodiscover)"), QCheckBox("Contacts")):
            qtbot.addWidget(widget)
            assert _indicator_contrast(widget) >= 3.0, type(widget).__name__  # WCAG 1.4.11: 3:1
    finally:
        qapp.setStyle(before_style or "Fusion")
        qapp.setPalette(before_palette)


# -- item 17: one title, one question style, a tray that says what it does, mnemonics, a hint -----------------
def test_titles_do_not_repeat_the_application_name(qtbot: Any, make_wizard: Any) -> None:
    wizard = make_wizard()
    assert QApplication.applicationDisplayName() == "d365sync"
    assert "d365sync" not in wizard.windowTitle()  # Qt appends " — d365sync" itself


def test_every_confirmation_asks_yes_or_no(
    qtbot: Any, make_wizard: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []

    def question(parent: Any, title: str, text: str, buttons: Any, default: Any = None) -> Any:
        asked.append((buttons, default))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
    wizard = make_wizard()
    for ask in (
        lambda title, text: type(wizard).confirm(wizard, title, text),
        wizard.organizations_page.confirm,
        wizard.computer_page.confirm,
        wizard.mailbox_page.confirm,
    ):
        assert ask("Title", "Do it?") is False
    yes_no = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    assert asked == [(yes_no, QMessageBox.StandardButton.No)] * 4


def test_conflict_buttons_and_the_policy_have_mnemonics(qtbot: Any, make_wizard: Any) -> None:
    from wizard.ui.status import ConflictView
    from wizard.ui.status.widgets import ConflictCard

    wizard = make_wizard()
    policy_labels = [
        label
        for label in wizard.options_page.findChildren(QLabel)
        if label.buddy() is wizard.options_page.policy_combo
    ]
    assert policy_labels and "&" in policy_labels[0].text()
    fields = {f.name for f in dataclasses.fields(ConflictView)}
    values: dict[str, Any] = {
        "id": 1,
        "kind": "contacts",
        "field": "jobtitle",
        "crm_value": "a",
        "mailbox_value": "b",
    }
    holder = QWidget()
    qtbot.addWidget(holder)
    card = ConflictCard(
        ConflictView(**{k: v for k, v in values.items() if k in fields}), lambda *_: None, holder
    )
    for button in (card.use_mailbox, card.use_crm):
        assert "&" in button.text(), button.text()


def test_an_empty_organization_list_says_what_to_do(qtbot: Any, make_wizard: Any, hints: Preset) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    page = wizard.organizations_page
    assert page.rows == []
    assert page.empty_hint.isVisible() and "Add" in page.empty_hint.text()
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    assert not page.empty_hint.isVisible()
