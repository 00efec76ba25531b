"""The state DB when the disk is not well: only real corruption sets a file aside; a full disk, a read-only
file or an I/O error stops with a typed error and changes nothing; tombstones survive a file set aside."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import wizard.sync.statefile as statefile
from wizard.errors import D365SyncError, Severity
from wizard.settings.enums import Kind
from wizard.sync.cursors import CrmCursor
from wizard.sync.state import DiskFull, StateDB, StateDBError

CONTACTS = Kind.CONTACTS


def clock() -> datetime:
    return datetime(2026, 12, 7, 16, 0, 0, tzinfo=UTC)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _with_history(path: Path) -> None:
    """A DB that remembers a contact deleted in the mailbox: c1 in the CRM snapshot, not linked; c2 linked."""
    with StateDB.open(path, clock=clock) as db:
        db.link(CONTACTS, "c2", "m2", {"lastname": "Zwei"})
        db.set_cursor(CONTACTS, "crm", CrmCursor(token="t", versions={"c1": 'W/"1"', "c2": 'W/"2"'}).dump())
        db.set_cursor(CONTACTS, "mailbox", "sync-state")


# ----------------------------------------------------------------------------------- disk full, read-only


def test_a_full_disk_at_open_is_no_corruption(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.sqlite3"
    _with_history(path)
    before = _files(tmp_path)

    def full(_path: Path) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(StateDB, "_connect_checked", staticmethod(full))
    with pytest.raises(DiskFull) as info:
        StateDB.open(path, clock=clock)
    error = info.value
    assert isinstance(error, D365SyncError) and error.severity is Severity.FATAL and error.retriable
    assert error.user_text.startswith(f"The disk holding {tmp_path} is full; nothing was changed")
    assert _files(tmp_path) == before  # nothing set aside, nothing rewritten
    monkeypatch.undo()
    with StateDB.open(path) as db:  # space freed: everything is still there
        assert not db.rebuilt and db.link_by_crm(CONTACTS, "c2") is not None
        assert db.cursor(CONTACTS, "mailbox") == "sync-state"


class _FailingWrites:
    """The connection, except that writes fail as SQLite fails them on a full disk (or read-only file)."""

    def __init__(self, conn: sqlite3.Connection, error: sqlite3.OperationalError) -> None:
        self._conn, self._error = conn, error

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            raise self._error
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.mark.parametrize(
    ("message", "code", "expected", "severity"),
    [
        ("database or disk is full", None, DiskFull, Severity.FATAL),
        ("database or disk is full", sqlite3.SQLITE_FULL, DiskFull, Severity.FATAL),
        ("attempt to write a readonly database", sqlite3.SQLITE_READONLY, StateDBError, Severity.FATAL),
        ("disk I/O error", sqlite3.SQLITE_IOERR, StateDBError, Severity.FATAL),
    ],
)
def test_a_failing_write_rolls_back_and_stops_with_a_typed_error(
    tmp_path: Path, message: str, code: int | None, expected: type[StateDBError], severity: Severity
) -> None:
    path = tmp_path / "state.sqlite3"
    _with_history(path)
    error = sqlite3.OperationalError(message)
    if code is not None:
        error.sqlite_errorcode = code
    with StateDB.open(path, clock=clock) as db:
        real = db._db
        db._db = _FailingWrites(real, error)  # type: ignore[assignment]
        with pytest.raises(expected) as info, db.transaction():
            db.forget(CONTACTS, crm_id="c2")
        assert info.value.severity is severity and "nothing was changed" in info.value.user_text
        db._db = real
        assert not real.in_transaction and db.link_by_crm(CONTACTS, "c2") is not None
        db.set_cursor(CONTACTS, "mailbox", "next")  # the DB is usable again
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_read_only_file_is_not_set_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.sqlite3"
    _with_history(path)

    def read_only(_path: Path) -> sqlite3.Connection:
        error = sqlite3.OperationalError("attempt to write a readonly database")
        error.sqlite_errorcode = sqlite3.SQLITE_READONLY
        raise error

    monkeypatch.setattr(StateDB, "_connect_checked", staticmethod(read_only))
    with pytest.raises(StateDBError) as info:
        StateDB.open(path)
    assert not isinstance(info.value, DiskFull) and "read-only" in info.value.user_text
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_full_disk_while_creating_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def no_space(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "mkdir", no_space)
    with pytest.raises(DiskFull):
        StateDB.open(tmp_path / "org" / "state.sqlite3")


# ---------------------------------------------------------------------------------- real corruption


def test_a_corrupt_file_is_set_aside_and_its_tombstones_restored(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    _with_history(path)
    stones = tmp_path / "state.sqlite3.tombstones"
    assert stat.S_IMODE(stones.stat().st_mode) == 0o600
    path.write_bytes(b"\x00garbage, not a database" * 200)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    with StateDB.open(path, clock=clock) as db:
        assert db.rebuilt and db.moved_to is not None and db.moved_to.exists()
        assert db.links(CONTACTS) == {}
        restored = CrmCursor.load(db.cursor(CONTACTS, "crm"))
        # c1 (deleted in the mailbox, kept in Dynamics 365) is in the snapshot: a full read does not see it as
        # new, so it is not created in the mailbox again; c2 (linked) is not: it is relinked by its crmid.
        assert restored.versions == {"c1": 'W/"1"'} and restored.token is None
        assert db.tombstones() == {CONTACTS: {"c1": 'W/"1"'}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_damaged_pages_set_aside_only_through_quick_check(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with StateDB.open(path) as db:
        for i in range(300):
            db.link(CONTACTS, f"c{i}", f"m{i}", {"x": "y" * 200})
        db._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    raw[4096 * 2 : 4096 * 6] = b"\xa5" * (4096 * 4)
    path.write_bytes(bytes(raw))
    with StateDB.open(path) as db:
        assert db.rebuilt


def test_an_unknown_sqlite_error_is_not_taken_for_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.sqlite3"
    _with_history(path)

    def odd(_path: Path) -> sqlite3.Connection:
        raise sqlite3.OperationalError("something SQLite never said before")

    monkeypatch.setattr(StateDB, "_connect_checked", staticmethod(odd))
    with pytest.raises(StateDBError):
        StateDB.open(path)
    assert not list(tmp_path.glob("*.corrupt-*"))


# ------------------------------------------------------------------------------------------- tombstones


def test_tombstones_follow_links_and_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    stones = tmp_path / "state.sqlite3.tombstones"
    with StateDB.open(path) as db:
        db.link(CONTACTS, "c1", "m1", None)
        db.set_cursor(CONTACTS, "crm", CrmCursor(versions={"c1": "e1", "c3": "e3"}, retry=["c3"]).dump())
        assert db.tombstones() == {} and not stones.exists()  # c3 failed: a retry, not a deletion
        db.forget(CONTACTS, mailbox_id="m1")  # deleted in the mailbox
        assert db.tombstones() == {CONTACTS: {"c1": "e1"}}
        assert db._read_tombstones() == {CONTACTS: {"c1": "e1"}}
        db.link(CONTACTS, "c1", "m9", None)  # back in the mailbox
        assert db._read_tombstones() == {}
        db.set_cursor(Kind.EMAIL, "crm", '{"outbox": {"a": "<m@x>"}}')  # not a snapshot
        assert db._read_tombstones() == {}


@pytest.mark.parametrize(
    ("change", "renamed", "kept"),
    [
        ("forget", False, None),  # killed before the file: nothing committed either
        ("forget", True, {"c1": "e1"}),  # the file has the new tombstone before the DB commits it
        ("link", False, {"c1": "e1"}),  # committed, the file not yet exact: a superset, never less
    ],
)
def test_a_kill_while_writing_the_tombstones_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, renamed: bool, kept: dict[str, str] | None
) -> None:
    """A kill at the tombstones file's rename (before or after it), followed at once by a lost DB (no healthy
    open in between): the rebuilt DB gets every tombstone the lost one had committed."""
    path = tmp_path / "state.sqlite3"

    def killed(scratch: Path, target: Path) -> None:
        if renamed:
            os.replace(scratch, target)
        raise KeyboardInterrupt  # stands for SIGKILL: nothing after this line runs

    with StateDB.open(path) as db:
        db.set_cursor(CONTACTS, "crm", CrmCursor(versions={"c1": "e1"}).dump())
        if change == "forget":
            db.link(CONTACTS, "c1", "m1", None)
        assert db.tombstones() == ({} if change == "forget" else {CONTACTS: {"c1": "e1"}})
        monkeypatch.setattr(statefile, "before_replace", killed)
        with pytest.raises(KeyboardInterrupt):
            if change == "forget":
                db.forget(CONTACTS, crm_id="c1")
            else:
                db.link(CONTACTS, "c1", "m1", None)
        monkeypatch.undo()
    path.write_bytes(b"not a database" * 300)  # and then the DB is lost
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    with StateDB.open(path) as db:
        assert db.rebuilt
        assert CrmCursor.load(db.cursor(CONTACTS, "crm")).versions == kept
    assert not list(tmp_path.glob("state.sqlite3.tombstones.tmp-*"))  # what the kill left is cleared


def test_a_healthy_open_makes_the_tombstones_file_exact(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with StateDB.open(path) as db:
        db.set_cursor(CONTACTS, "crm", CrmCursor(versions={"c1": "e1"}).dump())
    (tmp_path / "state.sqlite3.tombstones").write_text(
        '{"v": 1, "tombstones": {"contacts": {"c1": "e1", "c9": "e9"}}}'
    )  # a superset, as a kill between the two writes leaves it
    with StateDB.open(path) as db:
        assert db._read_tombstones() == {CONTACTS: {"c1": "e1"}}


def test_an_unusable_tombstones_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite3"
    (tmp_path / "state.sqlite3.tombstones").write_text("{not json")
    with StateDB.open(path) as db:
        assert db.cursor(CONTACTS, "crm") is None
    assert "unusable" in caplog.text


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_db_and_its_wal_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "org" / "state.sqlite3"
        with StateDB.open(path) as db:
            db.link(CONTACTS, "c1", "m1", None)
            db.set_cursor(CONTACTS, "crm", CrmCursor(versions={"c1": "e1", "c2": "e2"}).dump())
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        os.umask(old)
    assert {"state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm", "state.sqlite3.tombstones"} <= set(
        modes
    )
    assert set(modes.values()) == {0o600}, modes
