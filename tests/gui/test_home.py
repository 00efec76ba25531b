"""Plain `d365sync`: the wizard until setup is complete, then the status window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wizard.app.factory import Factory
from wizard.paths import locations
from wizard.settings import MailboxBinding, OrgProfile
from wizard.ui import app


def _factory() -> Factory:
    return Factory(locations().ensure())


def _note(calls: list[str], name: str, result: int) -> int:
    """What a stand-in for run_wizard / run_status does: note that it ran, return its exit code."""
    calls.append(name)
    return result


def _configure(factory: Factory) -> None:
    org = OrgProfile(id="org-1", display_name="Contoso Sales", web_url="https://x", api_url="https://x")
    factory.profile.organizations.append(org)
    factory.profile.sync_org_id = org.id
    factory.profile.mailbox = MailboxBinding(address="anna.schmidt@contoso.com", kind="exchange")
    factory.save()


def test_first_run_opens_the_wizard_then_the_status_window(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    factory = _factory()

    def fake_wizard(s: Factory, *, preset: Any = None) -> int:
        calls.append("wizard")
        _configure(s)
        return 0

    monkeypatch.setattr(app, "run_wizard", fake_wizard)
    monkeypatch.setattr(app, "run_status", lambda s, open_wizard=None: _note(calls, "status", 0))
    assert app.run_home(factory) == 0
    assert calls == ["wizard", "status"]


def test_cancelled_wizard_opens_nothing_else(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(app, "run_wizard", lambda s, preset=None: _note(calls, "wizard", 1))
    monkeypatch.setattr(app, "run_status", lambda s, open_wizard=None: _note(calls, "status", 0))
    assert app.run_home(_factory()) == 1
    assert calls == ["wizard"]


def test_configured_profile_goes_straight_to_the_status_window(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = _factory()
    _configure(factory)
    calls: list[str] = []
    monkeypatch.setattr(app, "run_wizard", lambda s, preset=None: _note(calls, "wizard", 0))
    monkeypatch.setattr(app, "run_status", lambda s, open_wizard=None: _note(calls, "status", 0))
    assert app.run_home(factory) == 0
    assert calls == ["status"]
