"""The EWS stand-in's mailbox store: folders and items per mailbox, in SQLite (``data_dir`` or memory).

Items are kept as the ``<t:Contact>``/``<t:Message>``/... element a client sent (plus the fields the server
owns), because echoing that element is what makes GetItem answer every field exchangelib can ask for. A
global change sequence drives ChangeKeys, SyncFolderItems states and tombstones of deleted or moved items.
All rows are mirrored in memory so FindItem over a thousand items stays cheap; writes go through to SQLite.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import sqlite3
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.sandbox.ews import instants
from wizard.sandbox.ews._soap import Element, el, parse, set_child, t, to_text

# distinguished id -> (display name, FolderClass, element tag, parent distinguished id)
DISTINGUISHED_FOLDERS: dict[str, tuple[str, str | None, str, str | None]] = {
    "root": ("", None, "Folder", None),
    "msgfolderroot": ("Top of Information Store", "IPF.Note", "Folder", "root"),
    "inbox": ("Inbox", "IPF.Note", "Folder", "msgfolderroot"),
    "sentitems": ("Sent Items", "IPF.Note", "Folder", "msgfolderroot"),
    "deleteditems": ("Deleted Items", "IPF.Note", "Folder", "msgfolderroot"),
    "drafts": ("Drafts", "IPF.Note", "Folder", "msgfolderroot"),
    "outbox": ("Outbox", "IPF.Note", "Folder", "msgfolderroot"),
    "junkemail": ("Junk Email", "IPF.Note", "Folder", "msgfolderroot"),
    "contacts": ("Contacts", "IPF.Contact", "ContactsFolder", "msgfolderroot"),
    "calendar": ("Calendar", "IPF.Appointment", "CalendarFolder", "msgfolderroot"),
    "tasks": ("Tasks", "IPF.Task", "TasksFolder", "msgfolderroot"),
    "notes": ("Notes", "IPF.StickyNote", "Folder", "msgfolderroot"),
    "journal": ("Journal", "IPF.Journal", "Folder", "msgfolderroot"),
    "recoverableitemsroot": ("Recoverable Items", None, "Folder", "root"),
    "recoverableitemsdeletions": ("Deletions", None, "Folder", "recoverableitemsroot"),
}

# Folders a client never sees in FindFolder below msgfolderroot nor syncs (soft-deleted items live there).
HIDDEN_FOLDERS = {"recoverableitemsroot", "recoverableitemsdeletions"}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_changekey(seq: int, salt: str) -> str:
    """Opaque to clients, but it carries the change sequence so AutoResolve can tell what changed since."""
    return _b64(b"CQAAABYA" + struct.pack(">Q", seq) + hashlib.sha256(salt.encode()).digest()[:6])


def changekey_seq(changekey: str) -> int | None:
    try:
        raw = base64.b64decode(changekey, validate=True)
    except (ValueError, TypeError):
        return None
    if len(raw) != 22 or not raw.startswith(b"CQAAABYA"):
        return None
    return int(struct.unpack(">Q", raw[8:16])[0])


@dataclass
class StoredFolder:
    id: str
    mailbox: str
    distinguished: str | None
    parent_id: str | None
    name: str
    folder_class: str | None
    tag: str
    changekey: str
    seq: int
    created_seq: int
    extended: list[Element] = field(default_factory=list)  # <t:ExtendedProperty> elements


@dataclass
class StoredItem:
    id: str
    mailbox: str
    folder_id: str
    tag: str  # Message, Contact, CalendarItem, Task, MeetingRequest, ...
    element: Element  # the stored <t:Tag> element, ItemId and server fields included
    changekey: str
    seq: int  # last change of any kind
    created_seq: int  # when it appeared in its current folder
    content_seq: int  # last change other than the read flag
    position: int  # insertion order (FindItem's default order)
    field_seqs: dict[str, int] = field(default_factory=dict)  # field key -> seq of its last change

    def text(self, name: str) -> str | None:
        found = self.element.find(t(name))
        return None if found is None else (found.text or "")

    def categories(self) -> list[str]:
        found = self.element.find(t("Categories"))
        return [] if found is None else [s.text or "" for s in found]

    def extended(self, name: str) -> str | None:
        """The value of a named extended property (any property set), for tests."""
        for prop in self.element.findall(t("ExtendedProperty")):
            uri = prop.find(t("ExtendedFieldURI"))
            if uri is not None and uri.get("PropertyName") == name:
                value = prop.find(t("Value"))
                return None if value is None else (value.text or "")
        return None


@dataclass
class Tombstone:
    folder_id: str
    item_id: str
    seq: int
    created_seq: int


class MailboxStore:
    """Folders and items of every sandbox mailbox. Thread-safe; :meth:`transaction` groups writes."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS folders (
                id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, distinguished TEXT, parent_id TEXT,
                name TEXT NOT NULL, folder_class TEXT, tag TEXT NOT NULL, changekey TEXT NOT NULL,
                seq INTEGER NOT NULL, created_seq INTEGER NOT NULL, extended TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS items (
                id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, folder_id TEXT NOT NULL, tag TEXT NOT NULL,
                xml TEXT NOT NULL, changekey TEXT NOT NULL, seq INTEGER NOT NULL,
                created_seq INTEGER NOT NULL,
                content_seq INTEGER NOT NULL, position INTEGER NOT NULL, field_seqs TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tombstones (
                folder_id TEXT NOT NULL, item_id TEXT NOT NULL, seq INTEGER NOT NULL,
                created_seq INTEGER NOT NULL);
            """
        )
        self._folders: dict[str, StoredFolder] = {}
        self._items: dict[str, StoredItem] = {}
        self._by_folder: dict[str, dict[str, StoredItem]] = {}
        self._tombstones: dict[str, list[Tombstone]] = {}
        self._seq = 0
        self._ids = 0
        self._depth = 0
        self._load()

    # -- persistence ---------------------------------------------------------------------------------
    def _load(self) -> None:
        for name, value in self._db.execute("SELECT name, value FROM counters"):
            if name == "seq":
                self._seq = int(value)
            elif name == "ids":
                self._ids = int(value)
        for row in self._db.execute("SELECT * FROM folders"):
            folder = StoredFolder(
                id=row[0],
                mailbox=row[1],
                distinguished=row[2],
                parent_id=row[3],
                name=row[4],
                folder_class=row[5],
                tag=row[6],
                changekey=row[7],
                seq=row[8],
                created_seq=row[9],
                extended=[parse(x.encode()) for x in json.loads(row[10])],
            )
            self._folders[folder.id] = folder
            self._by_folder.setdefault(folder.id, {})
        for row in self._db.execute("SELECT * FROM items ORDER BY position"):
            item = StoredItem(
                id=row[0],
                mailbox=row[1],
                folder_id=row[2],
                tag=row[3],
                element=parse(row[4].encode()),
                changekey=row[5],
                seq=row[6],
                created_seq=row[7],
                content_seq=row[8],
                position=row[9],
                field_seqs=json.loads(row[10]),
            )
            self._items[item.id] = item
            self._by_folder.setdefault(item.folder_id, {})[item.id] = item
        for row in self._db.execute("SELECT folder_id, item_id, seq, created_seq FROM tombstones"):
            self._tombstones.setdefault(row[0], []).append(Tombstone(*row))

    @contextmanager
    def transaction(self) -> Iterator[MailboxStore]:
        """Hold the store lock and commit once at the end (one commit per SOAP request)."""
        with self._lock:
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.rollback()
                    self._reload()
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute(
                    "INSERT OR REPLACE INTO counters(name, value) VALUES ('seq', ?), ('ids', ?)",
                    (self._seq, self._ids),
                )
                self._db.commit()

    def _reload(self) -> None:
        self._folders.clear()
        self._items.clear()
        self._by_folder.clear()
        self._tombstones.clear()
        self._load()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write_item(self, item: StoredItem) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                item.id,
                item.mailbox,
                item.folder_id,
                item.tag,
                to_text(item.element),
                item.changekey,
                item.seq,
                item.created_seq,
                item.content_seq,
                item.position,
                json.dumps(item.field_seqs),
            ),
        )

    def _write_folder(self, folder: StoredFolder) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO folders VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                folder.id,
                folder.mailbox,
                folder.distinguished,
                folder.parent_id,
                folder.name,
                folder.folder_class,
                folder.tag,
                folder.changekey,
                folder.seq,
                folder.created_seq,
                json.dumps([to_text(x) for x in folder.extended]),
            ),
        )

    # -- ids and sequence ----------------------------------------------------------------------------
    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    @property
    def current_seq(self) -> int:
        return self._seq

    def new_id(self, mailbox: str, kind: bytes = b"I") -> str:
        """Exchange-looking (``AAMk...``), stable for the same sequence of operations."""
        with self._lock:
            self._ids += 1
            digest = hashlib.sha256(mailbox.lower().encode()).digest()[:8]
            return _b64(b"\x00\x00\x00" + kind + digest + struct.pack(">Q", self._ids) + b"\x00\x00")

    # -- folders -------------------------------------------------------------------------------------
    def ensure_mailbox(self, mailbox: str) -> None:
        """Create the distinguished folders of a mailbox (idempotent)."""
        with self.transaction():
            if any(f.mailbox == mailbox.lower() for f in self._folders.values()):
                return
            ids: dict[str, str] = {}
            for dist, (name, cls, tag, parent) in DISTINGUISHED_FOLDERS.items():
                seq = self.next_seq()
                folder_id = self.new_id(mailbox, b"F")
                ids[dist] = folder_id
                folder = StoredFolder(
                    id=folder_id,
                    mailbox=mailbox.lower(),
                    distinguished=dist,
                    parent_id=ids[parent] if parent else None,
                    name=name,
                    folder_class=cls,
                    tag=tag,
                    changekey=make_changekey(seq, folder_id),
                    seq=seq,
                    created_seq=seq,
                )
                self._folders[folder_id] = folder
                self._by_folder[folder_id] = {}
                self._write_folder(folder)

    def mailboxes(self) -> list[str]:
        return sorted({f.mailbox for f in self._folders.values()})

    def has_mailbox(self, mailbox: str) -> bool:
        wanted = mailbox.lower()
        return any(f.mailbox == wanted for f in self._folders.values())

    def folder(self, mailbox: str, distinguished: str) -> StoredFolder | None:
        wanted = mailbox.lower()
        for folder in self._folders.values():
            if folder.mailbox == wanted and folder.distinguished == distinguished:
                return folder
        return None

    def folder_by_id(self, folder_id: str) -> StoredFolder | None:
        return self._folders.get(folder_id)

    def child_folders(self, folder_id: str) -> list[StoredFolder]:
        return [f for f in self._folders.values() if f.parent_id == folder_id]

    def touch_folder(self, folder: StoredFolder) -> None:
        with self.transaction():
            folder.seq = self.next_seq()
            folder.changekey = make_changekey(folder.seq, folder.id)
            self._write_folder(folder)

    # -- items ---------------------------------------------------------------------------------------
    def items_in(self, folder_id: str) -> list[StoredItem]:
        return sorted(self._by_folder.get(folder_id, {}).values(), key=lambda i: i.position)

    def count_in(self, folder_id: str) -> int:
        return len(self._by_folder.get(folder_id, {}))

    def items_of(self, mailbox: str) -> list[StoredItem]:
        """Every item of a mailbox, any folder."""
        wanted = mailbox.lower()
        return [i for i in self._items.values() if i.mailbox == wanted]

    def get(self, item_id: str) -> StoredItem | None:
        return self._items.get(item_id)

    def list_items(self, mailbox: str, folder: str = "inbox") -> list[StoredItem]:
        """Items of a mailbox folder given by distinguished id (for tests and the demo)."""
        stored = self.folder(mailbox, folder)
        return [] if stored is None else self.items_in(stored.id)

    def insert(
        self, mailbox: str, folder_id: str, element: Element, now: dt.datetime | None = None
    ) -> StoredItem:
        """Store a new item element; sets ItemId, ParentFolderId and the server timestamps."""
        with self.transaction():
            seq = self.next_seq()
            item_id = self.new_id(mailbox)
            tag = element.tag.split("}", 1)[1]
            item = StoredItem(
                id=item_id,
                mailbox=mailbox.lower(),
                folder_id=folder_id,
                tag=tag,
                element=element,
                changekey=make_changekey(seq, item_id),
                seq=seq,
                created_seq=seq,
                content_seq=seq,
                position=seq,
            )
            stamp = instants.stored(now) if now is not None else instants.now()
            if element.find(t("DateTimeCreated")) is None:
                set_child(element, "DateTimeCreated", stamp)
            set_child(element, "LastModifiedTime", stamp)
            self._stamp_ids(item)
            self._items[item_id] = item
            self._by_folder.setdefault(folder_id, {})[item_id] = item
            self._write_item(item)
            return item

    def _stamp_ids(self, item: StoredItem) -> None:
        elem = item.element
        for name in ("ItemId", "ParentFolderId"):
            for old in elem.findall(t(name)):
                elem.remove(old)
        folder = self._folders[item.folder_id]
        elem.insert(0, el(t("ItemId"), attrs={"Id": item.id, "ChangeKey": item.changekey}))
        elem.insert(1, el(t("ParentFolderId"), attrs={"Id": folder.id, "ChangeKey": folder.changekey}))

    def save(self, item: StoredItem, changed: set[str], *, read_flag_only: bool = False) -> None:
        """Record a change: new ChangeKey, LastModifiedTime and sequence numbers."""
        with self.transaction():
            seq = self.next_seq()
            item.seq = seq
            if not read_flag_only:
                item.content_seq = seq
            for key in changed:
                item.field_seqs[key] = seq
            item.changekey = make_changekey(seq, item.id)
            set_child(item.element, "LastModifiedTime", instants.now())
            self._stamp_ids(item)
            self._write_item(item)

    def move(self, item: StoredItem, folder_id: str) -> StoredItem:
        """Move to another folder: the item gets a new Id there, the old folder a tombstone."""
        with self.transaction():
            self._bury(item)
            seq = self.next_seq()
            del self._items[item.id]
            self._db.execute("DELETE FROM items WHERE id = ?", (item.id,))
            item.id = self.new_id(item.mailbox)
            item.folder_id = folder_id
            item.seq = item.created_seq = item.content_seq = seq
            item.position = seq
            item.changekey = make_changekey(seq, item.id)
            self._stamp_ids(item)
            self._items[item.id] = item
            self._by_folder.setdefault(folder_id, {})[item.id] = item
            self._write_item(item)
            return item

    def delete(self, item: StoredItem) -> None:
        with self.transaction():
            self._bury(item)
            del self._items[item.id]
            self._db.execute("DELETE FROM items WHERE id = ?", (item.id,))

    def _bury(self, item: StoredItem) -> None:
        stone = Tombstone(item.folder_id, item.id, self.next_seq(), item.created_seq)
        self._tombstones.setdefault(item.folder_id, []).append(stone)
        self._by_folder.get(item.folder_id, {}).pop(item.id, None)
        self._db.execute(
            "INSERT INTO tombstones VALUES (?,?,?,?)",
            (stone.folder_id, stone.item_id, stone.seq, stone.created_seq),
        )

    def changes_since(self, folder_id: str, seq: int) -> list[tuple[int, str, Any]]:
        """(seq, kind, item-or-tombstone) in order; kind is create/update/read_flag_change/delete."""
        changes: list[tuple[int, str, Any]] = []
        for item in self._by_folder.get(folder_id, {}).values():
            if item.seq <= seq:
                continue
            if item.created_seq > seq:
                changes.append((item.seq, "create", item))
            elif item.content_seq > seq:
                changes.append((item.seq, "update", item))
            else:
                changes.append((item.seq, "read_flag_change", item))
        for stone in self._tombstones.get(folder_id, []):
            if stone.seq > seq and stone.created_seq <= seq:
                changes.append((stone.seq, "delete", stone))
        changes.sort(key=lambda c: c[0])
        return changes

    def dump(self, item: StoredItem) -> str:
        return to_text(item.element)
