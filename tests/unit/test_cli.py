from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from wizard import cli
from wizard.cli import orgs


def test_unexpected_error_is_logged_not_dumped(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(factory: object, args: argparse.Namespace) -> int:
        raise RuntimeError("secret=hunter2 internal detail")

    monkeypatch.setattr(orgs, "cmd_orgs_list", broken)
    assert cli.main(["orgs", "list"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "unexpected error" in err
    assert "Traceback" not in err
    assert "hunter2" not in err
    log_text = (isolated_home / "logs" / "d365sync.log").read_text(encoding="utf-8")
    assert "RuntimeError" in log_text
    assert "hunter2" not in log_text


def test_no_command_without_display_prints_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert cli.main([]) == cli.EXIT_USAGE
    assert "orgs" in capsys.readouterr().out


def test_wizard_without_display_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert cli.main(["wizard"]) == cli.EXIT_FAILURE
    assert "no display" in capsys.readouterr().err
    assert cli.main(["demo"]) == cli.EXIT_FAILURE
    assert "--headless" in capsys.readouterr().err
