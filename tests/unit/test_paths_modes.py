"""The profile's files are private: umask 077 for the process, folders 0700, looser modes repaired at start-up."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import wizard.paths as paths
from wizard.paths import locations, repair_modes, take_repair_notes, use_private_modes

pytestmark = pytest.mark.skipif(os.name != "posix", reason="Windows has no file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "_repaired", set())  # each test is a new start-up


def test_use_private_modes_sets_umask_077() -> None:
    old = os.umask(0o022)
    try:
        use_private_modes()
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(old)


def test_ensure_creates_the_folders_0700(tmp_path: Path) -> None:
    old = os.umask(0o022)  # even without the process umask
    try:
        where = locations(tmp_path / "home").ensure()
    finally:
        os.umask(old)
    assert {_mode(f) for f in (*where.folders, tmp_path / "home")} == {0o700}


def test_a_profile_with_loose_modes_is_repaired_at_start_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    where = locations(home)
    for folder in where.folders:
        folder.mkdir(parents=True, mode=0o755)
        folder.chmod(0o755)
    home.chmod(0o755)
    org = where.state_dir / "0f8fad5b-d9cb-469f-a165-70867728950e"
    org.mkdir(mode=0o755)
    org.chmod(0o755)
    loose = [
        org / "sync-state.sqlite3",
        org / "sync-state.sqlite3-wal",
        where.log_file,
        where.log_dir / "d365sync.log.1",
        where.config_dir / "profile.json",
    ]
    for file in loose:
        file.write_text("x")
        file.chmod(0o644)
    private = where.data_dir / "already.bin"
    private.write_text("x")
    private.chmod(0o600)
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    outside.chmod(0o644)
    (where.cache_dir / "link").symlink_to(outside)  # a link is neither followed nor changed

    take_repair_notes()
    where.ensure()
    notes = "\n".join(take_repair_notes())
    everything = [home, *home.rglob("*")]
    assert {_mode(p) for p in everything if p.is_dir() and not p.is_symlink()} == {0o700}
    assert {_mode(p) for p in everything if p.is_file() and not p.is_symlink()} == {0o600}
    assert _mode(outside) == 0o644
    for path in (*loose, org, home):
        assert f"{path} was readable by other users" in notes
    assert str(private) not in notes
    where.ensure()  # once per process
    assert take_repair_notes() == []


def test_repair_modes_keeps_what_is_stricter(tmp_path: Path) -> None:
    top = tmp_path / "top"
    top.mkdir()
    (top / "a").write_text("x")
    (top / "a").chmod(0o640)
    (top / "b").write_text("x")
    (top / "b").chmod(0o400)
    top.chmod(0o750)
    assert sorted(repair_modes(top)) == [top, top / "a"]
    assert (_mode(top / "a"), _mode(top / "b"), _mode(top)) == (0o600, 0o400, 0o700)


def test_windows_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "_has_modes", lambda: False)
    (tmp_path / "a").write_text("x")
    (tmp_path / "a").chmod(0o644)
    assert repair_modes(tmp_path) == []
    assert _mode(tmp_path / "a") == 0o644
