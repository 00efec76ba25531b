"""The wizard's header in a narrow window: a subtitle that wraps to more lines (German, a scale factor of 2)
gets the height it needs instead of being cut off (seen under Xvfb at QT_SCALE_FACTOR=2 in German)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QLabel

from tests.gui.helpers import next_page
from wizard.ui import i18n
from wizard.ui.wizard import MINIMUM_SIZE

pytestmark = pytest.mark.gui


@pytest.fixture
def german(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(i18n.LANG_ENV, "de")
    yield
    i18n.remove_translations()


def _subtitle(wizard: Any) -> QLabel:
    page = wizard.currentPage()
    (label,) = [
        label
        for label in wizard.findChildren(QLabel)
        if label.isVisible() and label.wordWrap() and label.text() == page.subTitle()
    ]
    return label


def test_a_long_subtitle_is_not_cut_off_in_a_narrow_window(qtbot: Any, make_wizard: Any, german: Any) -> None:
    wizard = make_wizard()
    wizard.resize(MINIMUM_SIZE)
    for _ in range(2):  # Welcome, then Organizations (whose German subtitle wraps to three lines here)
        qtbot.waitUntil(lambda: wizard.width() == MINIMUM_SIZE.width())
        label = _subtitle(wizard)
        try:
            qtbot.waitUntil(
                lambda shown=label: shown.height() >= shown.heightForWidth(shown.width()), timeout=2000
            )
        except AssertionError:
            pytest.fail(
                f"cut off: {label.text()!r} has {label.height()} px, needs {label.heightForWidth(label.width())}"
            )
        if wizard.currentPage() is wizard.welcome_page:
            next_page(qtbot, wizard)
    assert wizard.currentPage() is wizard.organizations_page
