"""The state DB's files on disk: what an error says about them, and the tombstones file beside the DB.

- :func:`problem` / :func:`storage_error`: SQLite and file-system errors sorted into real corruption (the only
  reason to set a file aside) and everything else (a full disk, read-only, locked, I/O), which becomes a typed
  :class:`StateDBError` that changes nothing (:class:`DiskFull` for a full disk);
- :func:`prepare_file`: the DB's folder 0700 and file 0600 (SQLite gives -wal/-shm/-journal the DB's mode);
- :func:`write_atomically` / :func:`read_tombstones`: the tombstones file (temporary file, fsync, rename, 0600);
- :func:`snapshot` / :func:`snapshot_cursor`: a CRM cursor's snapshot (wizard.sync.cursors.CrmCursor's JSON),
  read and written without importing the cursors (which import the state DB);
- :func:`move_aside`: a corrupted DB renamed with a timestamp.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from wizard.errors import D365SyncError, Severity

log = logging.getLogger(__name__)


class StateDBError(D365SyncError):
    """The state DB cannot be used: locked by another writer, newer schema, disk problems."""

    severity = Severity.ACCOUNT


class DiskFull(StateDBError):
    """The disk holding the state DB is full: the command stops before it changes anything."""

    severity = Severity.FATAL
    retriable = True  # once space is freed


TOMBSTONES_SUFFIX = ".tombstones"
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def is_locked(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


Problem = Literal["corrupt", "full", "readonly", "locked", "io", "other"]

_CODES: dict[int, Problem] = {
    sqlite3.SQLITE_CORRUPT: "corrupt",
    sqlite3.SQLITE_NOTADB: "corrupt",
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_READONLY: "readonly",
    sqlite3.SQLITE_PERM: "readonly",
    sqlite3.SQLITE_CANTOPEN: "readonly",
    sqlite3.SQLITE_BUSY: "locked",
    sqlite3.SQLITE_LOCKED: "locked",
    sqlite3.SQLITE_IOERR: "io",
}
_TEXTS: tuple[tuple[str, Problem], ...] = (
    ("malformed", "corrupt"),
    ("not a database", "corrupt"),
    ("quick_check", "corrupt"),
    ("disk is full", "full"),
    ("readonly", "readonly"),
    ("read-only", "readonly"),
    ("unable to open", "readonly"),
    ("locked", "locked"),
    ("busy", "locked"),
    ("i/o error", "io"),
)


def problem(exc: BaseException) -> Problem:
    """What an error from SQLite (or the file system) says about the file: only "corrupt" may set it aside."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return "full"
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "readonly"
        return "io"
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _CODES:
        return _CODES[code & 0xFF]
    text = str(exc).lower()
    return next((problem for needle, problem in _TEXTS if needle in text), "other")


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    return problem(exc) == "corrupt"


def storage_error(path: Path, exc: BaseException) -> StateDBError:
    """The typed error for a state DB that cannot be used as it is; the file stays as it is."""
    kind = problem(exc)
    if kind == "io" and nearly_full(path.parent):  # SQLite says "disk I/O error" when -shm cannot grow
        kind = "full"
    if kind == "full":
        return DiskFull(
            f"state DB {path}: the disk is full ({exc})",
            user_text=f"The disk holding {path.parent} is full; nothing was changed. "
            "Free some space there and synchronize again.",
        )
    if kind == "locked":
        return StateDBError(
            f"state DB is in use: {exc}",
            user_text="The sync state is in use by another d365sync process; nothing was changed. "
            "Try again in a moment.",
            retriable=True,
        )
    if kind == "readonly":
        return StateDBError(
            f"state DB {path} is not writable ({exc})",
            user_text=f"The sync state in {path.parent} cannot be written (the file or its folder is "
            "read-only); nothing was changed.",
            severity=Severity.FATAL,
        )
    return StateDBError(
        f"state DB {path}: {exc}",
        user_text=f"The sync state in {path.parent} cannot be read or written ({exc}); nothing was changed.",
        severity=Severity.FATAL,
        retriable=kind == "io",
    )


NEARLY_FULL_BYTES = 256 * 1024


def nearly_full(folder: Path) -> bool:
    """Less than a few pages left for us on the disk holding ``folder`` (an I/O error's likely cause)."""
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def prepare_file(path: Path) -> None:
    """The DB's folder (0700) and, when missing, the DB file (0600): SQLite gives its -wal/-shm/-journal files
    the DB file's mode, so they are private too whatever the umask."""
    try:
        path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except OSError as exc:
        raise storage_error(path, exc) from exc


def snapshot(value: str | None) -> tuple[dict[str, str], set[str]]:
    """The ``versions`` and ``retry`` ids of a CRM cursor (wizard.sync.cursors.CrmCursor's JSON: v2, or the
    old bare id -> version object); empty for anything else (the email kind's outbox)."""
    try:
        data = json.loads(value or "null")
    except ValueError:
        return {}, set()
    if not isinstance(data, dict):
        return {}, set()
    if "v" not in data:
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}, set()
    versions = data.get("versions")
    retry = data.get("retry")
    return (
        {str(k): str(v) for k, v in versions.items()} if isinstance(versions, dict) else {},
        {str(i).lower() for i in retry} if isinstance(retry, list) else set(),
    )


def snapshot_cursor(versions: Mapping[str, str]) -> str:
    """A CRM cursor (CrmCursor's v2 JSON) that holds only a snapshot: the next read is a full read that
    compares against it, so the rows in it are not new unless they changed since."""
    return json.dumps(
        {"v": 2, "token": None, "filters": None, "full_at": None, "versions": dict(versions), "retry": []},
        sort_keys=True,
    )


def before_replace(scratch: Path, target: Path) -> None:
    """Called between writing the tombstones' temporary file and renaming it over the old one: the place the
    crash simulation kills the process at (tests/simulation); does nothing."""


def write_atomically(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` (a 0600 temporary file, fsync, rename): a kill leaves the old or the new
    file, and at most a ``<name>.tmp-*`` file that :func:`clear_scratch` removes."""
    scratch: Path | None = None
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f"{target.name}.tmp-")  # 0600
        scratch = Path(name)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        before_replace(scratch, target)
        os.replace(scratch, target)
    except OSError:
        if scratch is not None:
            with contextlib.suppress(OSError):
                scratch.unlink()
        raise
    _fsync_folder(target.parent)


def clear_scratch(target: Path) -> None:
    """Remove the temporary files a kill left beside ``target``."""
    for stale in target.parent.glob(f"{target.name}.tmp-*"):
        with contextlib.suppress(OSError):
            stale.unlink()


def read_tombstones(path: Path) -> dict[str, dict[str, str]]:
    """kind -> CRM id -> version from the tombstones file; empty when missing or unusable (logged)."""
    try:
        data = json.loads(path.read_bytes())
        stones = data["tombstones"]
        return {str(kind): {str(cid): str(ver) for cid, ver in ids.items()} for kind, ids in stones.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("the tombstones file %s is unusable (%s); ignored", path, exc)
        return {}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def move_aside(path: Path, now: datetime) -> Path:
    """Rename a corrupted DB (and its WAL/SHM files) to ``<name>.corrupt-<timestamp>``; the tombstones file
    stays, to be restored into the fresh DB."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.replace(path.with_name(target.name + suffix))
    return target
