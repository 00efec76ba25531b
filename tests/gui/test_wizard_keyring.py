"""The add-organization and mailbox steps with a keyring that would store in clear: the banner says what to
install, and nothing is added or bound (issue 12 item 1, issue 11 item 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring
import pytest

from tests.gui.helpers import (
    add_via_discovery,
    click,
    next_page,
    open_add_dialog,
    sign_in_sandbox,
    wait_dialog_idle,
    wait_idle,
)
from wizard.app.factory import Factory
from wizard.sandbox import Sandbox
from wizard.ui.presets import Preset

plaintext_file = pytest.importorskip("keyrings.alt.file")

pytestmark = pytest.mark.gui


def _use_plaintext_keyring(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """keyrings.alt's PlaintextKeyring as a user has it (no opt-in), writing under ``root``."""
    monkeypatch.setenv("XDG_DATA_HOME", str(root))
    monkeypatch.delenv("D365SYNC_ALLOW_INSECURE_KEYRING", raising=False)
    keyring.set_keyring(plaintext_file.PlaintextKeyring())


@pytest.fixture
def plaintext_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plaintext keyring from the start; returns the folder it would write to."""
    root = tmp_path / "xdg-data"
    _use_plaintext_keyring(root, monkeypatch)
    return root


def _written(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _assert_refused(dialog: Any, wizard: Any, factory: Factory) -> None:
    assert dialog.banner.kind == "error"
    text = dialog.banner.text()
    assert "unencrypted on disk" in text
    assert "nothing was saved" in text
    assert "GNOME Keyring or KWallet" in text
    assert "No password is stored" not in text
    assert wizard.organizations_page.rows == []
    assert factory.reload().organizations == []


def test_online_sign_in_is_refused_and_adds_nothing(
    qtbot: Any, make_wizard: Any, hints: Preset, factory: Factory, plaintext_keyring: Path
) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    sign_in_sandbox(qtbot, dialog)
    _assert_refused(dialog, wizard, factory)
    assert dialog.environments.topLevelItemCount() == 0
    assert _written(plaintext_keyring) == []  # no token went into keyring_pass.cfg


def test_on_premises_connect_is_refused_and_adds_nothing(
    qtbot: Any,
    make_wizard: Any,
    hints: Preset,
    info: dict[str, Any],
    factory: Factory,
    plaintext_keyring: Path,
) -> None:
    anna = info["users"][0]
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    dialog = open_add_dialog(qtbot, wizard)
    dialog.url_radio.setChecked(True)
    dialog.url_edit.setText(info["onprem"]["url"])
    dialog.auth_combo.setCurrentIndex(dialog.auth_combo.findData("ntlm"))
    dialog.url_user.setText(anna["ntlm_username"])
    dialog.url_password.setText(anna["password"])
    click(qtbot, dialog.connect_button)
    wait_dialog_idle(qtbot, dialog)
    _assert_refused(dialog, wizard, factory)
    assert _written(plaintext_keyring) == []


def _record(sandbox: Sandbox) -> dict[str, Any]:
    env = sandbox.environment("contososales")
    systemuserid = sandbox.directory.users[0].systemuserid(env.org)
    (row,) = [r for r in env.store.rows("mailboxes") if r.get("_regardingobjectid_value") == systemuserid]
    return dict(row)


def test_mailbox_bind_is_refused_and_binds_nothing(
    qtbot: Any,
    make_wizard: Any,
    hints: Preset,
    sandbox: Sandbox,
    factory: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wizard = make_wizard(hints)
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")  # with the suite's keyring
    next_page(qtbot, wizard)
    mailbox = wizard.mailbox_page
    wait_idle(qtbot, mailbox)
    assert mailbox.password.text()  # the preset's Exchange password: it would go to the keyring
    record_before = _record(sandbox)
    root = tmp_path / "xdg-data"
    _use_plaintext_keyring(root, monkeypatch)
    click(qtbot, mailbox.bind_button)
    wait_idle(qtbot, mailbox)
    assert mailbox.banner.kind == "error"
    assert "unencrypted on disk" in mailbox.banner.text()
    assert "nothing was saved" in mailbox.banner.text()
    assert factory.reload().mailbox is None
    assert _record(sandbox) == record_before  # the mailbox record's delivery methods untouched
    assert _written(root) == []
