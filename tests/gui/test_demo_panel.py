"""The windowed demo's "Demo environment" panel on the Welcome page (issue 12 item 16): every stand-in's address,
the on-premises one included, each with a Copy button; no panel outside the demo."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from tests.gui.helpers import click
from wizard.ui import presets
from wizard.ui.presets import Preset

pytestmark = pytest.mark.gui


def test_the_demo_shows_the_stand_ins_addresses_with_copy_buttons(
    qtbot: Any, make_wizard: Any, hints: Preset, info: dict[str, Any]
) -> None:
    wizard = make_wizard(hints)
    page = wizard.welcome_page
    assert wizard.currentPage() is page
    panel = page.demo_panel
    assert panel is not None and panel.isVisible()
    shown = {field.text() for field in panel.values.values()}
    expected = {
        info["onprem"]["url"],
        info["ews_url"],
        info["autodiscover_url"],
        info["graph_url"],
        info["authority_url"],
        info["discovery_url"],
        info["ca_file"],
        *(env["url"] for env in info["environments"]),
    }
    assert expected <= shown
    assert not any("POP3" in title for title in panel.values)  # no POP3/SMTP stand-in: said, not offered
    assert "not part of this demo" in [label.text() for label in panel.findChildren(QLabel)]
    title = next(t for t, f in panel.values.items() if f.text() == info["onprem"]["url"])
    assert "Contoso On-Premises" in title
    click(qtbot, panel.copy_buttons[title])
    assert QGuiApplication.clipboard().text() == info["onprem"]["url"]
    assert panel.copy_buttons[title].text() == "Copied"
    qtbot.waitUntil(lambda: panel.copy_buttons[title].text() == "Copy", timeout=5000)


def test_no_demo_panel_outside_the_demo(qtbot: Any, make_wizard: Any) -> None:
    wizard = make_wizard(presets.standard())
    assert wizard.welcome_page.demo_panel is None
