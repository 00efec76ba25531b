"""The Graph stand-in's data: one mailbox per directory user, change sequence numbers and delta tokens.

Every write bumps a per-mailbox sequence number and stamps it on the item; deletes and moves leave a
tombstone with the sequence number they happened at. A delta round is then "items and tombstones of one
collection with ``from < seq <= to``", paged by the last sequence number handed out. Tokens carry that
state, signed with an HMAC so a damaged or foreign token is refused (410 ``syncStateNotFound``) rather
than misread, and a generation number so tests can expire every token of a mailbox at once.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

#: collections a delta round can run over
MAIL_COLLECTIONS = ("inbox", "sentitems", "deleteditems")
COLLECTIONS = (*MAIL_COLLECTIONS, "contacts", "events", "tasks")


def now_iso() -> str:
    """Graph's timestamps: UTC, whole seconds, ``Z``."""
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    """An opaque, URL-safe item id in the style of Exchange's (long base64)."""
    raw = b"\x00\x00\x00\x00" + uuid.uuid4().bytes + secrets.token_bytes(8)
    return "AAMk" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(12)).decode("ascii")


@dataclass
class Entry:
    """One item: its JSON resource (without computed fields), extended and open-extension properties."""

    id: str
    collection: str
    resource: dict[str, Any]
    seq: int
    change_key: str = field(default_factory=new_change_key)
    ext: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    mime: bytes | None = None
    created: str = field(default_factory=now_iso)
    modified: str = field(default_factory=now_iso)
    #: a series master's exceptions: original date (ISO, series zone) -> {"fields": {...}, "changeKey": str}
    exceptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: a series master's cancelled (deleted) occurrences: original dates (ISO, series zone)
    cancelled: set[str] = field(default_factory=set)

    @property
    def etag(self) -> str:
        return f'W/"{self.change_key}"'


@dataclass
class Mailbox:
    address: str
    display_name: str
    oid: str
    entries: dict[str, Entry] = field(default_factory=dict)
    tombstones: list[tuple[str, str, int]] = field(default_factory=list)  # (collection, id, seq)
    root_ext: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    generation: int = 1
    calendar_id: str = field(default_factory=new_id)
    task_list_id: str = field(default_factory=new_id)
    folder_ids: dict[str, str] = field(default_factory=lambda: {c: new_id() for c in MAIL_COLLECTIONS})


class TokenInvalid(Exception):
    """A delta or skip token that is damaged, foreign or expired."""


@dataclass(frozen=True)
class DeltaState:
    oid: str
    collection: str
    since: int  # exclusive lower bound
    until: int | None  # inclusive upper bound of this round (None: a deltaLink, resolved at read time)
    after: int  # items with seq <= after were already handed out in this round
    generation: int
    window: tuple[str, str] | None = None
    select: str = ""
    filter: str = ""  # a message delta's $filter (receivedDateTime ge|gt …), kept across the round


class GraphData:
    """All mailboxes. Thread-safe: every public method takes the lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._key = secrets.token_bytes(32)
        self.mailboxes: dict[str, Mailbox] = {}

    # -- mailboxes -----------------------------------------------------------------------------------
    def ensure_mailbox(self, oid: str, address: str, display_name: str) -> Mailbox:
        with self._lock:
            box = self.mailboxes.get(oid)
            if box is None:
                box = Mailbox(address=address, display_name=display_name, oid=oid)
                self.mailboxes[oid] = box
            return box

    def mailbox_by_address(self, address: str) -> Mailbox | None:
        wanted = address.strip().lower()
        with self._lock:
            return next((b for b in self.mailboxes.values() if b.address.lower() == wanted), None)

    # -- items ---------------------------------------------------------------------------------------
    def _bump(self, box: Mailbox) -> int:
        box.seq += 1
        return box.seq

    def insert(
        self,
        box: Mailbox,
        collection: str,
        resource: dict[str, Any],
        *,
        ext: dict[str, str] | None = None,
        mime: bytes | None = None,
    ) -> Entry:
        with self._lock:
            entry = Entry(
                id=new_id(),
                collection=collection,
                resource=copy.deepcopy(resource),
                seq=self._bump(box),
                ext=dict(ext or {}),
                mime=mime,
            )
            box.entries[entry.id] = entry
            return entry

    def get(self, box: Mailbox, item_id: str, collections: tuple[str, ...]) -> Entry | None:
        with self._lock:
            entry = box.entries.get(item_id)
            return entry if entry is not None and entry.collection in collections else None

    def touch(self, box: Mailbox, entry: Entry) -> None:
        """Record a change to ``entry`` (new change key, new sequence number)."""
        with self._lock:
            entry.seq = self._bump(box)
            entry.change_key = new_change_key()
            entry.modified = now_iso()

    def removed(self, box: Mailbox, collection: str, item_id: str) -> None:
        """Record that ``item_id`` left ``collection`` without being an entry (a cancelled occurrence)."""
        with self._lock:
            box.tombstones.append((collection, item_id, self._bump(box)))

    def delete(self, box: Mailbox, entry: Entry) -> None:
        with self._lock:
            box.entries.pop(entry.id, None)
            box.tombstones.append((entry.collection, entry.id, self._bump(box)))

    def move(self, box: Mailbox, entry: Entry, collection: str) -> Entry:
        """Move to another folder: a new id there (as Exchange does), a tombstone here."""
        with self._lock:
            self.delete(box, entry)
            moved = Entry(
                id=new_id(),
                collection=collection,
                resource=entry.resource,
                seq=self._bump(box),
                ext=entry.ext,
                extensions=entry.extensions,
                mime=entry.mime,
                created=entry.created,
            )
            box.entries[moved.id] = moved
            return moved

    def items(self, box: Mailbox, collection: str) -> list[Entry]:
        with self._lock:
            return sorted(
                (e for e in box.entries.values() if e.collection == collection), key=lambda e: e.seq
            )

    def expire_tokens(self, box: Mailbox) -> None:
        """Every delta and skip token of this mailbox becomes unusable (the service lost its sync state)."""
        with self._lock:
            box.generation += 1

    # -- delta -----------------------------------------------------------------------------------------
    def encode_token(self, state: DeltaState) -> str:
        payload = json.dumps(
            {
                "o": state.oid,
                "c": state.collection,
                "f": state.since,
                "t": state.until,
                "a": state.after,
                "g": state.generation,
                "w": list(state.window) if state.window else None,
                "s": state.select,
                "q": state.filter,
            },
            separators=(",", ":"),
        ).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:12]
        return body + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def decode_token(self, token: str, box: Mailbox, collection: str) -> DeltaState:
        body, _, mac = token.partition(".")
        expected = base64.urlsafe_b64encode(
            hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:12]
        ).decode()
        if not mac or not hmac.compare_digest(mac, expected.rstrip("=")):
            raise TokenInvalid("signature")
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            state = DeltaState(
                oid=str(data["o"]),
                collection=str(data["c"]),
                since=int(data["f"]),
                until=None if data["t"] is None else int(data["t"]),
                after=int(data["a"]),
                generation=int(data["g"]),
                window=tuple(data["w"]) if data.get("w") else None,
                select=str(data.get("s") or ""),
                filter=str(data.get("q") or ""),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenInvalid("payload") from exc
        if state.oid != box.oid or state.collection != collection or state.generation != box.generation:
            raise TokenInvalid("foreign or expired")
        return state

    def delta_page(
        self,
        box: Mailbox,
        state: DeltaState,
        page_size: int,
        in_window: Any = None,
    ) -> tuple[list[tuple[str, Entry | None]], DeltaState | None, DeltaState]:
        """One page: ``[(id, entry or None for removed)]``, the next page's state (None at the end) and
        the state of the deltaLink that closes the round."""
        with self._lock:
            until = box.seq if state.until is None else state.until
            rows: list[tuple[int, str, Entry | None]] = []
            for entry in box.entries.values():
                if entry.collection != state.collection or not (state.since < entry.seq <= until):
                    continue
                if entry.seq <= state.after:
                    continue
                if in_window is not None and not in_window(entry):
                    continue
                rows.append((entry.seq, entry.id, copy.deepcopy(entry)))
            if state.since > 0:  # a first round lists what exists; it reports no deletions
                for collection, item_id, seq in box.tombstones:
                    if collection == state.collection and state.since < seq <= until and seq > state.after:
                        rows.append((seq, item_id, None))
            rows.sort(key=lambda r: r[0])
            page = rows[:page_size]
            closing = replace(state, since=until, until=None, after=0, generation=box.generation)
            if len(rows) > page_size:
                nxt = replace(state, until=until, after=page[-1][0], generation=box.generation)
                return [(i, e) for _, i, e in page], nxt, closing
            return [(i, e) for _, i, e in page], None, closing
