"""SyncFolderHierarchy and SyncFolderItems: change tracking by opaque, signed sync states."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from typing import Any

from wizard.sandbox.ews._soap import Element, m, sub, t
from wizard.sandbox.ews.errors import EwsError, response_message
from wizard.sandbox.ews.ops.base import Mailbox, OperationsBase
from wizard.sandbox.ews.rendering import Shape, render_folder, render_item, visible_children
from wizard.sandbox.ews.store import StoredFolder

#: how many sync states remember which items their client was told of (older states fall back to the sequence
#: rule: an item that existed at the state's sequence is known)
KNOWN_STATES = 4096


class _KnownItems:
    """Which items a chain of SyncFolderItems answers has told its client of, by the state's key. EXD
    SyncFolderItems: the first synchronization "returns all the items"; a Delete is news only for an item the
    client was told of — not for one deleted before a paged first round reached it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: OrderedDict[str, frozenset[str]] = OrderedDict()

    def get(self, key: str | None) -> frozenset[str] | None:
        with self._lock:
            return self._sets.get(key) if key else None

    def put(self, known: frozenset[str]) -> str:
        key = uuid.uuid4().hex
        with self._lock:
            self._sets[key] = known
            while len(self._sets) > KNOWN_STATES:
                self._sets.popitem(last=False)
        return key


class SyncOperations(OperationsBase):
    """SyncFolderHierarchy, SyncFolderItems."""

    @property
    def _known_items(self) -> _KnownItems:
        known = self.__dict__.get("_known_items_store")
        if not isinstance(known, _KnownItems):
            known = _KnownItems()
            self.__dict__["_known_items_store"] = known
        return known

    def op_SyncFolderHierarchy(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("FolderShape")))
        try:
            sync_ref = request.find(m("SyncFolderId"))
            top = (
                self._folder(caller, sync_ref[0])
                if sync_ref is not None
                else self.store.folder(caller.address, "msgfolderroot")
            )
            assert top is not None
            since = _decode_state(request.findtext(m("SyncState")), "h", top.id)
        except EwsError as exc:
            return [_sync_error("SyncFolderHierarchy", exc, "IncludesLastFolderInRange")]
        folders: list[StoredFolder] = []
        queue = [top]
        while queue:
            children = visible_children(self.store, queue.pop(0))
            folders.extend(children)
            queue.extend(children)
        msg = response_message("SyncFolderHierarchy")
        sub(msg, "m:SyncState", _encode_state("h", top.id, self.store.current_seq))
        sub(msg, "m:IncludesLastFolderInRange", "true")
        changes = sub(msg, "m:Changes")
        for folder in sorted(folders, key=lambda f: f.seq):
            if folder.seq <= since:
                continue
            change = sub(changes, "t:Create" if folder.created_seq > since else "t:Update")
            change.append(render_folder(folder, shape, self.store))
        return [msg]

    def op_SyncFolderItems(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("ItemShape")))
        try:
            folder = self._folder(caller, request.find(m("SyncFolderId"))[0])
            since, key = _decode_state_key(request.findtext(m("SyncState")), "i", folder.id)
            limit = int(request.findtext(m("MaxChangesReturned")) or "100")
            if not 1 <= limit <= 512:
                raise EwsError("ErrorInvalidArgument", "MaxChangesReturned must be between 1 and 512.")
        except EwsError as exc:
            return [_sync_error("SyncFolderItems", exc, "IncludesLastItemInRange")]
        ignore_elem = request.find(m("Ignore"))
        ignore = {ref.get("Id") for ref in ignore_elem} if ignore_elem is not None else set()
        # no state: the client knows nothing; a remembered state: what its chain told the client; a state the
        # stand-in no longer remembers: every item that existed at its sequence (the store's rule)
        known = frozenset() if since == 0 else self._known_items.get(key)
        changes = [
            c
            for c in self.store.changes_since(folder.id, since)
            if _change_id(c) not in ignore and (c[1] != "delete" or known is None or c[2].item_id in known)
        ]
        page, complete = changes[:limit], len(changes) <= limit
        new_seq = page[-1][0] if page and not complete else self.store.current_seq
        msg = response_message("SyncFolderItems")
        new_key = None
        if known is not None:
            told = {_change_id(c) for c in page if c[1] != "delete"}
            gone = {_change_id(c) for c in page if c[1] == "delete"}
            new_key = self._known_items.put(frozenset((known | told) - gone))
        sub(msg, "m:SyncState", _encode_state("i", folder.id, new_seq, new_key))
        sub(msg, "m:IncludesLastItemInRange", complete)
        holder = sub(msg, "m:Changes")
        for _seq, kind, obj in page:
            if kind == "delete":
                sub(sub(holder, "t:Delete"), "t:ItemId", attrs={"Id": obj.item_id, "ChangeKey": ""})
            elif kind == "read_flag_change":
                change = sub(holder, "t:ReadFlagChange")
                sub(change, "t:ItemId", attrs={"Id": obj.id, "ChangeKey": obj.changekey})
                sub(change, "t:IsRead", obj.element.findtext(t("IsRead")) or "false")
            else:
                change = sub(holder, "t:Create" if kind == "create" else "t:Update")
                change.append(render_item(obj, shape, self.store))
        return [msg]


def _sync_error(op: str, error: EwsError, last_name: str) -> Element:
    """Sync errors still carry an empty SyncState and the in-range flag (as in the documented sample)."""
    msg = response_message(op, error)
    sub(msg, "m:SyncState")
    sub(msg, f"m:{last_name}", "true")
    return msg


def _change_id(change: tuple[int, str, Any]) -> str:
    obj = change[2]
    return str(obj.item_id if change[1] == "delete" else obj.id)


def _encode_state(kind: str, folder_id: str, seq: int, key: str | None = None) -> str:
    data: dict[str, Any] = {"k": kind, "f": folder_id, "s": seq}
    if key:
        data["n"] = key
    raw = json.dumps(data, separators=(",", ":")).encode()
    mac = hashlib.sha256(b"ews-sandbox-syncstate|" + raw).digest()[:8]
    return base64.b64encode(b"H4sI" + mac + raw).decode()


def _decode_state(state: str | None, kind: str, folder_id: str) -> int:
    """The sequence a sync state stands for; garbage or other-folder states: ErrorInvalidSyncStateData."""
    return _decode_state_key(state, kind, folder_id)[0]


def _decode_state_key(state: str | None, kind: str, folder_id: str) -> tuple[int, str | None]:
    """The sequence a sync state stands for and the key of what its chain told the client (if any)."""
    if not state or not state.strip():
        return 0, None
    bad = EwsError("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.")
    try:
        blob = base64.b64decode(state.strip(), validate=True)
    except ValueError:
        raise bad from None
    if len(blob) < 12 or not blob.startswith(b"H4sI"):
        raise bad
    mac, raw = blob[4:12], blob[12:]
    if hashlib.sha256(b"ews-sandbox-syncstate|" + raw).digest()[:8] != mac:
        raise bad
    try:
        data = json.loads(raw)
    except ValueError:
        raise bad from None
    if data.get("k") != kind or data.get("f") != folder_id or not isinstance(data.get("s"), int):
        raise bad
    key = data.get("n")
    return int(data["s"]), key if isinstance(key, str) else None
