"""The offline store: one SQLite file per profile and organization with the offline rows and the change queue.

Per row: the table, the id, the row version (ETag) it was downloaded at, the downloaded row (the merge base
of go-online), the current local row, and whether it is deleted locally. An FTS5 index covers each table's
primary name, email and phone columns. Every offline create, update and delete is journaled in the queue in
the same transaction as the local row change (operation, the fields it set, the row version it was made
against, a sequence number; creates carry the client-generated GUID as the row id), so a process killed at
any moment leaves either both or neither. The file is private (0600 in a 0700 folder) and in WAL mode.

Rows are dicts of Web API names: columns, lookup values ``_x_value`` with their table in
``_x_value@Microsoft.Dynamics.CRM.lookuplogicalname``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from wizard.crm.metadata import TableDefinition
from wizard.errors import D365SyncError, Severity
from wizard.offline.tables import BY_NAME, FORMATTED, LOOKUP_TABLE, OfflineTable, table
from wizard.sync.statefile import prepare_file, storage_error

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000
_ORG_ID = re.compile(r"[0-9A-Fa-f-]{36}")

Op = Literal["create", "update", "delete"]

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rows (
    rid INTEGER PRIMARY KEY, tbl TEXT NOT NULL, id TEXT NOT NULL, etag TEXT, base TEXT, local TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, UNIQUE (tbl, id)
);
CREATE VIRTUAL TABLE search USING fts5 (body, tokenize = 'unicode61');
CREATE TABLE queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, id TEXT NOT NULL, op TEXT NOT NULL,
    fields TEXT NOT NULL, row_version TEXT, created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_row ON queue (tbl, id);
CREATE TABLE names (tbl TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (tbl, id));
CREATE TABLE definitions (tbl TEXT PRIMARY KEY, definition TEXT NOT NULL);
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, rid TEXT NOT NULL, field TEXT NOT NULL,
    server_value TEXT, local_value TEXT, base_value TEXT, policy TEXT NOT NULL, reason TEXT NOT NULL,
    winner TEXT, resolved INTEGER NOT NULL, item TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,
    resolved_at TEXT
);
"""


class OfflineStoreError(D365SyncError):
    """The offline store cannot be used (newer schema, not an offline store)."""

    severity = Severity.ACCOUNT


def store_path(data_dir: Path, org_id: str) -> Path:
    """``<data>/offline/<org id>.sqlite3``: one store per profile (its data folder) and organization."""
    if not _ORG_ID.fullmatch(org_id):
        raise ValueError(f"not an organization id: {org_id!r}")
    return data_dir / "offline" / f"{org_id.lower()}.sqlite3"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LocalRow:
    table: str
    id: str
    etag: str | None
    base: dict[str, Any] | None  # None: created offline, not on the server yet
    local: dict[str, Any]
    deleted: bool
    pending: bool  # unsent changes in the queue

    def name(self) -> str:
        return str(self.local.get(table(self.table).primary_name) or "")


@dataclass(frozen=True)
class QueuedChange:
    seq: int
    table: str
    id: str
    op: Op
    fields: dict[str, Any]
    row_version: str | None
    created_at: str
    status: str  # pending | held (waits for the user: a conflict or a duplicate)
    note: str


@dataclass(frozen=True)
class OfflineConflict:
    id: int
    table: str
    row_id: str
    field: str  # "*": the whole record (deleted on one side, edited on the other); "duplicate"
    server_value: Any
    local_value: Any
    base_value: Any
    policy: str
    reason: str
    winner: str | None  # "server", "local", None (open: the user decides)
    resolved: bool
    item: str
    created_at: str
    resolved_at: str | None


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


#: a search matching more rows than this (all tables) lists them in store order, not by relevance
RANKED_MATCHES = 2000
_SEARCH = (
    "SELECT r.tbl, r.id, r.etag, r.base, r.local, r.deleted FROM search s JOIN rows r ON r.rid = s.rowid"
    " WHERE search MATCH ? AND r.tbl = ? AND r.deleted = 0"
)
_RANKED_SEARCH = _SEARCH + " ORDER BY rank LIMIT ?"
_STORE_ORDER_SEARCH = _SEARCH + " ORDER BY s.rowid LIMIT ?"


def search_text(spec: OfflineTable, row: Mapping[str, Any]) -> str:
    return " ".join(str(row.get(name) or "") for name in spec.search_columns).strip()


def fts_query(text: str) -> str:
    """User text as an FTS5 query: each word a quoted prefix term, all required (no FTS5 syntax leaks)."""
    words = re.findall(r"\w+", text, flags=re.UNICODE)
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def project_row(spec: OfflineTable, row: Mapping[str, Any]) -> dict[str, Any]:
    """What the store keeps of a server row: the table's fields, read-only columns, lookup tables."""
    out: dict[str, Any] = {}
    for name in (*spec.fields, *spec.read_only):
        out[name] = row.get(name)
    for lookup in spec.lookups:
        target = row.get(lookup.value_name + LOOKUP_TABLE)
        if target is None and len(lookup.targets) == 1 and row.get(lookup.value_name):
            target = next(iter(lookup.targets))
        out[lookup.value_name + LOOKUP_TABLE] = target
    return out


def _name_locally(spec: OfflineTable, local: dict[str, Any]) -> None:
    """A full name the service computes (contacts, leads) made locally from first and last name, as Dataverse's
    default "First Last" format does, so records edited offline are listed and found by name."""
    if spec.primary_name == "fullname" and "fullname" in spec.read_only:
        parts = [str(local.get(n) or "").strip() for n in ("firstname", "lastname")]
        local["fullname"] = " ".join(p for p in parts if p) or None


class OfflineStore:
    """One open offline store. Not thread-safe: one connection, used by one thread at a time."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._db = conn
        self.path = path
        self._depth = 0

    # -- opening -----------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> OfflineStore:
        path = Path(path)
        if str(path) != ":memory:":
            prepare_file(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise storage_error(path, exc) from exc
        store = cls(conn, path)
        try:
            store._upgrade()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise storage_error(path, exc) from exc
        except BaseException:
            conn.close()
            raise
        return store

    def _upgrade(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise OfflineStoreError(
                f"offline store schema {version} is newer than {SCHEMA_VERSION}",
                user_text="The offline store was written by a newer version of d365sync. Please update.",
            )
        if version == 0:
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> OfflineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction (nested calls join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._db.execute("ROLLBACK")
            raise
        self._depth = 0
        self._db.execute("COMMIT")

    # -- meta --------------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
                    (key, value, value),
                )

    def token(self, table_name: str) -> str | None:
        return self.get_meta(f"token:{table_name}")

    def set_token(self, table_name: str, token: str) -> None:
        self.set_meta(f"token:{table_name}", token)

    # -- definitions and names ---------------------------------------------------------------------------
    def save_definition(self, definition: TableDefinition) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO definitions (tbl, definition) VALUES (?, ?)",
                (definition.logical_name, _dump(definition.to_json())),
            )

    def definition(self, table_name: str) -> TableDefinition | None:
        row = self._db.execute("SELECT definition FROM definitions WHERE tbl = ?", (table_name,)).fetchone()
        return TableDefinition.from_json(json.loads(row[0])) if row else None

    def set_names(self, names: Iterable[tuple[str, str, str]]) -> None:
        """``(table, id, name)`` of rows the offline rows refer to (owners, parent accounts...)."""
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO names (tbl, id, name) VALUES (?, ?, ?)",
                ((t, i.lower(), n) for t, i, n in names),
            )

    def name_of(self, table_name: str, row_id: str) -> str | None:
        found = self.row(table_name, row_id) if table_name in BY_NAME else None
        if found is not None and found.name():
            return found.name()
        row = self._db.execute(
            "SELECT name FROM names WHERE tbl = ? AND id = ?", (table_name, row_id.lower())
        ).fetchone()
        return str(row[0]) if row else None

    # -- rows --------------------------------------------------------------------------------------------
    def _index(self, spec: OfflineTable, row_id: str, local: Mapping[str, Any] | None) -> None:
        """The row's search entry (the FTS5 row with the row's ``rid``): replaced, or removed (``None``)."""
        found = self._db.execute(
            "SELECT rid FROM rows WHERE tbl = ? AND id = ?", (spec.logical_name, row_id)
        ).fetchone()
        if found is None:
            return
        self._db.execute("DELETE FROM search WHERE rowid = ?", (found[0],))
        if local is not None:
            self._db.execute(
                "INSERT INTO search (rowid, body) VALUES (?, ?)", (found[0], search_text(spec, local))
            )

    def _forget(self, spec: OfflineTable, row_id: str) -> int:
        """Remove a row and its search entry; how many rows went (0 or 1)."""
        self._index(spec, row_id, None)
        cursor = self._db.execute("DELETE FROM rows WHERE tbl = ? AND id = ?", (spec.logical_name, row_id))
        return cursor.rowcount

    def put_server_rows(self, table_name: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store rows as the server has them (downloads, refreshes): base = local = the row, its ETag. A row
        with unsent changes keeps its base and local values (go-online merges them). Returns rows written."""
        spec = table(table_name)
        count = 0
        with self.transaction():
            for row in rows:
                row_id = str(row.get(spec.primary_id) or "").lower()
                if not row_id:
                    continue
                if self._pending(spec.logical_name, row_id):
                    continue
                fields = project_row(spec, row)
                self._remember_names(spec, row, fields)
                text = _dump(fields)
                self._db.execute(
                    "INSERT INTO rows (tbl, id, etag, base, local, deleted) VALUES (?, ?, ?, ?, ?, 0)"
                    " ON CONFLICT (tbl, id) DO UPDATE SET etag = excluded.etag, base = excluded.base,"
                    " local = excluded.local, deleted = 0",
                    (spec.logical_name, row_id, row.get("@odata.etag"), text, text),
                )
                self._index(spec, row_id, fields)
                count += 1
        return count

    def _remember_names(self, spec: OfflineTable, row: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
        """The display names the server sent with the lookups (owner, parent account, regarding)."""
        for lookup in spec.lookups:
            value, name = row.get(lookup.value_name), row.get(lookup.value_name + FORMATTED)
            target = fields.get(lookup.value_name + LOOKUP_TABLE)
            if value and isinstance(name, str) and name and isinstance(target, str):
                self._db.execute(
                    "INSERT OR REPLACE INTO names (tbl, id, name) VALUES (?, ?, ?)",
                    (target, str(value).lower(), name),
                )

    def remove_server_rows(self, table_name: str, ids: Iterable[str]) -> int:
        """Forget rows deleted on the server or out of scope; rows with unsent changes stay (go-online asks)."""
        spec = table(table_name)
        count = 0
        with self.transaction():
            for raw in ids:
                row_id = raw.lower()
                if self._pending(spec.logical_name, row_id):
                    continue
                count += self._forget(spec, row_id)
        return count

    def _queued_fields(self, table_name: str, row_id: str) -> set[str]:
        names: set[str] = set()
        for (text,) in self._db.execute(
            "SELECT fields FROM queue WHERE tbl = ? AND id = ?", (table_name, row_id)
        ):
            names.update(json.loads(text))
        return names

    def _pending(self, table_name: str, row_id: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM queue WHERE tbl = ? AND id = ? LIMIT 1", (table_name, row_id)
            ).fetchone()
            is not None
        )

    def _local_row(self, record: Sequence[Any]) -> LocalRow:
        tbl, row_id, etag, base, local, deleted = record
        return LocalRow(
            tbl, row_id, etag, _load(base), json.loads(local), bool(deleted), self._pending(tbl, row_id)
        )

    def row(self, table_name: str, row_id: str) -> LocalRow | None:
        record = self._db.execute(
            "SELECT tbl, id, etag, base, local, deleted FROM rows WHERE tbl = ? AND id = ?",
            (table_name, row_id.lower()),
        ).fetchone()
        return self._local_row(record) if record else None

    def ids(self, table_name: str) -> set[str]:
        return {
            str(r[0]) for r in self._db.execute("SELECT id FROM rows WHERE tbl = ?", (table_name,)).fetchall()
        }

    def rows(self, table_name: str, *, limit: int = 200, offset: int = 0) -> list[LocalRow]:
        """The table's rows not deleted locally, by primary name."""
        spec = table(table_name)
        records = self._db.execute(
            "SELECT tbl, id, etag, base, local, deleted FROM rows WHERE tbl = ? AND deleted = 0"
            " ORDER BY json_extract(local, ?) COLLATE NOCASE, id LIMIT ? OFFSET ?",
            (spec.logical_name, f"$.{spec.primary_name}", limit, offset),
        ).fetchall()
        return [self._local_row(r) for r in records]

    def search(self, table_name: str, text: str, *, limit: int = 200) -> list[LocalRow]:
        """Rows whose name, email or phone contain words starting with each word of ``text`` (FTS5)."""
        spec = table(table_name)
        query = fts_query(text)
        if not query:
            return self.rows(table_name, limit=limit)
        # Ranking (bm25) costs time for every match; a word most rows share (27,000 matches: over 100 ms)
        # is listed in store order instead, which stops at ``limit`` (issue 14: under 50 ms over 10,000).
        matches = self._db.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM search WHERE search MATCH ? LIMIT ?)",
            (query, RANKED_MATCHES + 1),
        ).fetchone()[0]
        records = self._db.execute(
            _RANKED_SEARCH if matches <= RANKED_MATCHES else _STORE_ORDER_SEARCH,
            (query, spec.logical_name, limit),
        ).fetchall()
        return [self._local_row(r) for r in records]

    def referred_ids(self, from_table: str, to_table: str) -> set[str]:
        """Ids of ``to_table`` rows that ``from_table``'s rows refer to through any lookup."""
        spec = table(from_table)
        out: set[str] = set()
        for lookup in spec.lookups:
            if to_table not in lookup.targets:
                continue
            for value, target in self._db.execute(
                "SELECT json_extract(local, ?), json_extract(local, ?) FROM rows WHERE tbl = ?",
                (f"$.{lookup.value_name}", f'$."{lookup.value_name}{LOOKUP_TABLE}"', spec.logical_name),
            ):
                if value and (target == to_table or (target is None and len(lookup.targets) == 1)):
                    out.add(str(value).lower())
        return out

    def counts(self) -> dict[str, int]:
        return {
            str(t): int(n)
            for t, n in self._db.execute(
                "SELECT tbl, COUNT(*) FROM rows WHERE deleted = 0 GROUP BY tbl"
            ).fetchall()
        }

    # -- offline edits (row + queue in one transaction) ---------------------------------------------------
    def _journal(
        self, spec: OfflineTable, row_id: str, op: Op, fields: Mapping[str, Any], version: str | None
    ) -> int:
        cursor = self._db.execute(
            "INSERT INTO queue (tbl, id, op, fields, row_version, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (spec.logical_name, row_id, op, _dump(dict(fields)), version, now_text()),
        )
        return int(cursor.lastrowid or 0)

    def create(self, table_name: str, fields: Mapping[str, Any], *, row_id: str | None = None) -> str:
        """A row created offline, with a client-generated GUID (Dataverse accepts a supplied primary key)."""
        spec = table(table_name)
        new_id = (row_id or str(uuid.uuid4())).lower()
        local = {name: None for name in spec.fields}
        local.update(fields)
        _name_locally(spec, local)
        with self.transaction():
            if self.row(spec.logical_name, new_id) is not None:
                raise ValueError(f"{spec.logical_name} {new_id} exists already")
            self._db.execute(
                "INSERT INTO rows (tbl, id, etag, base, local, deleted) VALUES (?, ?, NULL, NULL, ?, 0)",
                (spec.logical_name, new_id, _dump(local)),
            )
            self._index(spec, new_id, local)
            self._journal(spec, new_id, "create", fields, None)
        return new_id

    def update(self, table_name: str, row_id: str, changes: Mapping[str, Any]) -> LocalRow:
        spec = table(table_name)
        with self.transaction():
            current = self.row(spec.logical_name, row_id)
            if current is None or current.deleted:
                raise KeyError(row_id)
            local = {**current.local, **changes}
            if {"firstname", "lastname"} & set(changes):
                _name_locally(spec, local)
            self._db.execute(
                "UPDATE rows SET local = ? WHERE tbl = ? AND id = ?",
                (_dump(local), spec.logical_name, current.id),
            )
            self._index(spec, current.id, local)
            self._journal(spec, current.id, "update", changes, current.etag)
            updated = self.row(spec.logical_name, current.id)
        assert updated is not None
        return updated

    def delete(self, table_name: str, row_id: str) -> None:
        spec = table(table_name)
        with self.transaction():
            current = self.row(spec.logical_name, row_id)
            if current is None or current.deleted:
                raise KeyError(row_id)
            self._db.execute(
                "UPDATE rows SET deleted = 1 WHERE tbl = ? AND id = ?", (spec.logical_name, current.id)
            )
            self._index(spec, current.id, None)
            self._journal(spec, current.id, "delete", {}, current.etag)

    # -- the queue ---------------------------------------------------------------------------------------
    def queue(self, *, status: str | None = None) -> list[QueuedChange]:
        sql = "SELECT seq, tbl, id, op, fields, row_version, created_at, status, note FROM queue"
        args: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        return [
            QueuedChange(int(s), str(t), str(i), o, json.loads(f), v, str(c), str(st), str(n))
            for s, t, i, o, f, v, c, st, n in self._db.execute(sql + " ORDER BY seq", args).fetchall()
        ]

    def queued_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0])

    def hold(self, table_name: str, row_id: str, note: str) -> None:
        """Keep a record's queued changes for the user to decide (a conflict, a duplicate)."""
        with self.transaction():
            self._db.execute(
                "UPDATE queue SET status = 'held', note = ? WHERE tbl = ? AND id = ?",
                (note, table_name, row_id),
            )

    def release(self, table_name: str, row_id: str, *, note: str = "", any_version: bool = False) -> None:
        """Send a held record's changes at the next go-online (``any_version``: whatever the server's row
        version is then: the user decided to overwrite it)."""
        with self.transaction():
            self._db.execute(
                "UPDATE queue SET status = 'pending', note = ? WHERE tbl = ? AND id = ?",
                (note, table_name, row_id),
            )
            if any_version:
                self._db.execute(
                    "UPDATE queue SET row_version = NULL WHERE tbl = ? AND id = ?", (table_name, row_id)
                )

    def requeue_as_create(self, table_name: str, row_id: str) -> None:
        """The record is gone from the server but the user keeps it: its changes become one create of the
        local row with the same id."""
        spec = table(table_name)
        with self.transaction():
            current = self.row(spec.logical_name, row_id)
            if current is None:
                raise KeyError(row_id)
            self._db.execute("DELETE FROM queue WHERE tbl = ? AND id = ?", (spec.logical_name, current.id))
            self._db.execute(
                "UPDATE rows SET base = NULL, etag = NULL, deleted = 0 WHERE tbl = ? AND id = ?",
                (spec.logical_name, current.id),
            )
            self._index(spec, current.id, current.local)
            fields = {k: v for k, v in current.local.items() if v is not None and k not in spec.read_only}
            self._journal(spec, current.id, "create", fields, None)

    def drop_fields(self, table_name: str, row_id: str, names: Iterable[str]) -> None:
        """Give up offline values: ``names`` leave the record's queued changes (an emptied change goes) and
        the local row takes the merge base's values for them."""
        spec = table(table_name)
        dropped = set(names)
        dropped |= {n + LOOKUP_TABLE for n in dropped}
        with self.transaction():
            current = self.row(spec.logical_name, row_id)
            if current is None:
                raise KeyError(row_id)
            for change in [c for c in self.queue() if c.table == spec.logical_name and c.id == current.id]:
                rest = {k: v for k, v in change.fields.items() if k not in dropped}
                if change.op == "update" and not rest:
                    self._db.execute("DELETE FROM queue WHERE seq = ?", (change.seq,))
                else:
                    self._db.execute("UPDATE queue SET fields = ? WHERE seq = ?", (_dump(rest), change.seq))
            base = current.base or {}
            local = {**current.local, **{n: base.get(n) for n in dropped if n in current.local}}
            self._db.execute(
                "UPDATE rows SET local = ? WHERE tbl = ? AND id = ?",
                (_dump(local), spec.logical_name, current.id),
            )
            self._index(spec, current.id, local)

    def sent(
        self,
        table_name: str,
        row_id: str,
        seqs: Iterable[int],
        *,
        server: Mapping[str, Any] | None = None,
        etag: str | None = None,
        gone: bool = False,
        keep: Mapping[str, Any] | None = None,
        note: str = "",
    ) -> None:
        """The queued changes ``seqs`` reached Dynamics 365: they leave the queue, and in the same transaction
        the row's base becomes what the server holds now (``server``: its row after the write, else the local
        row), or the row goes (``gone``). ``keep``: fields the user still has to decide on (an open conflict),
        queued again as a held update against ``etag`` and kept in the local row."""
        spec = table(table_name)
        with self.transaction():
            self._db.executemany("DELETE FROM queue WHERE seq = ?", ((s,) for s in seqs))
            current = self.row(spec.logical_name, row_id)
            if current is None:
                return
            if gone:
                self._db.execute(
                    "DELETE FROM queue WHERE tbl = ? AND id = ?", (spec.logical_name, current.id)
                )
                self._forget(spec, current.id)
                return
            if server is not None:
                base = project_row(spec, server)
                self._remember_names(spec, server, base)
            else:
                base = {**(current.base or {}), **current.local}
            # fields still queued (edits made while this was being sent, ``keep``) keep their local values
            still = self._queued_fields(spec.logical_name, current.id)
            local = {**base, **{n: current.local.get(n) for n in still}, **(keep or {})}
            self._db.execute(
                "UPDATE rows SET base = ?, local = ?, etag = COALESCE(?, etag) WHERE tbl = ? AND id = ?",
                (_dump(base), _dump(local), etag, spec.logical_name, current.id),
            )
            self._index(spec, current.id, local)
            if keep:
                seq = self._journal(spec, current.id, "update", keep, etag or current.etag)
                self._db.execute("UPDATE queue SET status = 'held', note = ? WHERE seq = ?", (note, seq))

    def drop_changes(self, table_name: str, row_id: str, server: Mapping[str, Any] | None) -> None:
        """Discard a record's queued changes; the local row becomes the server's (``server`` None: the
        record does not exist there, so it goes)."""
        spec = table(table_name)
        with self.transaction():
            self._db.execute("DELETE FROM queue WHERE tbl = ? AND id = ?", (spec.logical_name, row_id))
            if server is None:
                self._forget(spec, row_id)
            else:
                self.put_server_rows(spec.logical_name, [server])

    def set_local(self, table_name: str, row_id: str, local: Mapping[str, Any]) -> None:
        spec = table(table_name)
        with self.transaction():
            self._db.execute(
                "UPDATE rows SET local = ? WHERE tbl = ? AND id = ?",
                (_dump(dict(local)), spec.logical_name, row_id),
            )
            self._index(spec, row_id, local)

    # -- conflicts ---------------------------------------------------------------------------------------
    def add_conflict(
        self,
        table_name: str,
        row_id: str,
        field: str,
        *,
        server: Any,
        local: Any,
        base: Any,
        policy: str,
        reason: str,
        winner: str | None,
        item: str = "",
    ) -> int:
        stamp = now_text()
        with self.transaction():
            if winner is None:  # an open conflict on the same field is replaced by this one
                self._db.execute(
                    "UPDATE conflicts SET resolved = 1, resolved_at = ? WHERE resolved = 0 AND tbl = ?"
                    " AND rid = ? AND field = ?",
                    (stamp, table_name, row_id, field),
                )
            cursor = self._db.execute(
                "INSERT INTO conflicts (tbl, rid, field, server_value, local_value, base_value, policy, reason,"
                " winner, resolved, item, created_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    table_name,
                    row_id,
                    field,
                    _dump(server),
                    _dump(local),
                    _dump(base),
                    policy,
                    reason,
                    winner,
                    int(winner is not None),
                    item,
                    stamp,
                    stamp if winner is not None else None,
                ),
            )
        return int(cursor.lastrowid or 0)

    def conflicts(self, *, unresolved_only: bool = False) -> list[OfflineConflict]:
        sql = (
            "SELECT id, tbl, rid, field, server_value, local_value, base_value, policy, reason, winner,"
            " resolved, item, created_at, resolved_at FROM conflicts"
        )
        if unresolved_only:
            sql += " WHERE resolved = 0"
        return [
            OfflineConflict(
                int(r[0]),
                r[1],
                r[2],
                r[3],
                _load(r[4]),
                _load(r[5]),
                _load(r[6]),
                r[7],
                r[8],
                r[9],
                bool(r[10]),
                r[11],
                r[12],
                r[13],
            )
            for r in self._db.execute(sql + " ORDER BY id").fetchall()
        ]

    def conflict(self, conflict_id: int) -> OfflineConflict | None:
        return next((c for c in self.conflicts() if c.id == conflict_id), None)

    def resolve_conflict(self, conflict_id: int, winner: str) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE conflicts SET resolved = 1, winner = ?, resolved_at = ? WHERE id = ?",
                (winner, now_text(), conflict_id),
            )

    def settle_conflicts(self, table_name: str, row_id: str, winner: str) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE conflicts SET resolved = 1, winner = ?, resolved_at = ? WHERE resolved = 0 AND tbl = ?"
                " AND rid = ?",
                (winner, now_text(), table_name, row_id),
            )
