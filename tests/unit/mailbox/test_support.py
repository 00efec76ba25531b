"""The real-server fixtures must never let CI skip silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import dovecot


def test_missing_dovecot_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(dovecot, "DOVECOT", tmp_path / "no-dovecot")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        dovecot.require_dovecot()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        dovecot.require_dovecot()
