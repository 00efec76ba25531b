"""Go online: send the queued offline changes to Dynamics 365 in order, merging where the server changed too.

1. The queue becomes one change per record (:func:`net_changes`): a create with its later edits is one create
   with the local row, edits are one update of the fields changed offline, against the row version the first
   edit was made against; anything ending in a delete is a delete; created and deleted offline is nothing.
   Records keep the order of their first change, except that a create referring to another record created
   offline goes after that one.
2. Every change is a change set of its own in ``$batch`` requests of at most 1,000 operations (a cancel is
   honoured between those requests: what was not sent stays queued)
   (``odata.continue-on-error``: a refused change fails alone): creates with the client-generated GUID as
   primary key (a repeated replay finds the row exists, 0x80040237, and takes it as sent, so nothing is
   created twice), updates and deletes with ``If-Match`` on the row version, all with
   ``Prefer: return=representation`` so the store learns the new row version at once.
3. An update refused with 412 (the server row changed since the download) is merged field by field against
   the downloaded row with ``wizard.sync.merge.merge`` (Dynamics 365 is the "crm" side, the offline row the
   "mailbox" side): fields changed on one side only merge by themselves, a field changed on both follows the
   user's conflict policy; "ask" keeps the field queued (held) for the user. Every automatic decision is
   logged with its losing value in the store's conflict log. The merged fields go in another ``$batch``
   with the new row version (up to :data:`MAX_ROUNDS` times when the row keeps changing).
4. A record deleted on the server but edited offline, edited on the server but deleted offline, or a create
   the service's duplicate detection refuses (0x80040333, when
   ``usersettings.isduplicatedetectionenabledwhengoingonline`` is on) is held for the user with an open
   conflict; nothing is decided for them.

Nothing of a change leaves the queue before the service confirmed it: a replay killed at any moment is
repeated from the queue as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from wizard.crm.client import guid
from wizard.odata import etag as etags
from wizard.odata.batch import (
    MAX_BATCH_REQUESTS,
    BatchItem,
    BatchRequest,
    BatchResult,
    ChangeSet,
    split_batches,
)
from wizard.offline.decide import CREATE_ANYWAY
from wizard.offline.download import CancelFlag
from wizard.offline.fields import body, referred
from wizard.offline.store import OfflineStore, QueuedChange, project_row
from wizard.offline.tables import ANNOTATIONS, LOOKUP_TABLE, OfflineTable, table
from wizard.settings.enums import DEFAULT_POLICY, ConflictPolicy
from wizard.sync.merge import FieldConflict, merge
from wizard.sync.model import Direction

log = logging.getLogger(__name__)

ERR_DUPLICATE = "0x80040333"  # DuplicateRecord: "A record was not created or updated because a duplicate ..."
ERR_EXISTS = "0x80040237"  # DuplicateRecord key: "A record with matching key values already exists."
MAX_ROUNDS = 3
RETURN_ROW = f"return=representation,{ANNOTATIONS}"

NetOp = Literal["create", "update", "delete", "discard"]
Progress = Callable[[int, int], None]
"""``(changes done, changes in all)``."""


class BatchClient(Protocol):
    """What a replay needs of :class:`wizard.crm.client.DataverseClient`."""

    def batch(self, items: Sequence[BatchItem], *, continue_on_error: bool = True) -> list[BatchResult]: ...


@dataclass
class NetChange:
    """One record's queued changes as one write."""

    table: str
    id: str
    op: NetOp
    fields: dict[str, Any]  # kept shape; create: the whole local row
    version: str | None  # the row version the first change was made against
    seqs: list[int]
    changed_at: str  # when the last change was made (for "newest wins")
    allow_duplicate: bool = False  # the user chose "create anyway" after the service found a duplicate
    keep: dict[str, Any] = field(
        default_factory=dict
    )  # merged fields held for the user once the rest is sent


@dataclass
class ReplayResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    merged: int = 0  # updates merged with a server change
    conflicts: int = 0  # decided by the policy (logged with the losing value)
    held: int = 0  # records waiting for the user
    failed: list[str] = field(default_factory=list)
    batches: int = 0
    cancelled: bool = False  # stopped between batches: what was not sent is still queued

    @property
    def sent(self) -> int:
        return self.created + self.updated + self.deleted


def net_changes(queue: Sequence[QueuedChange], store: OfflineStore) -> list[NetChange]:
    """The pending (not held) queue as one change per record, in replay order."""
    by_record: dict[tuple[str, str], list[QueuedChange]] = {}
    held = {(c.table, c.id) for c in queue if c.status != "pending"}
    for change in queue:
        if (change.table, change.id) not in held:
            by_record.setdefault((change.table, change.id), []).append(change)
    out: list[NetChange] = []
    for (tbl, row_id), changes in by_record.items():
        seqs = [c.seq for c in changes]
        created = changes[0].op == "create"
        deleted = changes[-1].op == "delete"
        row = store.row(tbl, row_id)
        if created and deleted:
            op: NetOp = "discard"
            fields: dict[str, Any] = {}
        elif deleted:
            op, fields = "delete", {}
        elif created:
            op, fields = "create", dict(row.local) if row is not None else {}
        else:
            op = "update"
            names: dict[str, None] = {}
            for c in changes:
                names.update(dict.fromkeys(c.fields))
            local = row.local if row is not None else {}
            fields = {name: local.get(name) for name in names}
        allow = any(c.note == CREATE_ANYWAY for c in changes)
        version, changed_at = changes[0].row_version, changes[-1].created_at
        out.append(NetChange(tbl, row_id, op, fields, version, seqs, changed_at, allow))
    return _ordered(out)


def _ordered(changes: list[NetChange]) -> list[NetChange]:
    """First-change order, with creates after the offline creates they refer to (a cycle keeps its order)."""
    creates = {(c.table, c.id) for c in changes if c.op == "create"}
    placed: set[tuple[str, str]] = set()
    out: list[NetChange] = []
    waiting = list(changes)
    while waiting:
        progressed = False
        rest: list[NetChange] = []
        for change in waiting:
            needs = referred(table(change.table), change.fields) & creates if change.op != "delete" else set()
            if needs - placed - {(change.table, change.id)}:
                rest.append(change)
                continue
            out.append(change)
            placed.add((change.table, change.id))
            progressed = True
        if not progressed:  # a cycle of creates: their order as made (the service refuses what it must)
            out.extend(rest)
            break
        waiting = rest
    return out


def _path(spec: OfflineTable, row_id: str) -> str:
    return f"{spec.entity_set}({guid(row_id)})"


def _request(change: NetChange, base: Mapping[str, Any] | None, *, duplicate_detection: bool) -> BatchRequest:
    spec = table(change.table)
    if change.op == "create":
        payload = body(spec, {k: v for k, v in change.fields.items() if v is not None})
        payload[spec.primary_id] = change.id
        headers = {"Prefer": RETURN_ROW}
        if duplicate_detection and not change.allow_duplicate:
            headers["MSCRM.SuppressDuplicateDetection"] = "false"
        return BatchRequest("POST", spec.entity_set, body=payload, headers=headers)
    if change.op == "update":
        payload = body(spec, change.fields, base=base)
        headers = {"Prefer": RETURN_ROW, **etags.if_match(change.version)}
        return BatchRequest("PATCH", _path(spec, change.id), body=payload, headers=headers)
    return BatchRequest("DELETE", _path(spec, change.id), headers=etags.if_match(change.version))


def _code(result: BatchResult) -> str:
    return (result.error.code if result.error is not None else "").lower()


def _get(spec: OfflineTable, row_id: str) -> BatchRequest:
    return BatchRequest(
        "GET",
        f"{_path(spec, row_id)}?$select={','.join(spec.select)}",
        headers={"Prefer": ANNOTATIONS},
    )


class Replay:
    """One go-online replay over an open store."""

    def __init__(
        self,
        client: BatchClient,
        store: OfflineStore,
        *,
        policy: ConflictPolicy = DEFAULT_POLICY,
        duplicate_detection: bool = False,
        progress: Progress | None = None,
        cancel: CancelFlag | None = None,
    ) -> None:
        self.cancel = cancel
        self.client = client
        self.store = store
        self.policy = policy
        self.duplicate_detection = duplicate_detection
        self.progress = progress or (lambda _done, _total: None)
        self.result = ReplayResult()
        self._done = 0
        self._total = 0

    def _send(self, items: Sequence[BatchItem]) -> list[BatchResult]:
        if not items:
            return []
        self.result.batches += len(split_batches(items, MAX_BATCH_REQUESTS))
        return self.client.batch(items, continue_on_error=True)

    def run(self) -> ReplayResult:
        changes = net_changes(self.store.queue(), self.store)
        self._total = len(changes)
        self.progress(0, self._total)
        writes: list[NetChange] = []
        for change in changes:
            if change.op == "discard":
                self.store.sent(change.table, change.id, change.seqs, gone=True)
                self._step()
            else:
                writes.append(change)
        to_merge: list[NetChange] = []
        for start in range(0, len(writes), MAX_BATCH_REQUESTS):  # one $batch request each
            if self.cancel is not None and self.cancel.is_set():
                self.result.cancelled = True  # the rest stays queued, as it was
                return self.result
            chunk = writes[start : start + MAX_BATCH_REQUESTS]
            requests = [
                _request(c, self._base(c), duplicate_detection=self.duplicate_detection) for c in chunk
            ]
            results = self._send([ChangeSet([r]) for r in requests])
            for change, result in zip(chunk, results, strict=True):
                if not self._settle(change, result):
                    to_merge.append(change)
        for _round in range(MAX_ROUNDS):
            if not to_merge:
                break
            to_merge = self._merge_round(to_merge)
        for change in to_merge:
            self.result.failed.append(
                f"{change.table} {change.id}: it kept changing in Dynamics 365; try again."
            )
        return self.result

    def _base(self, change: NetChange) -> dict[str, Any] | None:
        row = self.store.row(change.table, change.id)
        return row.base if row is not None else None

    def _step(self) -> None:
        self._done += 1
        self.progress(self._done, self._total)

    def _confirmed(self, change: NetChange, result: BatchResult) -> None:
        server = result.body if isinstance(result.body, dict) else None
        etag = (
            (server or {}).get("@odata.etag") or result.headers.get("ETag") if change.op != "delete" else None
        )
        self.store.sent(
            change.table,
            change.id,
            change.seqs,
            server=server,
            etag=str(etag) if etag else None,
            gone=change.op == "delete",
            keep=change.keep or None,
        )
        if change.keep:
            self.result.held += 1
        if change.op == "create":
            self.result.created += 1
        elif change.op == "update":
            self.result.updated += 1
        else:
            self.result.deleted += 1
        self._step()

    def _hold(self, change: NetChange, field_name: str, reason: str, *, server: Any, local: Any) -> None:
        row = self.store.row(change.table, change.id)
        self.store.add_conflict(
            change.table,
            change.id,
            field_name,
            server=server,
            local=local,
            base=row.base if row is not None else None,
            policy=str(self.policy),
            reason=reason,
            winner=None,
            item=row.name() if row is not None else "",
        )
        self.store.hold(change.table, change.id, reason)
        self.result.held += 1
        self._step()

    def _settle(self, change: NetChange, result: BatchResult) -> bool:
        """Handle a first-round answer; False when the change needs a merge with the server row."""
        if result.ok:
            self._confirmed(change, result)
            return True
        code, status = _code(result), result.status
        if change.op == "create":
            if code == ERR_EXISTS or status == 409:
                self._confirmed(
                    change, BatchResult(result.request, 204, {}, None)
                )  # an earlier replay sent it
            elif code == ERR_DUPLICATE:
                self._hold(change, "duplicate", "duplicate", server=None, local=change.fields)
            else:
                self._fail(change, result)
            return True
        if change.op == "delete":
            if status == 404:
                self._confirmed(change, result)
            elif status == 412:
                self._hold(change, "*", "edited_on_server", server=None, local=None)
            else:
                self._fail(change, result)
            return True
        if status == 404:
            self._hold(change, "*", "deleted_on_server", server=None, local=change.fields)
            return True
        if status == 412:
            return False
        self._fail(change, result)
        return True

    def _fail(self, change: NetChange, result: BatchResult) -> None:
        text = result.error.user_text if result.error is not None else f"HTTP {result.status}"
        self.result.failed.append(f"{change.table} {change.id}: {text}")
        self._step()

    def _merge_round(self, changes: list[NetChange]) -> list[NetChange]:
        """Read the server rows of refused updates, merge, send the merged fields; what is refused again."""
        reads = self._send([_get(table(c.table), c.id) for c in changes])
        writes: list[tuple[NetChange, BatchRequest]] = []
        for change, read in zip(changes, reads, strict=True):
            if read.status == 404:
                self._hold(change, "*", "deleted_on_server", server=None, local=change.fields)
                continue
            if not read.ok or not isinstance(read.body, dict):
                self._fail(change, read)
                continue
            request = self._merged(change, read.body)
            if request is not None:
                writes.append((change, request))
        results = self._send([ChangeSet([r]) for _c, r in writes])
        again: list[NetChange] = []
        for (change, _), result in zip(writes, results, strict=True):
            if result.status == 412:
                again.append(change)
            elif result.status == 404:
                self._hold(change, "*", "deleted_on_server", server=None, local=change.fields)
            elif result.ok:
                self._confirmed(change, result)
            else:
                self._fail(change, result)
        return again

    def _merged(self, change: NetChange, server_row: Mapping[str, Any]) -> BatchRequest | None:
        """Merge one record; the PATCH of what goes to the server (None when nothing does)."""
        spec = table(change.table)
        row = self.store.row(change.table, change.id)
        base: Mapping[str, Any] = (row.base if row is not None else None) or {}
        server = project_row(spec, server_row)
        names = [n for n in change.fields if not n.endswith(LOOKUP_TABLE)]
        result = merge(
            {n: base.get(n) for n in names},
            {n: server.get(n) for n in names},
            {n: change.fields.get(n) for n in names},
            {n: Direction.BOTH for n in names},
            self.policy,
            crm_modified=server.get("modifiedon"),
            mailbox_modified=change.changed_at,
            undecided=(),
        )
        self.result.merged += 1
        item = row.name() if row is not None else ""
        keep: dict[str, Any] = {}
        for conflict in result.conflicts:
            self._log(change, conflict, item)
            if conflict.winner is None:
                keep[conflict.field] = conflict.mailbox
                _with_table(keep, spec, change.fields, conflict.field)
        send = {n: v for n, v in result.to_crm.items()}
        for name in list(send):
            _with_table(send, spec, change.fields, name)
        etag = str(server_row.get("@odata.etag") or "") or None
        keep = {**change.keep, **keep}  # what an earlier round of this record held, too
        if not send:
            self.store.sent(
                change.table, change.id, change.seqs, server=server_row, etag=etag, keep=keep or None
            )
            if keep:
                self.result.held += 1
            self._step()
            return None
        change.fields = send
        change.version = etag
        # The open fields wait for the user, the rest is sent now; the queue changes only when the service
        # confirmed the send (_confirmed), so a send that never arrives leaves every offline field queued.
        change.keep = keep
        return BatchRequest(
            "PATCH",
            _path(spec, change.id),
            body=body(spec, send, base=server),
            headers={"Prefer": RETURN_ROW, **etags.if_match(etag)},
        )

    def _log(self, change: NetChange, conflict: FieldConflict, item: str) -> None:
        winner = {"crm": "server", "mailbox": "local"}.get(conflict.winner or "")
        self.store.add_conflict(
            change.table,
            change.id,
            conflict.field,
            server=conflict.crm,
            local=conflict.mailbox,
            base=conflict.base,
            policy=str(self.policy),
            reason=conflict.reason,
            winner=winner,
            item=item,
        )
        if winner is not None:
            self.result.conflicts += 1


def _with_table(out: dict[str, Any], spec: OfflineTable, fields: Mapping[str, Any], name: str) -> None:
    """A lookup value travels with its table."""
    if spec.lookup(name) is not None:
        out[name + LOOKUP_TABLE] = fields.get(name + LOOKUP_TABLE)


def go_online(
    client: BatchClient,
    store: OfflineStore,
    *,
    policy: ConflictPolicy = DEFAULT_POLICY,
    duplicate_detection: bool = False,
    progress: Progress | None = None,
    cancel: CancelFlag | None = None,
) -> ReplayResult:
    """Replay the store's queue (see the module docstring)."""
    return Replay(
        client,
        store,
        policy=policy,
        duplicate_detection=duplicate_detection,
        progress=progress,
        cancel=cancel,
    ).run()
