"""The Dataverse stand-in's table store: SQLite underneath, a write-through row cache on top.

Rows are Web API shaped dicts (see :mod:`.schema`), persisted as JSON keyed by entity set and id. Every
write takes the next value of one per-environment counter as the row's ``versionnumber`` (the weak ETag and
the change tracking watermark); deleted rows stay as tombstones so a delta query can report
``$deletedEntity`` rows. One re-entrant lock serialises writers and readers, which also makes a ``$batch``
change set atomic: it holds the lock inside :meth:`Store.transaction`, and a failure rolls SQLite back and
reloads the cache.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.sandbox.dataverse.schema import ENTITIES, EntityDef

LOOKUP_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Dataverse's DateTime wire format: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """Rows of one environment. Thread-safe; ``clock`` is replaceable so tests can move time."""

    def __init__(self, data_dir: Path | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
        self.clock: Callable[[], datetime] = clock or utc_now
        self.lock = threading.RLock()
        self.tracking: dict[str, bool] = {name: d.tracking for name, d in ENTITIES.items()}
        path = ":memory:"
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            path = str(data_dir / "dataverse.sqlite3")
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if data_dir is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS rows (
                entity_set TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL,
                PRIMARY KEY (entity_set, id));
            CREATE INDEX IF NOT EXISTS rows_version ON rows (entity_set, version);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        self._depth = 0
        self._load()

    # -- bookkeeping -------------------------------------------------------------------------------
    def _load(self) -> None:
        self._cache: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITIES}
        for entity_set, row_id, data in self._db.execute(
            "SELECT entity_set, id, data FROM rows WHERE deleted = 0 ORDER BY version"
        ):
            self._cache.setdefault(entity_set, {})[row_id] = json.loads(data)
        found = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        self._version = int(found[0]) if found else 1000

    def _bump(self) -> int:
        self._version += 1
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('version', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(self._version),),
        )
        return self._version

    def _write(self, entity_set: str, row: dict[str, Any], deleted: bool = False) -> None:
        definition = ENTITIES[entity_set]
        row_id = row[definition.primary_key]
        self._db.execute(
            "INSERT INTO rows (entity_set, id, version, deleted, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(entity_set, id) DO UPDATE SET version = excluded.version, "
            "deleted = excluded.deleted, data = excluded.data",
            (entity_set, row_id, row["versionnumber"], int(deleted), json.dumps(row, ensure_ascii=False)),
        )
        if deleted:
            self._cache[entity_set].pop(row_id, None)
        else:
            self._cache[entity_set][row_id] = row

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all (nested calls join the outer one)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                self._load()
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # -- switches ----------------------------------------------------------------------------------
    def set_tracking(self, entity_set: str, on: bool) -> None:
        """Turn change tracking of one table on or off (the service cannot turn it off; tests can)."""
        self.tracking[entity_set] = on

    def is_tracking(self, entity_set: str) -> bool:
        return self.tracking.get(entity_set, False)

    @property
    def version(self) -> int:
        return self._version

    # -- reads -------------------------------------------------------------------------------------
    def get(self, entity_set: str, row_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._cache[entity_set].get(str(row_id).lower())
            return dict(row) if row is not None else None

    def rows(self, entity_set: str) -> list[dict[str, Any]]:
        """Shallow copies of the live rows, oldest first."""
        with self.lock:
            return [dict(r) for r in self._cache[entity_set].values()]

    def raw_rows(self, entity_set: str) -> Iterable[Mapping[str, Any]]:
        """The live rows themselves (read-only use, under the caller's care): fast paths for big tables."""
        with self.lock:
            return list(self._cache[entity_set].values())

    def find(self, entity_set: str, column: str, value: Any) -> dict[str, Any] | None:
        with self.lock:
            for row in self._cache[entity_set].values():
                if row.get(column) == value:
                    return dict(row)
        return None

    def changes_since(self, entity_set: str, after: int, upto: int) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows written in (after, upto]: the live ones (by version) and the ids of deleted ones."""
        with self.lock:
            changed: list[dict[str, Any]] = []
            deleted: list[str] = []
            for row_id, deleted_flag, data in self._db.execute(
                "SELECT id, deleted, data FROM rows WHERE entity_set = ? AND version > ? AND version <= ? "
                "ORDER BY version",
                (entity_set, after, upto),
            ):
                if deleted_flag:
                    deleted.append(row_id)
                else:
                    changed.append(json.loads(data))
            return changed, deleted

    # -- writes ------------------------------------------------------------------------------------
    def _stamp(self, definition: EntityDef, row: dict[str, Any], user_id: str | None, new: bool) -> None:
        now = iso(self.clock())
        row["versionnumber"] = self._bump()
        row["modifiedon"] = now
        if new:
            row.setdefault("createdon", now)
            row.pop("overriddencreatedon", None)
        if user_id and "modifiedby" in definition.lookups:
            row["_modifiedby_value"] = user_id
            row["_modifiedby_value" + LOOKUP_NAME] = "systemuser"
            if new:
                row.setdefault("_createdby_value", user_id)
                row.setdefault("_createdby_value" + LOOKUP_NAME, "systemuser")
                if "ownerid" in definition.lookups:
                    row.setdefault("_ownerid_value", user_id)
                    row.setdefault("_ownerid_value" + LOOKUP_NAME, "systemuser")
        for lookup in definition.lookups.values():
            value = row.get(lookup.value_name)
            if value and len(lookup.targets) == 1:
                row.setdefault(lookup.value_name + LOOKUP_NAME, next(iter(lookup.targets)))
        if definition.logical_name in ("contact", "lead", "systemuser"):
            parts = [row.get("firstname"), row.get("lastname")]
            row["fullname"] = " ".join(p for p in parts if p) or row.get("fullname")
        if definition.is_activity:
            row["activitytypecode"] = definition.logical_name
            row.setdefault("isregularactivity", True)

    def create(self, entity_set: str, row: Mapping[str, Any], *, user_id: str | None = None) -> str:
        """Insert a row (defaults and system columns filled in) and return its id; KeyError if it exists."""
        definition = ENTITIES[entity_set]
        with self.lock:
            new: dict[str, Any] = dict(definition.defaults)
            new.update(row)
            row_id = str(new.get(definition.primary_key) or uuid.uuid4()).lower()
            if row_id in self._cache[entity_set]:
                raise KeyError(row_id)
            new[definition.primary_key] = row_id
            self._stamp(definition, new, user_id, new=True)
            self._write(entity_set, new)
            return row_id

    def update(
        self, entity_set: str, row_id: str, changes: Mapping[str, Any], *, user_id: str | None = None
    ) -> dict[str, Any]:
        """Apply changes to a row and give it a new version; KeyError if there is no such row."""
        definition = ENTITIES[entity_set]
        with self.lock:
            current = self._cache[entity_set].get(str(row_id).lower())
            if current is None:
                raise KeyError(row_id)
            updated = dict(current)
            updated.update({k: v for k, v in changes.items() if k != definition.primary_key})
            self._stamp(definition, updated, user_id, new=False)
            self._write(entity_set, updated)
            return dict(updated)

    def touch(self, entity_set: str, row_id: str, *, user_id: str | None = None) -> dict[str, Any]:
        return self.update(entity_set, row_id, {}, user_id=user_id)

    def delete(self, entity_set: str, row_id: str) -> bool:
        """Remove a row, keeping a tombstone for change tracking; False if it did not exist."""
        definition = ENTITIES[entity_set]
        with self.lock:
            current = self._cache[entity_set].get(str(row_id).lower())
            if current is None:
                return False
            tombstone = {
                definition.primary_key: current[definition.primary_key],
                "versionnumber": self._bump(),
            }
            self._write(entity_set, tombstone, deleted=True)
            return True

    def bulk_create(
        self, entity_set: str, rows: Iterable[Mapping[str, Any]], *, user_id: str | None = None
    ) -> int:
        """Many creates in one transaction (demo data, benchmarks)."""
        count = 0
        with self.transaction():
            for row in rows:
                self.create(entity_set, row, user_id=user_id)
                count += 1
        return count

    def close(self) -> None:
        with self.lock:
            self._db.close()
