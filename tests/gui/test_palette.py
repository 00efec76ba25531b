"""Dark and light palettes: under the product's dark palette (Fusion) every wizard page and the status window
show no colour that is unreadable on their background: style-sheet colours (borders) keep 3:1, text 4.5:1
(WCAG 2), the line icons switch to their light twins, and a palette change while a window is open is
followed. No module of the GUI hard-codes a colour outside the one table made for both palettes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from wizard.app.factory import Factory
from wizard.ui import app as app_module
from wizard.ui.engine_adapter import EngineAdapter
from wizard.ui.icons import ICON_DIR, icon, palette_is_dark
from wizard.ui.status import ConflictView, KindRow, StatusView, StatusWindow
from wizard.ui.widgets import ACCENTS, AccentFrame, Hint, MessageBanner
from wizard.ui.workers import TaskRunner

pytestmark = pytest.mark.gui
UI_DIR = Path(__file__).resolve().parents[2] / "wizard" / "ui"
HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def luminance(colour: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())
    )


def contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.fixture
def dark(qapp: Any) -> Iterator[QApplication]:
    """The app as ``D365SYNC_COLOR_SCHEME=dark`` sets it up; the previous style and palette afterwards."""
    before_style, before_palette = qapp.style().name(), QPalette(qapp.palette())
    app_module.apply_palette(qapp, dark=True)
    yield qapp
    qapp.setStyle(before_style)
    qapp.setPalette(before_palette)


def unreadable(root: QWidget) -> list[str]:
    """Every colour under ``root`` that fails its contrast: style-sheet colours against the widget's window
    (3:1) and enabled labels' text against their window (4.5:1)."""
    problems = []
    for widget in [root, *root.findChildren(QWidget)]:
        palette = widget.palette()
        background = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Window)
        for found in HEX.findall(widget.styleSheet()):
            ratio = contrast(QColor(found), background)
            if ratio < 3.0:
                problems.append(f"{type(widget).__name__} {widget.objectName()}: {found} {ratio:.1f}:1")
        if isinstance(widget, QLabel) and widget.isEnabled() and widget.text():
            text = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText)
            ratio = contrast(text, background)
            if ratio < 4.5:
                problems.append(
                    f"label {widget.text()[:40]!r}: {text.name()} on {background.name()} {ratio:.1f}:1"
                )
    return problems


def test_no_module_hard_codes_a_colour_outside_the_accent_table() -> None:
    offenders = []
    for path in sorted(UI_DIR.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HEX.search(line) and not line.strip().startswith(tuple(f'"{k}": (' for k in ACCENTS)):
                offenders.append(f"{path.relative_to(UI_DIR)}:{number}: {line.strip()}")
    assert not offenders, (
        "colours belong in wizard/ui/widgets.py ACCENTS (a light and a dark one):\n" + "\n".join(offenders)
    )


def test_accents_and_palette_text_keep_their_contrast_on_both_palettes(qapp: Any) -> None:
    light = qapp.style().standardPalette()
    for name, palette in (("light", light), ("dark", app_module.dark_palette())):
        window = palette.color(QPalette.ColorRole.Window)
        for kind, (on_light, on_dark) in ACCENTS.items():
            colour = on_dark if name == "dark" else on_light
            assert contrast(QColor(colour), window) >= 3.0, (name, kind)
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.PlaceholderText):
            assert contrast(palette.color(role), window) >= 4.5, (name, role)
        assert contrast(palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)) >= 4.5


def test_every_wizard_page_is_readable_on_dark(qtbot: Any, dark: QApplication, factory: Factory) -> None:
    from wizard.ui.app import create_wizard

    assert palette_is_dark()
    wizard = create_wizard(factory)
    qtbot.addWidget(wizard)
    wizard.show()
    try:
        for page_id in wizard.pageIds():
            page = wizard.page(page_id)
            for banner in page.findChildren(MessageBanner):  # each kind of message the page can show
                for kind in ACCENTS:
                    banner.show_message(kind, "A message")
                    assert not unreadable(banner), (type(page).__name__, kind, unreadable(banner))
            assert not unreadable(page), (type(page).__name__, unreadable(page))
    finally:
        wizard.controller.shutdown(10000)


def test_the_status_window_is_readable_on_dark(qtbot: Any, dark: QApplication) -> None:
    view = StatusView(
        org_name="Contoso Sales",
        mailbox_address="anna.schmidt@contoso.com",
        mailbox_kind="exchange",
        is_sync_computer=True,
        kinds=[KindRow("contacts", conflicts=1), KindRow("tasks", last_status="error", errors=["Failed."])],
        conflicts=[ConflictView(1, "contacts", "Job title", "Einkauf", "Purchasing")],
        organizations=[("a", "Contoso Sales"), ("b", "Contoso Test")],
        sync_org_id="a",
    )
    adapter = EngineAdapter(lambda _r: None, runner=TaskRunner(pool=QThreadPool()))  # type: ignore[arg-type, return-value]
    window = StatusWindow(adapter, lambda: view, resolve=lambda _i, _u: None)
    adapter.setParent(window)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.refreshed, timeout=10000):
            window.show()
        assert window.cards and window.error_lines
        assert not unreadable(window), unreadable(window)
        assert ACCENTS["error"][1] in window.error_lines[0].styleSheet()
    finally:
        window.runner.wait_all(5000)
        window.dispose()


def test_line_icons_have_light_twins_on_dark(dark: QApplication) -> None:
    """Each icon's drawn pixels, averaged, stand out from the dark window (3:1), ok/warning/error/info too."""
    window = dark.palette().color(QPalette.ColorRole.Window)
    for path in sorted(ICON_DIR.glob("*.svg")):
        if path.stem == "app":
            continue
        image = icon(path.stem).pixmap(32, 32).toImage().convertToFormat(QImage.Format.Format_ARGB32)
        pixels = [image.pixelColor(x, y) for x in range(32) for y in range(32)]
        drawn = [p for p in pixels if p.alpha() > 200]
        assert drawn, path.stem
        # the outline (stroke) colour: the darkest or the lightest drawn pixel group, whichever is the icon's
        best = max(contrast(p, window) for p in drawn)
        assert best >= 3.0, (path.stem, best)
        if path.stem in ("sync", "eye", "eye-off"):
            assert (ICON_DIR / "dark" / path.name).exists()


def test_a_palette_change_while_open_is_followed(qtbot: Any, qapp: Any) -> None:
    before_style, before_palette = qapp.style().name(), QPalette(qapp.palette())
    host = QWidget()
    qtbot.addWidget(host)
    frame = AccentFrame("probe", host)
    frame.set_accent("error")
    label = Hint("A hint", host)
    try:
        app_module.apply_palette(qapp, dark=False)
        assert ACCENTS["error"][0] in frame.styleSheet()
        light_hint = label.palette().color(QPalette.ColorRole.WindowText)
        app_module.apply_palette(qapp, dark=True)
        qtbot.waitUntil(lambda: ACCENTS["error"][1] in frame.styleSheet(), timeout=5000)
        qtbot.waitUntil(
            lambda: label.palette().color(QPalette.ColorRole.WindowText) != light_hint, timeout=5000
        )
        assert label.palette().color(QPalette.ColorRole.WindowText) == app_module.dark_palette().color(
            QPalette.ColorRole.PlaceholderText
        )
    finally:
        qapp.setStyle(before_style)
        qapp.setPalette(before_palette)
