"""Closing the wizard over the status window reads the profile again; a profile damaged meanwhile is said in a
message box and the window keeps the profile it had (never an exception out of the Qt slot)."""

from __future__ import annotations

from typing import Any

import pytest

from wizard.app.factory import Factory
from wizard.settings.profile import OrgProfile

pytestmark = pytest.mark.gui


def test_a_profile_damaged_while_the_wizard_was_open_is_said_and_the_old_one_kept(
    qtbot: Any, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from wizard.ui import app

    org = OrgProfile(id="org-1", display_name="Contoso Sales", web_url="https://s", api_url="https://s")
    factory.profile.organizations.append(org)
    factory.save()
    assert app.reload_after_wizard(factory)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: shown.append(text))
    factory.where.profile_file.write_bytes(b"{ not json")
    assert not app.reload_after_wizard(factory)
    assert len(shown) == 1 and "profile" in shown[0].lower(), shown
    assert [o.display_name for o in factory.profile.organizations] == ["Contoso Sales"]
