"""What an offline store holds, read cheaply: the summary the status shows on every refresh.

The status window and ``d365sync status`` ask for the state (offline or online), the records per table, the
changes waiting to be sent and the decisions open in each organization's store on every refresh. Opening the
SQLite file for that each time costs a connection, the WAL set-up and a scan of the queue, although the store
changes rarely. :func:`read_summary` keeps the last summary of each file in memory, keyed by the file's and its
write-ahead log's identity, size and modification time: an unchanged store is not opened again. A store
written in the last :data:`SETTLE_SECONDS` (or during the read) is read again the next time, so two writes
within one tick of the file system's clock are never taken for one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wizard.offline.store import OfflineConflict, OfflineStore

SETTLE_SECONDS = 2.0
OFFLINE = "offline"
ONLINE = "online"
STOPPED_KEY = "online_stopped"  # meta: why the last go-online stopped with changes left to send

now_ns: Callable[[], int] = time.time_ns  # the clock a file's time is compared with (tests move it)

FileKey = tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]


@dataclass(frozen=True)
class StoreSummary:
    """One store as the status shows it (no network, no rows)."""

    mode: str  # "offline" or "online"
    records: dict[str, int] = field(default_factory=dict)
    queued: int = 0  # changes not sent yet (pending and held)
    held: int = 0  # of those, held for the user's decision
    open_conflicts: tuple[OfflineConflict, ...] = ()
    downloaded_at: str | None = None
    refreshed_at: str | None = None
    stopped: str = ""  # why the last go-online stopped ("" when it did not)

    @property
    def pending(self) -> int:
        """Changes that still wait to be sent (not those held for the user)."""
        return self.queued - self.held


def _stat(path: str) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


def file_key(path: Path) -> FileKey:
    """What changes when the store is written: the file and its write-ahead log."""
    return (_stat(str(path)), _stat(f"{path}-wal"))


def _settled(key: FileKey, now_ns: int) -> bool:
    newest = max((part[2] for part in key if part is not None), default=0)
    return now_ns - newest >= SETTLE_SECONDS * 1_000_000_000


def read_store(store: OfflineStore) -> StoreSummary:
    """The summary of an open store."""
    queue = store.queue()
    return StoreSummary(
        mode=store.get_meta("mode", ONLINE) or ONLINE,
        records=store.counts(),
        queued=len(queue),
        held=sum(1 for c in queue if c.status != "pending"),
        open_conflicts=tuple(store.conflicts(unresolved_only=True)),
        downloaded_at=store.get_meta("downloaded_at"),
        refreshed_at=store.get_meta("refreshed_at"),
        stopped=store.get_meta(STOPPED_KEY) or "",
    )


class SummaryCache:
    """The last summary of each store file; thread-safe (the status window reads on its workers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[FileKey, StoreSummary]] = {}

    def read(self, path: Path) -> StoreSummary | None:
        """The store's summary (None: there is no store), opening it only when it changed."""
        name = str(path)
        before = file_key(path)
        if before[0] is None:
            with self._lock:
                self._known.pop(name, None)
            return None
        with self._lock:
            known = self._known.get(name)
        if known is not None and known[0] == before:
            return known[1]
        with OfflineStore.open(path) as store:
            summary = read_store(store)
        after = file_key(path)
        with self._lock:
            if after == before and _settled(after, now_ns()):
                self._known[name] = (after, summary)
            else:  # written meanwhile or just now: read again next time
                self._known.pop(name, None)
        return summary

    def forget(self, path: Path) -> None:
        with self._lock:
            self._known.pop(str(path), None)


CACHE = SummaryCache()


def read_summary(path: Path) -> StoreSummary | None:
    """The summary of the store at ``path`` (None: no store), from :data:`CACHE` when the file is unchanged."""
    return CACHE.read(path)
