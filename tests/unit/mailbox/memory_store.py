"""An in-memory MailboxStore that declares every capability.

It exists to prove the contract suite itself: the capability-positive tests (contacts, appointments,
tasks, named properties, categories, change keys, Deleted Items, Sent Items) cannot run against POP3,
so they run here; a later backend (EWS) that declares them meets the same tests. Sync-engine tests may
use it as a fake mailbox too.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from wizard.mailbox.base import (
    Capabilities,
    ChangeBatch,
    Conflict,
    Folder,
    FolderKind,
    Item,
    ItemNotFound,
    ItemResult,
    MailItem,
    NamedProps,
    OutgoingMessage,
    not_supported,
)
from wizard.mailbox.message import build_mime, parse_message, render

ALL = frozenset(FolderKind)


@dataclass
class _Entry:
    item: Item | None  # None = deleted
    created_seq: int
    last_seq: int


class MemoryStore:
    def __init__(self) -> None:
        self._capabilities = Capabilities(
            readable=ALL,
            writable=ALL - {FolderKind.INBOX, FolderKind.SENT_ITEMS},
            can_send=True,
            sent_items_copy=True,
            named_properties=True,
            categories=True,
            server_side_moves=True,
            server_side_deletes=True,
            root_folder_props=True,
            change_keys=True,
        )
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._entries: dict[FolderKind, dict[str, _Entry]] = {kind: {} for kind in FolderKind}
        self._root_org: str | None = None
        self.sent: list[bytes] = []

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    # ---- server-side helpers for tests -------------------------------------------------------------

    def deliver(self, raw: bytes, kind: FolderKind = FolderKind.INBOX) -> str:
        item = parse_message(raw, item_id=f"m{next(self._ids)}", folder=kind)
        self._put(kind, item, new=True)
        return item.id

    def remove(self, kind: FolderKind, item_id: str) -> None:
        entry = self._entries[kind][item_id]
        entry.item, entry.last_seq = None, next(self._seq)

    def _put(self, kind: FolderKind, item: Item, *, new: bool) -> None:
        seq = next(self._seq)
        item.change_key = str(seq)
        stored = copy.deepcopy(item)
        if new:
            self._entries[kind][item.id] = _Entry(stored, seq, seq)
        else:
            entry = self._entries[kind][item.id]
            entry.item, entry.last_seq = stored, seq

    def _live(self, kind: FolderKind, item_id: str) -> _Entry | None:
        entry = self._entries[kind].get(item_id)
        return entry if entry is not None and entry.item is not None else None

    @staticmethod
    def _missing(item_id: str) -> ItemNotFound:
        return ItemNotFound(f"no item {item_id}")

    # ---- protocol ----------------------------------------------------------------------------------

    def folder(self, kind: FolderKind) -> Folder:
        count = sum(1 for e in self._entries[kind].values() if e.item is not None)
        return Folder(kind=kind, id=kind.value, display_name=kind.value, total_count=count)

    def changes(self, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Iterator[ChangeBatch]:
        since, full = 0, False
        if cursor is not None:
            try:
                prefix, seq_text = cursor.split(":")
                if prefix != "mem":
                    raise ValueError(cursor)
                since = int(seq_text)
            except ValueError:
                since, full = 0, True
        changed = sorted(
            ((i, e) for i, e in self._entries[kind].items() if e.last_seq > since),
            key=lambda p: p[1].last_seq,
        )
        entries: list[tuple[str, str, int]] = []  # (op, id, seq)
        for item_id, entry in changed:
            if entry.item is None:
                if entry.created_seq <= since:
                    entries.append(("deleted", item_id, entry.last_seq))
            elif entry.created_seq > since:
                entries.append(("created", item_id, entry.last_seq))
            else:
                entries.append(("updated", item_id, entry.last_seq))
        pages = [entries[i : i + page_size] for i in range(0, len(entries), page_size)] or [[]]
        last = since
        for number, page in enumerate(pages):
            if page:
                last = page[-1][2]
            elif number == 0:
                last = max((e.last_seq for e in self._entries[kind].values()), default=since)
            yield ChangeBatch(
                kind=kind,
                created=[i for op, i, _ in page if op == "created"],
                updated=[i for op, i, _ in page if op == "updated"],
                deleted=[i for op, i, _ in page if op == "deleted"],
                cursor=f"mem:{last}",
                full_resync=full,
                more=number < len(pages) - 1,
            )

    def get_many(self, kind: FolderKind, ids: Sequence[str]) -> list[ItemResult[Item]]:
        out: list[ItemResult[Item]] = []
        for item_id in ids:
            entry = self._live(kind, item_id)
            if entry is None:
                out.append(ItemResult(item_id, error=self._missing(item_id)))
            else:
                out.append(ItemResult(item_id, value=copy.deepcopy(entry.item)))
        return out

    def _writable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_write(kind):
            raise not_supported("memory", f"write {kind.value}")

    def create_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        out: list[ItemResult[Item]] = []
        for item in items:
            new = copy.deepcopy(item)
            new.id = f"i{next(self._ids)}"
            self._put(kind, new, new=True)
            out.append(ItemResult(new.id, value=copy.deepcopy(new)))
        return out

    def update_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        out: list[ItemResult[Item]] = []
        for item in items:
            entry = self._live(kind, item.id)
            if entry is None or entry.item is None:
                out.append(ItemResult(item.id, error=self._missing(item.id)))
            elif entry.item.change_key != item.change_key:
                out.append(ItemResult(item.id, error=Conflict(f"stale change key for {item.id}")))
            else:
                new = copy.deepcopy(item)
                self._put(kind, new, new=False)
                out.append(ItemResult(item.id, value=copy.deepcopy(new)))
        return out

    def delete_many(
        self, kind: FolderKind, ids: Sequence[str], *, permanently: bool = False
    ) -> list[ItemResult[None]]:
        self._writable(kind)
        out: list[ItemResult[None]] = []
        for item_id in ids:
            entry = self._live(kind, item_id)
            if entry is None or entry.item is None:
                out.append(ItemResult(item_id, error=self._missing(item_id)))
                continue
            if not permanently and kind is not FolderKind.DELETED_ITEMS:
                moved = copy.deepcopy(entry.item)
                moved.id = f"d{next(self._ids)}"
                moved.folder = FolderKind.DELETED_ITEMS
                self._put(FolderKind.DELETED_ITEMS, moved, new=True)
            self.remove(kind, item_id)
            out.append(ItemResult(item_id))
        return out

    def set_named_props(
        self, kind: FolderKind, updates: Sequence[tuple[str, NamedProps]]
    ) -> list[ItemResult[str]]:
        out: list[ItemResult[str]] = []
        for item_id, props in updates:
            entry = self._live(kind, item_id)
            if entry is None or entry.item is None:
                out.append(ItemResult(item_id, error=self._missing(item_id)))
                continue
            item = copy.deepcopy(entry.item)
            item.props = copy.deepcopy(props)
            self._put(kind, item, new=False)
            out.append(ItemResult(item_id, value=item.change_key))
        return out

    def find_by_crmid(self, kind: FolderKind, crmid: str) -> list[Item]:
        return [
            copy.deepcopy(e.item)
            for e in self._entries[kind].values()
            if e.item is not None and e.item.props.crmid == crmid
        ]

    def scan_links(self, kind: FolderKind) -> Iterator[tuple[str, NamedProps]]:
        for item_id, entry in list(self._entries[kind].items()):
            if entry.item is not None and entry.item.props.crmid:
                yield item_id, copy.deepcopy(entry.item.props)

    def root_sync_org(self) -> str | None:
        return self._root_org

    def set_root_sync_org(self, org_id: str | None) -> None:
        self._root_org = org_id

    def send(self, message: OutgoingMessage) -> str:
        mime = build_mime(message)
        raw = render(mime)
        self.sent.append(raw)
        copy_ = parse_message(raw, item_id=f"s{next(self._ids)}", folder=FolderKind.SENT_ITEMS)
        self._put(FolderKind.SENT_ITEMS, copy_, new=True)
        return str(mime["Message-ID"])

    def check(self) -> None:
        return None

    def close(self) -> None:
        pass


@dataclass
class MemoryHarness:
    store: MemoryStore

    def deliver(self, raw: bytes) -> None:
        self.store.deliver(raw)

    def delete_on_server(self, message_id: str) -> None:
        for result in self.store.get_many(FolderKind.INBOX, list(self.store._entries[FolderKind.INBOX])):
            if isinstance(result.value, MailItem) and result.value.message_id == message_id:
                self.store.remove(FolderKind.INBOX, result.value.id)
                return
        raise KeyError(message_id)

    def sent_messages(self) -> list[bytes]:
        return list(self.store.sent)
