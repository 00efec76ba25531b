"""The sync state DB: links (with the merge base), cursors, the create journal, conflicts, runs and errors.

One SQLite file per profile (``Locations.state_db``), WAL, one writer, a busy timeout and no retry loop on
"database is locked" (OfflineIMAP's lesson): a locked DB is reported as a retriable error. Every write is a
short ``BEGIN IMMEDIATE`` transaction, or one per batch of items (:meth:`StateDB.batch`). The schema has a version and an ascending upgrade ladder; the file
is copied aside before an upgrade. The file and its -wal/-shm files are 0600, its folder 0700.

Only real corruption (SQLITE_CORRUPT, SQLITE_NOTADB, a failed ``PRAGMA quick_check``) sets a file aside (renamed
with a timestamp) for a fresh DB: ``StateDB.rebuilt`` tells the engine to relink through the ``crmid`` on
mailbox items. A full disk, a read-only file or folder, an I/O error or a locked DB never does: it is a
:class:`StateDBError` that stops the command and changes nothing (:class:`DiskFull` for a full disk).

Tombstones: what keeps a deletion from being undone when a file really is set aside. A row the user removed
from the mailbox while Dynamics 365 keeps it (a contact deleted in the mailbox, a declined delete) is
remembered only as an unlinked entry of its kind's CRM snapshot (the CRM cursor's ``versions``, see
wizard.sync.cursors.CrmCursor): a fresh DB has no snapshot, reads every row as new and would create it in the
mailbox again. So every commit that changes them writes those entries (kind -> CRM id -> version) to a small
second file beside the DB, ``<db>.tombstones`` (atomically, 0600), and a new DB starts with them as its
CRM snapshot: the rows stay out of the mailbox until they change in Dynamics 365 (the original's rule). Opening
a healthy DB rewrites the file if it is stale (a kill between a commit and the file).

No SQL lives outside this module; callers get dataclasses.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from wizard.errors import Severity
from wizard.settings.enums import Kind
from wizard.sync.merge import FieldConflict
from wizard.sync.model import Fields, Link, content_hash
from wizard.sync.planner import UNRESOLVED, WAITING, Links
from wizard.sync.statefile import (
    FILE_MODE,
    TOMBSTONES_SUFFIX,
    clear_scratch,
    is_corruption,
    is_locked,
    move_aside,
    prepare_file,
    problem,
    read_tombstones,
    snapshot,
    snapshot_cursor,
    storage_error,
    write_atomically,
)
from wizard.sync.statefile import DiskFull as DiskFull  # the state DB's errors, re-exported
from wizard.sync.statefile import StateDBError as StateDBError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 5000
ID_PAGE = 500  # ids per ``IN (...)`` look-up (SQLite allows 32,766 parameters; a page keeps memory small)

Side = Literal["crm", "mailbox"]
RunDirection = Literal["to_crm", "to_mailbox"]


# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class JournalEntry:
    """An intended create. ``side`` is where the item is created; ``source_id`` the id on the other side.

    ``target_id`` is known in advance when the caller chose the new id (Dataverse accepts a client GUID),
    else it is filled in once the create is resolved. ``payload`` is kept only for a create that follows a
    delete of the same record (a CRM row moving to another table, see :meth:`StateDB.journal_conversion`):
    what to create again if a crash comes between the two.
    """

    id: int
    kind: Kind
    side: Side
    source_id: str
    payload_hash: str
    created_at: str
    state: Literal["pending", "done"]
    target_id: str | None = None
    payload: Any = None

    @property
    def is_conversion(self) -> bool:
        return self.payload_hash == CONVERSION


#: ``payload_hash`` of a conversion entry (a delete followed by a create of the same row in another table)
CONVERSION = "conversion"


@dataclass(frozen=True)
class Recovered:
    """A pending create resolved at start-up: ``target_id`` None means it had never been made."""

    entry: JournalEntry
    target_id: str | None
    linked: bool


@dataclass(frozen=True)
class ConflictRecord:
    id: int
    kind: Kind
    crm_id: str
    mailbox_id: str
    field: str
    crm_value: Any
    mailbox_value: Any
    base_value: Any
    policy: str
    reason: str
    winner: str | None
    resolved: bool
    created_at: str
    resolved_at: str | None
    item: str = ""  # the record's name when the conflict was logged ("" in a conflict logged before schema 4)


@dataclass
class RunCounts:
    """Counts for one kind and direction in one run."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unlinked: int = 0
    conflicts: int = 0
    errors: int = 0

    def add(self, other: RunCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class RunRecord:
    id: int
    started: str
    finished: str | None
    status: str
    counts: Mapping[tuple[str, str], RunCounts] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorRecord:
    run_id: int
    kind: str | None
    severity: Severity
    message: str
    item: str | None


# ------------------------------------------------------------------------------------------- schema


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run DDL statements one by one: ``executescript`` would COMMIT the upgrade's transaction."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE links (
            kind TEXT NOT NULL, crm_id TEXT NOT NULL, mailbox_id TEXT NOT NULL,
            crm_etag TEXT, mailbox_change_key TEXT, content_hash TEXT, base TEXT,
            linked_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            PRIMARY KEY (kind, crm_id), UNIQUE (kind, mailbox_id));
        CREATE TABLE cursors (
            kind TEXT NOT NULL, side TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, side));
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, side TEXT NOT NULL,
            source_id TEXT NOT NULL, payload_hash TEXT NOT NULL, target_id TEXT,
            created_at TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'done')));
        CREATE INDEX journal_pending ON journal (state);
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, crm_id TEXT NOT NULL,
            mailbox_id TEXT NOT NULL, field TEXT NOT NULL, crm_value TEXT, mailbox_value TEXT,
            base_value TEXT, policy TEXT NOT NULL, reason TEXT NOT NULL, winner TEXT,
            resolved INTEGER NOT NULL, created_at TEXT NOT NULL, resolved_at TEXT);
        CREATE INDEX conflicts_open ON conflicts (resolved, kind);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT,
            status TEXT NOT NULL);
        CREATE TABLE run_counts (
            run_id INTEGER NOT NULL REFERENCES runs (id), kind TEXT NOT NULL, direction TEXT NOT NULL,
            created INTEGER NOT NULL, updated INTEGER NOT NULL, deleted INTEGER NOT NULL,
            unlinked INTEGER NOT NULL, conflicts INTEGER NOT NULL, errors INTEGER NOT NULL,
            PRIMARY KEY (run_id, kind, direction));
        CREATE TABLE errors (
            id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs (id),
            kind TEXT, severity INTEGER NOT NULL, message TEXT NOT NULL, item TEXT);
        """,
    )


def _v3(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE journal ADD COLUMN payload TEXT")


def _v4(db: sqlite3.Connection) -> None:
    """Conflicts name their record (a contact's name, a subject) so the log can say which one it was."""
    db.execute("ALTER TABLE conflicts ADD COLUMN item TEXT NOT NULL DEFAULT ''")


UPGRADES: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1, 2: _v2, 3: _v3, 4: _v4}
"""version -> the step that brings the schema from version-1 to version (the ladder)."""


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------- the DB


class StateDB:
    """The engine's memory. Open with :meth:`open`; use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        rebuilt: bool,
        moved_to: Path | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = conn
        self.path = path
        self.rebuilt = rebuilt
        self.moved_to = moved_to
        self._clock = clock
        self._depth = 0
        self._tombstones_dirty = False  # a commit may have changed the tombstones: rewrite the file
        self._tombstone_ids: set[tuple[str, str]] = set()  # (kind, CRM id) in the file now
        self._tombstones_kept: dict[str, dict[str, str]] = {}  # what the file holds (as far as we know)
        self._tombstones_next: dict[str, dict[str, str]] | None = None  # computed before the commit
        self.base_reads = 0  # links read with their merge base (a seam: a run with nothing to do reads none)

    # ------------------------------------------------------------------ opening, versions, corruption

    @classmethod
    def open(cls, path: str | Path, *, clock: Callable[[], datetime] = _utcnow) -> StateDB:
        """Open (creating or upgrading) the DB; a corrupted file is moved aside and ``rebuilt`` is True.

        Anything else that keeps the file from being used (full disk, read-only, locked, I/O error) raises a
        :class:`StateDBError` and leaves the file as it is."""
        path = Path(path)
        in_memory = str(path) == ":memory:"
        if not in_memory:
            prepare_file(path)
        moved_to: Path | None = None
        try:
            conn = cls._connect_checked(path)
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise storage_error(path, exc) from exc
            moved_to = move_aside(path, clock())
            log.warning("state DB %s was corrupted (%s); moved to %s, starting afresh", path, exc, moved_to)
            prepare_file(path)
            try:
                conn = cls._connect_checked(path)
            except sqlite3.DatabaseError as again:
                raise storage_error(path, again) from again
        db = cls(conn, path, rebuilt=moved_to is not None, moved_to=moved_to, clock=clock)
        try:
            fresh = db.schema_version == 0
            db._upgrade()
            if not in_memory:
                db._settle_tombstones(restore=fresh)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise storage_error(path, exc) from exc
        except BaseException:
            conn.close()
            raise
        return db

    @staticmethod
    def _connect_checked(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {row[0] if row else 'no answer'}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _upgrade(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StateDBError(
                f"state DB schema {version} is newer than this program's {SCHEMA_VERSION}",
                user_text="The sync state was written by a newer version of d365sync. Please update.",
                severity=Severity.FATAL,
            )
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            backup = self.path.with_name(f"{self.path.name}.v{version}.bak")
            with contextlib.suppress(FileExistsError):
                os.close(os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
            target = sqlite3.connect(backup)
            try:
                self._db.backup(target)
            finally:
                target.close()
            log.info("state DB schema %d -> %d; copy kept at %s", version, SCHEMA_VERSION, backup)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                # another connection may have upgraded while this one waited for the write lock
                if int(self._db.execute("PRAGMA user_version").fetchone()[0]) >= step:
                    continue
                UPGRADES[step](self._db)
                self._db.execute(f"PRAGMA user_version = {step}")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One short write transaction; nested uses join the outer one.

        A full disk, a read-only file or an I/O error while writing rolls the transaction back and raises a
        :class:`StateDBError` (:class:`DiskFull`); a DB locked by another writer a retriable one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if is_locked(exc):
                raise StateDBError(f"state DB is busy: {exc}", retriable=True) from exc
            raise storage_error(self.path, exc) from exc
        self._depth = 1
        try:
            yield
        except sqlite3.OperationalError as exc:
            self._rollback()
            if problem(exc) == "other":
                raise
            raise storage_error(self.path, exc) from exc
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                self._before_commit()
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise storage_error(self.path, exc) from exc
            except BaseException:
                self._rollback()
                raise
        finally:
            self._depth = 0
        if self._tombstones_dirty:
            self._write_tombstones()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One write transaction for a batch of items' links, merge bases and journal entries (one commit, not
        one or two per item); nested in a transaction it joins that one.

        It behaves like its items committed one by one: an exception from the block (an item's error, a link
        refused, a kind aborted) still commits what the block wrote before it, then propagates. Only an error
        of SQLite itself rolls the batch back (as :meth:`transaction`). A kill loses the batch's bookkeeping
        only: journal entries are committed as pending before the writes they announce, and the next run's
        recovery resolves them (``recover_creates``), as after a kill between two items' commits."""
        if self._depth:
            with self.transaction():
                yield
            return
        stopped: BaseException | None = None
        with self.transaction():
            try:
                yield
            except sqlite3.Error:  # the DB itself failed: roll back (and report it as transaction() does)
                raise
            except BaseException as exc:  # an item's error, a kind aborted: commit the items done before it
                stopped = exc
        if stopped is not None:
            raise stopped

    def _rollback(self) -> None:
        self._tombstones_dirty = False
        self._tombstones_next = None
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back itself (SQLITE_FULL)
                self._db.execute("ROLLBACK")

    # ------------------------------------------------------------------------------------ tombstones

    @property
    def tombstones_path(self) -> Path:
        return self.path.with_name(self.path.name + TOMBSTONES_SUFFIX)

    def tombstones(self) -> dict[str, dict[str, str]]:
        """kind -> CRM id -> version of the rows in a kind's CRM snapshot that are not linked on purpose (the
        user removed them from the mailbox; see the module docstring). Failed creates (``retry``) are not.

        Worked out by SQLite's JSON functions where it has them, so the snapshot (every in-scope row of a
        kind) is not taken into Python memory on every commit that touches it: only the tombstones are."""
        with contextlib.suppress(sqlite3.OperationalError):  # no JSON functions: in Python below
            return self._tombstones_in_sql()
        linked: dict[str, set[str]] = {}
        for kind, crm_id in self._db.execute("SELECT kind, crm_id FROM links").fetchall():
            linked.setdefault(kind, set()).add(str(crm_id).lower())
        out: dict[str, dict[str, str]] = {}
        for kind, value in self._db.execute(
            "SELECT kind, value FROM cursors WHERE side = 'crm' ORDER BY kind"
        ).fetchall():
            versions, retry = snapshot(value)
            skip = linked.get(kind, set()) | retry
            kept = {cid: ver for cid, ver in sorted(versions.items()) if cid.lower() not in skip}
            if kept:
                out[kind] = kept
        return out

    def _tombstones_in_sql(self) -> dict[str, dict[str, str]]:
        """:meth:`tombstones` for CRM cursors in CrmCursor's JSON (v2); the old format in Python."""
        out: dict[str, dict[str, str]] = {}
        kinds = [
            str(kind)
            for (kind,) in self._db.execute(
                "SELECT kind FROM cursors WHERE side = 'crm' AND json_valid(value) AND json_type(value) = 'object'"
                " AND json_type(value, '$.v') IS NOT NULL AND json_type(value, '$.versions') = 'object'"
                " ORDER BY kind"
            )
        ]
        for kind in kinds:  # per kind, so that both subqueries are computed once (not once per row)
            rows = self._db.execute(
                "SELECT j.key, j.value FROM cursors AS c, json_each(c.value, '$.versions') AS j"
                " WHERE c.kind = ? AND c.side = 'crm'"
                " AND lower(j.key) NOT IN (SELECT lower(crm_id) FROM links WHERE kind = ?)"
                " AND lower(j.key) NOT IN (SELECT lower(r.value) FROM cursors AS d, json_each(d.value, '$.retry')"
                "   AS r WHERE d.kind = ? AND d.side = 'crm' AND json_type(d.value, '$.retry') = 'array')"
                " ORDER BY j.key",
                (kind, kind, kind),
            )
            for crm_id, version in rows:
                out.setdefault(kind, {})[str(crm_id)] = str(version)
        old = self._db.execute(  # the old format (a bare id -> version object, no "v"): rare, small
            "SELECT kind, value FROM cursors WHERE side = 'crm' AND NOT (json_valid(value)"
            " AND json_type(value) = 'object' AND json_type(value, '$.v') IS NOT NULL) ORDER BY kind"
        ).fetchall()
        for kind, value in old:
            versions, _retry = snapshot(value)
            if not versions:
                continue
            linked = {
                str(cid).lower()
                for (cid,) in self._db.execute("SELECT crm_id FROM links WHERE kind = ?", (kind,))
            }
            kept = {cid: ver for cid, ver in sorted(versions.items()) if cid.lower() not in linked}
            if kept:
                out[str(kind)] = kept
        return dict(sorted(out.items()))

    def _write_tombstones(self, stones: dict[str, dict[str, str]] | None = None) -> None:
        """Write the tombstones file (temporary file, fsync, rename): a kill leaves the old or the new one.

        ``stones`` None: what the DB holds now, and the file is exact again."""
        self._tombstones_dirty = False
        exact = stones is None
        if stones is None:
            stones = self._tombstones_next if self._tombstones_next is not None else self.tombstones()
        self._tombstones_next = None
        if stones == self._tombstones_kept and (self.tombstones_path.exists() or not stones):
            return
        data = json.dumps({"v": 1, "tombstones": stones}, sort_keys=True).encode()
        try:
            write_atomically(self.tombstones_path, data)
        except OSError as exc:
            raise storage_error(self.path, exc) from exc
        self._kept(stones)
        self._tombstones_dirty = not exact

    def _before_commit(self) -> None:
        """Before a commit that changes the tombstones, the file gets the old ones AND the new ones (this
        connection sees its own uncommitted changes): whenever the process is killed, the file holds at least
        every tombstone committed. After the commit, :meth:`_write_tombstones` makes it exact."""
        if not self._tombstones_dirty:
            return
        new = self.tombstones()
        both = {kind: dict(ids) for kind, ids in self._tombstones_kept.items()}
        for kind, ids in new.items():
            both.setdefault(kind, {}).update(ids)
        self._write_tombstones(both)
        self._tombstones_dirty = True
        self._tombstones_next = new  # what the DB holds once committed: no need to read it again

    def _kept(self, stones: dict[str, dict[str, str]]) -> None:
        self._tombstones_kept = stones
        self._tombstone_ids = {(kind, cid.lower()) for kind, ids in stones.items() for cid in ids}

    def _read_tombstones(self) -> dict[str, dict[str, str]]:
        return read_tombstones(self.tombstones_path)

    def _settle_tombstones(self, *, restore: bool) -> None:
        """At open: clear scratch files a kill left; in a new DB, restore the tombstones kept beside the file
        as the kinds' CRM snapshots; then make the file match the DB."""
        clear_scratch(self.tombstones_path)
        kept = self._read_tombstones()
        if restore and kept:
            with self.transaction():
                for kind, versions in sorted(kept.items()):
                    if self.cursor(Kind(kind), "crm") is None:
                        self.set_cursor(Kind(kind), "crm", snapshot_cursor(versions))
            count = sum(len(v) for v in kept.values())
            log.warning(
                "state DB %s started afresh; %d deletion(s) kept in %s restored, so they are not undone",
                self.path,
                count,
                self.tombstones_path,
            )
        self._kept(kept)
        self._write_tombstones()  # only if the DB holds others than the file (a kill in between)

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # ----------------------------------------------------------------------------------------- links

    def links(self, kind: Kind) -> dict[str, Link]:
        """All links of a kind, keyed by CRM id (the planner's input)."""
        rows = self._db.execute("SELECT * FROM links WHERE kind = ? ORDER BY crm_id", (kind,)).fetchall()
        return {row[1]: self._link(row) for row in rows}

    def link_table(self, kind: Kind) -> StoredLinks:
        """The links of a kind for the planner: ids looked up when asked, merge bases read only for the pairs
        that need one (see wizard.sync.planner.Links)."""
        return StoredLinks(self, kind)

    def _linked(self, kind: Kind, column: str, ids: Iterable[str]) -> dict[str, str]:
        """``column`` value -> the other id (CRM id <-> mailbox id) of the links among ``ids``, in pages."""
        other = "mailbox_id" if column == "crm_id" else "crm_id"
        wanted = sorted(set(ids))
        out: dict[str, str] = {}
        for start in range(0, len(wanted), ID_PAGE):
            page = wanted[start : start + ID_PAGE]
            marks = ", ".join("?" for _ in page)
            rows = self._db.execute(
                f"SELECT {column}, {other} FROM links WHERE kind = ? AND {column} IN ({marks})",  # noqa: S608
                (kind, *page),
            )
            out.update({str(a): str(b) for a, b in rows})
        return out

    def link_pairs(self, kind: Kind) -> Iterator[tuple[str, str]]:
        """Every link's (CRM id, mailbox id) of a kind, in CRM id order (no base)."""
        for crm_id, mailbox_id in self._db.execute(
            "SELECT crm_id, mailbox_id FROM links WHERE kind = ? ORDER BY crm_id", (kind,)
        ).fetchall():
            yield str(crm_id), str(mailbox_id)

    def links_by_crm(self, kind: Kind, crm_ids: Iterable[str]) -> dict[str, Link]:
        """The links (merge bases included) of those of ``crm_ids`` that are linked, read in pages."""
        wanted = sorted(set(crm_ids))
        out: dict[str, Link] = {}
        for start in range(0, len(wanted), ID_PAGE):
            page = wanted[start : start + ID_PAGE]
            marks = ", ".join("?" for _ in page)
            rows = self._db.execute(
                f"SELECT * FROM links WHERE kind = ? AND crm_id IN ({marks})",  # noqa: S608
                (kind, *page),
            ).fetchall()
            out.update({str(row[1]): self._link(row) for row in rows})
        return out

    def waiting_dates(self, kind: Kind) -> dict[str, list[str]]:
        """CRM id -> the ``@waiting`` dates of the links whose base notes some (recurring series whose
        mailbox exceptions wait for Dynamics 365), without reading their merge bases."""
        rows = self._db.execute(
            "SELECT crm_id, base FROM links WHERE kind = ? AND base LIKE ?", (kind, f'%"{WAITING}"%')
        ).fetchall()
        out: dict[str, list[str]] = {}
        for crm_id, text in rows:  # the LIKE is a coarse filter: the JSON decides
            dates = self._member(text, WAITING)
            if dates:
                out[str(crm_id)] = [str(d) for d in dates]
        return out

    def series_links(self, kind: Kind) -> list[str]:
        """The CRM ids of the links whose base holds a recurrence (a recurring series), in CRM id order."""
        try:
            rows = self._db.execute(
                "SELECT crm_id FROM links WHERE kind = ? AND json_type(base, '$.recurrence') NOT IN ('null')"
                " ORDER BY crm_id",
                (kind,),
            ).fetchall()
        except sqlite3.OperationalError:  # an SQLite without its JSON functions: look in Python
            every = self._db.execute(
                "SELECT crm_id, base FROM links WHERE kind = ? AND base LIKE ? ORDER BY crm_id",
                (kind, '%"recurrence"%'),
            ).fetchall()
            return [str(cid) for cid, text in every if self._member(text, "recurrence") is not None]
        return [str(crm_id) for (crm_id,) in rows]

    @staticmethod
    def _member(text: str | None, name: str) -> Any:
        """One top-level member of a stored base (not counted as a merge base read: nothing else is kept)."""
        base = _load(text)
        return base.get(name) if isinstance(base, dict) else None

    def link_by_crm(self, kind: Kind, crm_id: str) -> Link | None:
        row = self._db.execute("SELECT * FROM links WHERE kind = ? AND crm_id = ?", (kind, crm_id)).fetchone()
        return None if row is None else self._link(row)

    def link_by_mailbox(self, kind: Kind, mailbox_id: str) -> Link | None:
        row = self._db.execute(
            "SELECT * FROM links WHERE kind = ? AND mailbox_id = ?", (kind, mailbox_id)
        ).fetchone()
        return None if row is None else self._link(row)

    def count_links(self, kind: Kind) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM links WHERE kind = ?", (kind,)).fetchone()[0])

    def count_waiting(self, kind: Kind) -> int:
        """Exceptions of recurring series that wait for Dynamics 365 to make their occurrences (the dates a
        link's base notes under ``@waiting``; see wizard.sync.records.appointment_series)."""
        rows = self._db.execute(
            "SELECT base FROM links WHERE kind = ? AND base LIKE ?", (kind, f'%"{WAITING}"%')
        ).fetchall()
        return sum(len((_load(base) or {}).get(WAITING) or ()) for (base,) in rows)

    def _link(self, row: tuple[Any, ...]) -> Link:
        kind, crm_id, mailbox_id, etag, change_key, chash, base, linked_at, updated_at = row
        self.base_reads += 1
        return Link(kind, crm_id, mailbox_id, _load(base), etag, change_key, chash, linked_at, updated_at)

    def mailbox_change_key(self, kind: Kind, mailbox_id: str) -> str | None:
        """The change key stored on the link of a mailbox item (None: no link, or none stored)."""
        row = self._db.execute(
            "SELECT mailbox_change_key FROM links WHERE kind = ? AND mailbox_id = ?", (kind, mailbox_id)
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def link(
        self,
        kind: Kind,
        crm_id: str,
        mailbox_id: str,
        base: Fields | None,
        *,
        crm_etag: str | None = None,
        mailbox_change_key: str | None = None,
    ) -> Link:
        """Create a link; a link already held by either id is an error (links are one-to-one)."""
        now = self._now()
        chash = None if base is None else content_hash(base)
        if (kind, crm_id.lower()) in self._tombstone_ids:
            self._tombstones_dirty = True  # linked again: no longer a deletion to remember
        try:
            with self.transaction():
                self._db.execute(
                    "INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, crm_id, mailbox_id, crm_etag, mailbox_change_key, chash, _dump(base), now, now),
                )
        except sqlite3.IntegrityError as exc:
            raise StateDBError(
                f"{kind}: {crm_id} or {mailbox_id} is already linked", severity=Severity.ITEM
            ) from exc
        return Link(kind, crm_id, mailbox_id, base, crm_etag, mailbox_change_key, chash, now, now)

    def update_base(
        self,
        kind: Kind,
        crm_id: str,
        base: Fields,
        *,
        crm_etag: str | None = None,
        mailbox_change_key: str | None = None,
    ) -> None:
        """Store a new merge base (and the versions it was read at, when given).

        An open conflict of the record whose field the base no longer lists as undecided (``@unresolved``)
        is settled: both sides agree on it now (the user made them equal, or a policy decided it)."""
        with self.transaction():
            cur = self._db.execute(
                "UPDATE links SET base = ?, content_hash = ?, updated_at = ?,"
                " crm_etag = COALESCE(?, crm_etag), mailbox_change_key = COALESCE(?, mailbox_change_key)"
                " WHERE kind = ? AND crm_id = ?",
                (_dump(base), content_hash(base), self._now(), crm_etag, mailbox_change_key, kind, crm_id),
            )
            if cur.rowcount != 1:
                raise StateDBError(f"{kind}: no link for {crm_id}", severity=Severity.ITEM)
            self._settle_conflicts(kind, crm_id, keep=set(base.get(UNRESOLVED) or ()))

    def forget(self, kind: Kind, *, crm_id: str | None = None, mailbox_id: str | None = None) -> bool:
        """Drop the link held by either id; True if there was one. Its open conflicts are settled: there is no
        pair left to give one value."""
        with self.transaction():
            self._tombstones_dirty = True  # its CRM row may be in the snapshot: a deletion to remember
            gone = self._db.execute(
                "SELECT crm_id FROM links WHERE kind = ? AND (crm_id = ? OR mailbox_id = ?)",
                (kind, crm_id, mailbox_id),
            ).fetchall()
            cur = self._db.execute(
                "DELETE FROM links WHERE kind = ? AND (crm_id = ? OR mailbox_id = ?)",
                (kind, crm_id, mailbox_id),
            )
            for (linked_crm_id,) in gone:
                self._settle_conflicts(kind, linked_crm_id, keep=set())
        return cur.rowcount > 0

    def forget_all_links(self, kind: Kind) -> None:
        with self.transaction():
            self._tombstones_dirty = True
            self._db.execute("DELETE FROM links WHERE kind = ?", (kind,))

    # --------------------------------------------------------------------------------------- cursors

    def cursor(self, kind: Kind, side: Side) -> str | None:
        row = self._db.execute(
            "SELECT value FROM cursors WHERE kind = ? AND side = ?", (kind, side)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_cursor(self, kind: Kind, side: Side, value: str | None) -> None:
        """Remember a delta link / sync state; None forgets it (the next run lists everything)."""
        with self.transaction():
            if side == "crm" and kind != Kind.EMAIL:  # email's slot is its outbox, no snapshot
                self._tombstones_dirty = True  # the snapshot the tombstones come from
            if value is None:
                self._db.execute("DELETE FROM cursors WHERE kind = ? AND side = ?", (kind, side))
            else:
                self._db.execute(
                    "INSERT INTO cursors VALUES (?, ?, ?) ON CONFLICT (kind, side) DO UPDATE SET value = excluded.value",
                    (kind, side, value),
                )

    # --------------------------------------------------------------------------------------- journal

    def journal_create(
        self, kind: Kind, side: Side, source_id: str, payload_hash: str, *, target_id: str | None = None
    ) -> JournalEntry:
        """Write down a create BEFORE sending it, so a crash before it is recorded cannot duplicate it."""
        now = self._now()
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO journal (kind, side, source_id, payload_hash, target_id, created_at, state)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending')",
                (kind, side, source_id, payload_hash, target_id, now),
            )
        assert cur.lastrowid is not None
        return JournalEntry(cur.lastrowid, kind, side, source_id, payload_hash, now, "pending", target_id)

    def journal_conversion(
        self, kind: Kind, crm_id: str, mailbox_id: str, payload: Mapping[str, Any]
    ) -> JournalEntry:
        """Write down, before deleting CRM row ``crm_id``, the row that will replace it under the same id in
        another table (``payload``: whatever the caller needs to create it again). The link stays as it is;
        the entry is done once the new row exists (or the old one is back)."""
        now = self._now()
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO journal (kind, side, source_id, payload_hash, target_id, created_at, state, payload)"
                " VALUES (?, 'crm', ?, ?, ?, ?, 'pending', ?)",
                (kind, mailbox_id, CONVERSION, crm_id, now, _dump(payload)),
            )
        assert cur.lastrowid is not None
        return JournalEntry(
            cur.lastrowid, kind, "crm", mailbox_id, CONVERSION, now, "pending", crm_id, payload
        )

    def journal_done(self, entry_id: int, target_id: str | None) -> None:
        """The create was sent and recorded (or is known never to have happened: ``target_id`` None)."""
        with self.transaction():
            self._db.execute(
                # a conversion's row (user data) is not kept once it is no longer needed
                "UPDATE journal SET state = 'done', target_id = ?, payload = NULL WHERE id = ?",
                (target_id, entry_id),
            )

    def pending_creates(self, kind: Kind | None = None) -> list[JournalEntry]:
        sql = "SELECT id, kind, side, source_id, payload_hash, created_at, state, target_id, payload FROM journal"
        sql += " WHERE state = 'pending'" + (" AND kind = ?" if kind else "") + " ORDER BY id"
        rows = self._db.execute(sql, (kind,) if kind else ()).fetchall()
        return [
            JournalEntry(id_, kind_, side, source, digest, created, state, target, _load(payload))
            for id_, kind_, side, source, digest, created, state, target, payload in rows
        ]

    def recover_creates(
        self, find: Callable[[JournalEntry], str | None], *, kinds: Collection[str] | None = None
    ) -> list[Recovered]:
        """Resolve creates left pending by a crash; call once at start-up, before planning.

        ``find(entry)`` looks for the created item on ``entry.side``: for the mailbox, the item whose
        crmid is ``entry.source_id``; for CRM, the row ``entry.target_id`` (a client-chosen GUID). It
        returns its id or None. A found item is linked with no base (the next merge compares both sides,
        nothing is assumed); an item not found was never created, and the next plan creates it again.
        An exception from ``find`` leaves the entry pending for the next start (no retry loop here).
        ``kinds`` limits recovery to the kinds whose owner knows how to look (email recovers its own).
        Conversions (:meth:`journal_conversion`) are not resolved here: their row must be made again.
        """
        out: list[Recovered] = []
        for entry in self.pending_creates():
            if (kinds is not None and entry.kind not in kinds) or entry.is_conversion:
                continue
            target = find(entry)
            linked = False
            if target is not None:
                crm_id, mailbox_id = (
                    (entry.source_id, target) if entry.side == "mailbox" else (target, entry.source_id)
                )
                with self.transaction():
                    if self.link_by_crm(entry.kind, crm_id) is None and (
                        self.link_by_mailbox(entry.kind, mailbox_id) is None
                    ):
                        self.link(entry.kind, crm_id, mailbox_id, None)
                        linked = True
                    self.journal_done(entry.id, target)
            else:
                self.journal_done(entry.id, None)
            out.append(Recovered(entry, target, linked))
        return out

    # ------------------------------------------------------------------------------------- conflicts

    def record_conflict(
        self, kind: Kind, crm_id: str, mailbox_id: str, conflict: FieldConflict, policy: str
    ) -> int:
        """Keep a losing value. An identical unresolved conflict is not stored twice ("ask" repeats); an open
        one on the same field with other values is closed (superseded: its values are out of date)."""
        values = (_dump(conflict.crm), _dump(conflict.mailbox), _dump(conflict.base))
        with self.transaction():
            if not conflict.resolved:
                row = self._db.execute(
                    "SELECT id FROM conflicts WHERE resolved = 0 AND kind = ? AND crm_id = ? AND field = ?"
                    " AND crm_value IS ? AND mailbox_value IS ? AND base_value IS ?",
                    (kind, crm_id, conflict.field, *values),
                ).fetchone()
                if row is not None:
                    return int(row[0])
            # an open conflict on the same field is out of date: this one has the values the sides hold now
            self._db.execute(
                "UPDATE conflicts SET resolved = 1, resolved_at = ? WHERE resolved = 0 AND kind = ?"
                " AND crm_id = ? AND field = ?",
                (self._now(), kind, crm_id, conflict.field),
            )
            now = self._now()
            cur = self._db.execute(
                "INSERT INTO conflicts (kind, crm_id, mailbox_id, field, crm_value, mailbox_value, base_value,"
                " policy, reason, winner, resolved, created_at, resolved_at, item)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind, crm_id, mailbox_id, conflict.field, *values, policy, conflict.reason,
                    conflict.winner, int(conflict.resolved), now, now if conflict.resolved else None,
                    conflict.item,
                ),
            )  # fmt: skip
        assert cur.lastrowid is not None
        return cur.lastrowid

    def _settle_conflicts(self, kind: Kind, crm_id: str, *, keep: Collection[str]) -> None:
        """Close the open ("ask") conflicts of a record except those on ``keep``'s fields: they are no longer
        conflicts (resolved, no winner: nothing was applied by d365sync). Call inside a transaction."""
        rows = self._db.execute(
            "SELECT id, field FROM conflicts WHERE resolved = 0 AND kind = ? AND crm_id = ?", (kind, crm_id)
        ).fetchall()
        now = self._now()
        for conflict_id, name in rows:
            if name not in keep:
                self._db.execute(
                    "UPDATE conflicts SET resolved = 1, resolved_at = ? WHERE id = ?", (now, conflict_id)
                )

    def conflicts(self, kind: Kind | None = None, *, unresolved_only: bool = False) -> list[ConflictRecord]:
        sql = (
            "SELECT id, kind, crm_id, mailbox_id, field, crm_value, mailbox_value, base_value, policy, reason,"
            " winner, resolved, created_at, resolved_at, item FROM conflicts WHERE 1 = 1"
        )
        args: list[Any] = []
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if unresolved_only:
            sql += " AND resolved = 0"
        rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [
            ConflictRecord(
                r[0], r[1], r[2], r[3], r[4], _load(r[5]), _load(r[6]), _load(r[7]), r[8], r[9], r[10],
                bool(r[11]), r[12], r[13], r[14],
            )
            for r in rows
        ]  # fmt: skip

    def resolve_conflict(self, conflict_id: int, winner: Literal["crm", "mailbox"]) -> None:
        """Mark a conflict decided; applying the chosen value is the engine's job (an ordinary edit)."""
        with self.transaction():
            self._db.execute(
                "UPDATE conflicts SET resolved = 1, winner = ?, resolved_at = ? WHERE id = ?",
                (winner, self._now(), conflict_id),
            )

    # ------------------------------------------------------------------------------- runs and errors

    def start_run(self) -> int:
        with self.transaction():
            cur = self._db.execute("INSERT INTO runs (started, status) VALUES (?, 'running')", (self._now(),))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def add_counts(self, run_id: int, kind: Kind, direction: RunDirection, counts: RunCounts) -> None:
        """Add to a run's counts for one kind and direction (called as batches finish)."""
        with self.transaction():
            self._db.execute(
                _ADD_COUNTS_SQL, (run_id, kind, direction, *(getattr(counts, n) for n in _COUNT_NAMES))
            )

    def finish_run(self, run_id: int, status: str) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE runs SET finished = ?, status = ? WHERE id = ?", (self._now(), status, run_id)
            )

    def record_error(
        self, run_id: int, kind: Kind | None, severity: Severity, message: str, item: str | None = None
    ) -> None:
        """Keep a failure for the status window; ``message`` must already be free of secrets."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO errors (run_id, kind, severity, message, item) VALUES (?, ?, ?, ?, ?)",
                (run_id, kind, int(severity), message, item),
            )

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first, with their counts."""
        out: list[RunRecord] = []
        for run_id, started, finished, status in self._db.execute(
            "SELECT id, started, finished, status FROM runs ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall():
            counts = {
                (row[0], row[1]): RunCounts(*row[2:])
                for row in self._db.execute(
                    "SELECT kind, direction, created, updated, deleted, unlinked, conflicts, errors"
                    " FROM run_counts WHERE run_id = ? ORDER BY kind, direction",
                    (run_id,),
                ).fetchall()
            }
            out.append(RunRecord(run_id, started, finished, status, counts))
        return out

    def errors(self, run_id: int) -> list[ErrorRecord]:
        rows = self._db.execute(
            "SELECT run_id, kind, severity, message, item FROM errors WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()
        return [ErrorRecord(r[0], r[1], Severity(r[2]), r[3], r[4]) for r in rows]


class StoredLinks(Links):
    """A kind's links in the state DB as the planner reads them (:class:`wizard.sync.planner.Links`): nothing
    is held in memory; ids are looked up in pages, merge bases read only for the pairs that ask for them."""

    def __init__(self, db: StateDB, kind: Kind) -> None:
        self._state = db
        self.kind = kind

    def linked(self, crm_ids: Collection[str]) -> dict[str, str]:
        return self._state._linked(self.kind, "crm_id", crm_ids) if crm_ids else {}

    def by_mailbox(self, mailbox_ids: Collection[str]) -> dict[str, str]:
        return self._state._linked(self.kind, "mailbox_id", mailbox_ids) if mailbox_ids else {}

    def pairs(self) -> Iterator[tuple[str, str]]:
        return self._state.link_pairs(self.kind)

    def bases(self, crm_ids: Collection[str]) -> dict[str, Link]:
        return self._state.links_by_crm(self.kind, crm_ids) if crm_ids else {}

    def __len__(self) -> int:
        return self._state.count_links(self.kind)


_COUNT_NAMES = tuple(f.name for f in fields(RunCounts))
_ADD_COUNTS_SQL = (  # built from the dataclass's own field names, never from input
    f"INSERT INTO run_counts (run_id, kind, direction, {', '.join(_COUNT_NAMES)})"  # noqa: S608
    f" VALUES (?, ?, ?, {', '.join('?' for _ in _COUNT_NAMES)})"
    " ON CONFLICT (run_id, kind, direction) DO UPDATE SET "
    + ", ".join(f"{n} = {n} + excluded.{n}" for n in _COUNT_NAMES)
)
