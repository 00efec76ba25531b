"""Every file and folder of a profile is private to the user (issue 11, item 4): after the wizard's steps and a
full sync against the stand-ins (the CLI in subprocesses, as a user runs it) everything under D365SYNC_HOME is
0600/0700, and a profile left with 0644/0755 by an older version is repaired at the next start."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_cli
from wizard.sandbox import Sandbox

pytestmark = pytest.mark.skipif(os.name != "posix", reason="Windows has no file modes")


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as box:  # with the demo data: something to sync
        yield box


def _ok(result: CliResult) -> CliResult:
    assert result.returncode == 0, result.stderr
    return result


def _modes(home: Path) -> dict[str, int]:
    return {
        str(p.relative_to(home.parent)): stat.S_IMODE(p.lstat().st_mode) for p in [home, *home.rglob("*")]
    }


def _loose(home: Path) -> dict[str, int]:
    modes = _modes(home)
    return {
        name: mode
        for name, mode in modes.items()
        if mode != (0o700 if (home.parent / name).is_dir() else 0o600)
    }


def test_a_demo_like_run_leaves_only_private_files(isolated_home: Path, sandbox: Sandbox) -> None:
    home = isolated_home
    home.chmod(0o755)  # as a user's umask 022 would have made it
    info = sandbox.port_info()
    anna = info["users"][0]
    _ok(run_cli(
        home, "orgs", "add", info["dataverse_url"], "--ca-file", info["ca_file"], "--username", anna["upn"],
        "--password-stdin", stdin=anna["password"] + "\n",
    ))  # fmt: skip
    _ok(run_cli(home, "instance", "claim", "--yes"))
    _ok(run_cli(
        home, "mailbox", "bind", anna["primary_email"], "--auth", "basic", "--autodiscover-url",
        info["autodiscover_url"], "--ca-file", info["ca_file"], "--password-stdin", stdin=anna["ews_password"] + "\n",
    ))  # fmt: skip
    _ok(run_cli(home, "sync", "--once"))
    _ok(run_cli(home, "status", "--json"))

    names = set(_modes(home))
    state_files = [n for n in names if "/state/" in n and n.endswith(".sqlite3")]
    assert state_files, sorted(names)  # the org's state DB is there (with its -wal/-shm while open)
    assert any(n.endswith("logs/d365sync.log") for n in names)
    assert any(n.endswith("config/profile.json") for n in names)
    assert any("msal_token_cache" in n for n in names), sorted(names)  # the token cache's signal/lock files
    assert _loose(home) == {}


def test_rotated_logs_are_private(isolated_home: Path) -> None:
    script = (
        "import logging, sys\n"
        "from wizard.paths import locations, use_private_modes\n"
        "from wizard import logging_setup\n"
        "use_private_modes()\n"
        "where = locations().ensure()\n"
        "logging_setup.configure(where)\n"
        "logging.getLogger('t').warning('one')\n"
        "for h in logging.getLogger().handlers:\n"
        "    getattr(h, 'doRollover', lambda: None)()\n"
        "logging.getLogger('t').warning('two')\n"
    )
    env = {**os.environ, "D365SYNC_HOME": str(isolated_home)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60, capture_output=True)
    logs = sorted(p.name for p in (isolated_home / "logs").iterdir())
    assert logs == ["d365sync.log", "d365sync.log.1"]
    assert _loose(isolated_home) == {}


def test_a_loose_profile_is_repaired_at_start_up(isolated_home: Path) -> None:
    home = isolated_home
    run_cli(home, "status")  # makes the folders and the log (exit 3: nothing configured)
    assert _loose(home) == {}
    for path in [home, *home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    (home / "config" / "profile.json").write_text("{}")
    (home / "config" / "profile.json").chmod(0o644)
    assert _loose(home)
    result = run_cli(home, "status")
    assert _loose(home) == {}
    # in the log, once it is set up; not on the terminal
    logged = (home / "logs" / "d365sync.log").read_text()
    assert "profile.json was readable by other users (mode 644); now private" in logged
    assert "now private" not in result.stderr
