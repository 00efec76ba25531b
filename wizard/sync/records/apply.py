"""Applying one record kind's plan: the executor of the planner's operations, with journaled creates.

- Creates are journaled before they are sent; CRM rows get a client-chosen GUID so a crash between
  "created" and "linked" is resolved by ``StateDB.recover_creates`` (see the engine). CRM creates go in
  ``$batch`` requests of up to 1,000 (a refused row fails that item only), mailbox creates 100 a request.
- The common one-sided updates of many pairs go in one request (``$batch`` / ``update_many``); everything
  else runs group by group (the operations of one pair).
- Items whose operations fail are noted (:class:`Tally`), so the run's cursors make them come back next run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from wizard.crm.client import new_id
from wizard.errors import D365SyncError, Severity
from wizard.mailbox.base import (
    AppointmentItem,
    ContactItem,
    ItemNotFound,
    LinkState,
    MailboxError,
    NamedProps,
    NotSupported,
    TaskItem,
)
from wizard.odata.errors import NotFoundError
from wizard.odata.overlap import Answer, InOrder
from wizard.odata.transport import gate_of
from wizard.settings.enums import Kind
from wizard.sync import mapping
from wizard.sync.cursors import CrmCursor
from wizard.sync.merge import canonical
from wizard.sync.model import Fields, content_hash
from wizard.sync.planner import (
    WAITING,
    CreateInCrm,
    CreateInMailbox,
    DeleteInCrm,
    DeleteInMailbox,
    ForgetLink,
    Operation,
    Plan,
    RecordConflict,
    Relink,
    Unlink,
    UpdateBase,
    UpdateCrm,
    UpdateMailbox,
)
from wizard.sync.records import appointment_series as series
from wizard.sync.records.common import (
    CREATE_BATCH,
    FOLDERS,
    KindAborted,
    MailboxItem,
    mailbox_view,
    written_key,
)
from wizard.sync.records.read import KindRead, KindReader, planned_view
from wizard.sync.run import RunContext
from wizard.sync.state import RunCounts, StateDB

log = logging.getLogger(__name__)

#: the operations of this many pairs (run one by one) form one batch of writes: one claim check each
GROUPS_PER_CHECK = 25
#: mailbox creates per claim check (each item carries its crmid from the start, so a stop between two
#: chunks leaves nothing a new synchronizing computer could not relink)
MAILBOX_CREATES_PER_CHECK = 500


@dataclass
class Tally:
    to_crm: RunCounts = field(default_factory=RunCounts)
    to_mailbox: RunCounts = field(default_factory=RunCounts)
    failed_crm: set[str] = field(default_factory=set)
    failed_mailbox: set[str] = field(default_factory=set)
    mailbox_writes: bool = False  # something was written to the mailbox folder this run
    recreated: set[str] = field(default_factory=set)  # CRM ids this plan creates in the mailbox (again)


@dataclass
class _Conversions:
    """:class:`.appointment_series.Conversions` in the state DB's journal (recovered by the engine at start-up)."""

    state: StateDB
    kind: Kind
    mailbox_id: str

    def begin(self, crm_id: str, payload: Mapping[str, Any]) -> int:
        return self.state.journal_conversion(self.kind, crm_id, self.mailbox_id, payload).id

    def done(self, token: Any) -> None:
        self.state.journal_done(int(token), None)


class PlanExecutor:
    """Carries out one kind's plan; ``reader`` fetches what the plan did not read (the same kind)."""

    def __init__(self, kind: Kind, reader: KindReader) -> None:
        self.record_kind: Kind = kind
        self.folder = FOLDERS[kind]
        self.reader = reader

    # -- executing ---------------------------------------------------------------------------------
    def execute(
        self, ctx: RunContext, mctx: mapping.MappingContext, the_plan: Plan, read: KindRead, tally: Tally
    ) -> None:
        groups = _groups(the_plan.operations)
        total = len(groups)
        creates = [op for g in groups if len(g) == 1 for op in g if isinstance(op, CreateInMailbox)]
        crm_creates = [op for g in groups if len(g) == 1 for op in g if isinstance(op, CreateInCrm)]
        done = 0
        # A contact deleted in the mailbox but edited in CRM: its link is forgotten and the row created in
        # the mailbox again. The forget must come first, or the new item cannot be linked ("already
        # linked") and every run would leave one more unlinked copy in the mailbox.
        recreated = {op.crm_id for op in creates}
        forgets = [
            g for g in groups if any(isinstance(op, ForgetLink) and op.crm_id in recreated for op in g)
        ]
        # Each batch of writes below starts with ctx.before_writes() (the claim's heartbeat): an engine
        # another computer took over from stops there, with nothing of that batch written.
        if forgets or creates:
            ctx.before_writes()
        for group in forgets:
            self._run_group(ctx, mctx, group, read, tally)
        done += len(forgets)
        for start in range(0, len(creates), MAILBOX_CREATES_PER_CHECK):
            if start:  # the first chunk's check is the one above
                ctx.before_writes()
            chunk = creates[start : start + MAILBOX_CREATES_PER_CHECK]
            self._create_in_mailbox(ctx, mctx, chunk, tally)
            done += len(chunk)
            ctx.reporter.progress(self.record_kind, done, total)
        if crm_creates:  # independent of each other and of the rest: $batch (item errors stay per item)
            ctx.before_writes()
            for op, error in self._create_in_crm_many(ctx, mctx, crm_creates, read, tally):
                self._fail(ctx, tally, error, None, op.mailbox_id, "crm")
            done += len(crm_creates)
            ctx.reporter.progress(self.record_kind, done, total)
        batched = self._update_many(ctx, mctx, groups, read, tally)
        if batched:
            done += len(batched)
            ctx.reporter.progress(self.record_kind, done, total)
        done_first = {id(g) for g in forgets}
        rest = [
            g
            for g in groups
            if not (len(g) == 1 and isinstance(g[0], CreateInMailbox | CreateInCrm))
            and id(g) not in batched
            and id(g) not in done_first
        ]
        for position, group in enumerate(rest):
            if position % GROUPS_PER_CHECK == 0:
                ctx.before_writes()
            self._run_group(ctx, mctx, group, read, tally)
            done += 1
            if done % 25 == 0 or done == total:
                ctx.reporter.progress(self.record_kind, done, total)

    def _update_many(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        groups: list[list[Operation]],
        read: KindRead,
        tally: Tally,
    ) -> set[int]:
        """The common one-sided updates of many pairs at once: ``[UpdateCrm, UpdateBase]`` (a field changed in
        the mailbox) in one ``$batch``, ``[UpdateMailbox, UpdateBase]`` of items read this run (a field changed
        in Dynamics 365) in one ``update_many`` (EWS batches of 100). Same checks as one by one: If-Match on the
        row's ETag, the change key of the item read; a refused item fails alone. Series and everything else go
        through :meth:`_run_group`. Returns the ``id()`` of the groups done here."""
        kind = self.record_kind
        to_crm: list[tuple[list[Operation], UpdateCrm, UpdateBase, str, dict[str, Any]]] = []
        to_mailbox: list[tuple[list[Operation], UpdateMailbox, UpdateBase, MailboxItem, bool]] = []
        unread: list[tuple[list[Operation], UpdateMailbox, UpdateBase]] = []
        for group in groups:
            if len(group) != 2 or not isinstance(group[1], UpdateBase):
                continue
            first, base_op = group[0], group[1]
            if isinstance(first, UpdateCrm):
                link = ctx.state.link_by_crm(kind, first.crm_id)
                shape = read.crm_rows.get(first.crm_id) or (link.base if link else None)
                if (shape or {}).get("recurrence") is not None or first.changes.get("recurrence") is not None:
                    continue  # a series (or one in the making): series.update
                payload = mapping.crm_payload(kind, first.changes, mctx, creating=False)
                if payload:
                    to_crm.append((group, first, base_op, mapping.crm_entity_set(kind, shape), payload))
            elif isinstance(first, UpdateMailbox) and first.mailbox_id in read.items:
                to_mailbox.append((group, first, base_op, read.items[first.mailbox_id], True))
            elif isinstance(first, UpdateMailbox):
                unread.append((group, first, base_op))
        done: set[int] = set()
        if len(to_crm) > 1 or len(to_mailbox) + len(unread) > 1:
            ctx.before_writes()
        if len(to_mailbox) + len(unread) > 1 and unread:
            # Items this run did not read (changed in Dynamics only): fetched now in one go, with the same
            # check as _fetch_unchanged; the change key goes on the link only if it is still the link's.
            fetched = self.reader.get_items(ctx, [u.mailbox_id for _, u, _ in unread], set())
            for group, uop, base_op in unread:
                item = fetched.get(uop.mailbox_id)
                failure = (
                    self._moved_since_base(ctx, mctx, uop, item, read)
                    if item is not None
                    else ItemNotFound(f"{uop.mailbox_id} not found", severity=Severity.ITEM)
                )
                if item is None or failure is not None:
                    done.add(id(group))
                    self._fail(
                        ctx, tally, failure or ItemNotFound("gone"), uop.crm_id, uop.mailbox_id, "mailbox"
                    )
                    continue
                seen = self._still_links_key(ctx, uop.crm_id, item)
                to_mailbox.append((group, uop, base_op, item, seen))
        if len(to_crm) > 1:
            rows = [(es, op.crm_id, payload, _read_etag(read, op.crm_id)) for _, op, _, es, payload in to_crm]
            try:
                results = ctx.crm.update_many(rows)
            except D365SyncError as error:
                for group, op, _, _, _ in to_crm:
                    done.add(id(group))
                    self._fail(ctx, tally, error, op.crm_id, op.mailbox_id, "crm")
            else:
                with ctx.state.batch():  # one commit for the batch's merge bases
                    for (group, op, base_op, _, _), result in zip(to_crm, results, strict=True):
                        done.add(id(group))
                        if not result.ok:
                            refused = result.error or D365SyncError(
                                f"update answered {result.status}", severity=Severity.ITEM
                            )
                            self._fail(ctx, tally, refused, op.crm_id, op.mailbox_id, "crm")
                            continue
                        tally.to_crm.updated += 1
                        ctx.state.update_base(kind, base_op.crm_id, base_op.base, mailbox_change_key=None)
        if len(to_mailbox) > 1 or (to_mailbox and unread):
            items = [
                mapping.apply_to_mailbox(kind, self._keep_waiting(mctx, b.base, m.changes, item), item, mctx)
                for _, m, b, item, _ in to_mailbox
            ]
            try:
                answers = ctx.mailbox.update_many(self.folder, items)
            except MailboxError as error:
                for group, mop, _, _, _ in to_mailbox:
                    done.add(id(group))
                    self._fail(ctx, tally, error, mop.crm_id, mop.mailbox_id, "mailbox")
            else:
                with ctx.state.batch():  # one commit for the batch's merge bases
                    for (group, mop, base_op, _, seen), written, answer in zip(
                        to_mailbox, items, answers, strict=True
                    ):
                        done.add(id(group))
                        if not answer.ok:
                            refused = answer.error or MailboxError("update failed", severity=Severity.ITEM)
                            self._fail(ctx, tally, refused, mop.crm_id, mop.mailbox_id, "mailbox")
                            continue
                        tally.to_mailbox.updated += 1
                        change_key = written_key(written, answer.value) if seen else None
                        if answer.value is not None:
                            read.items[mop.mailbox_id] = cast(MailboxItem, answer.value)
                        ctx.state.update_base(
                            kind, base_op.crm_id, base_op.base, mailbox_change_key=change_key
                        )
        return done

    def _fail(
        self,
        ctx: RunContext,
        tally: Tally,
        error: D365SyncError,
        crm_id: str | None,
        mailbox_id: str | None,
        side: str,
    ) -> None:
        if error.severity >= Severity.ACCOUNT:
            raise error
        if error.severity >= Severity.KIND or isinstance(error, NotSupported):
            raise KindAborted(str(error), user_text=error.user_text) from error
        log.warning("%s: item failed (%s / %s): %s", self.record_kind, crm_id, mailbox_id, error)
        (tally.to_crm if side == "crm" else tally.to_mailbox).errors += 1
        if crm_id:
            tally.failed_crm.add(crm_id)
        if mailbox_id:
            tally.failed_mailbox.add(mailbox_id)
        if ctx.run_id is not None:
            ctx.state.record_error(
                ctx.run_id, self.record_kind, error.severity, error.user_text, crm_id or mailbox_id
            )

    def _create_in_mailbox(
        self, ctx: RunContext, mctx: mapping.MappingContext, ops: list[CreateInMailbox], tally: Tally
    ) -> None:
        state = ctx.state
        with state.transaction():  # one commit for the batch's journal entries, all before the writes
            entries = [
                state.journal_create(self.record_kind, "mailbox", op.crm_id, content_hash(op.fields))
                for op in ops
            ]
        items = [
            mapping.apply_to_mailbox(self.record_kind, {**op.fields, "@crmid": op.crm_id}, None, mctx)
            for op in ops
        ]
        try:
            results = ctx.mailbox.create_many(self.folder, items)
        except MailboxError:
            with state.batch():
                for entry in entries:
                    state.journal_done(entry.id, None)
            raise
        with state.batch():  # one commit for the batch's links and journal entries, not two per item
            for op, entry, written, result in zip(ops, entries, items, results, strict=True):
                if not result.ok or not result.id:
                    state.journal_done(entry.id, None)
                    error = result.error or MailboxError("create failed", severity=Severity.ITEM)
                    self._fail(ctx, tally, error, op.crm_id, None, "mailbox")
                    continue
                change_key = written_key(written, result.value)
                state.link(self.record_kind, op.crm_id, result.id, op.base, mailbox_change_key=change_key)
                state.journal_done(entry.id, result.id)
                tally.to_mailbox.created += 1

    def _run_group(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        group: list[Operation],
        read: KindRead,
        tally: Tally,
    ) -> None:
        change_key: str | None = None
        base = next((op.base for op in group if isinstance(op, UpdateBase)), None)
        for op in group:
            crm_id = getattr(op, "crm_id", None)
            mailbox_id = getattr(op, "mailbox_id", None)
            side = "crm" if isinstance(op, UpdateCrm | DeleteInCrm | CreateInCrm) else "mailbox"
            try:
                change_key = self._apply(ctx, mctx, op, read, tally, base) or change_key
            except D365SyncError as error:
                self._fail(ctx, tally, error, crm_id, mailbox_id, side)
                return  # skip the rest of the group: the next run merges again
            if isinstance(op, UpdateBase):
                ctx.state.update_base(self.record_kind, op.crm_id, op.base, mailbox_change_key=change_key)

    def _apply(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        op: Operation,
        read: KindRead,
        tally: Tally,
        base: Fields | None = None,
    ) -> str | None:
        """Carry out one operation (not UpdateBase); returns a new mailbox change key when there is one.

        ``base`` is the merge base its group's UpdateBase will store (a series' waiting exceptions are taken
        out of it)."""
        kind, state, store, folder = self.record_kind, ctx.state, ctx.mailbox, self.folder
        if isinstance(op, RecordConflict):
            state.record_conflict(kind, op.crm_id, op.mailbox_id, op.conflict, op.policy)
            (tally.to_crm if op.conflict.winner == "mailbox" else tally.to_mailbox).conflicts += 1
        elif isinstance(op, Relink):
            state.link(kind, op.crm_id, op.mailbox_id, None)
            self._stamp(ctx, op.mailbox_id, op.crm_id, LinkState.TRACKED, read)
        elif isinstance(op, UpdateCrm):
            link = state.link_by_crm(kind, op.crm_id)
            shape = read.crm_rows.get(op.crm_id) or (link.base if link else None)
            conversions = _Conversions(state, kind, link.mailbox_id if link else "")
            written = (
                series.update(
                    ctx.crm, mctx, op.crm_id, op.changes, shape, conversions, _read_etag(read, op.crm_id)
                )
                if kind == Kind.APPOINTMENTS
                else None
            )
            if written is not None:  # a series (or an appointment that became one, or the reverse)
                tally.to_crm.updated += 1
                if base is not None and written.waiting is not None:
                    whole = op.crm_id in read.reread
                    series.leave_out(
                        base, series.still_waiting(base, shape, op.changes, written.waiting, whole=whole)
                    )
                return None
            payload = mapping.crm_payload(kind, op.changes, mctx, creating=False)
            if payload:  # If-Match the version read: an edit made since is not overwritten (412, retried)
                ctx.crm.update(
                    mapping.crm_entity_set(kind, shape), op.crm_id, payload, _read_etag(read, op.crm_id)
                )
            tally.to_crm.updated += 1
        elif isinstance(op, UpdateMailbox):
            item = read.items.get(op.mailbox_id)
            # The new change key goes on the link (so the next run skips the item) only when the write was
            # based on a version the plan knew: the item read this run (the update is refused if it changed
            # since), or a fresh read that still has the link's change key. A fresh read with another key
            # may hold a user's edit of another field the plan never saw: the next run must read it.
            seen = item is not None
            if item is None:
                item = self._fetch_unchanged(ctx, mctx, op, read)
                seen = self._still_links_key(ctx, op.crm_id, item)
            changes = self._keep_waiting(mctx, base, op.changes, item)
            updated = mapping.apply_to_mailbox(kind, changes, item, mctx)
            (result,) = store.update_many(folder, [updated])
            if not result.ok:
                raise result.error or MailboxError("update failed", severity=Severity.ITEM)
            tally.to_mailbox.updated += 1
            if result.value is not None:
                read.items[op.mailbox_id] = cast(MailboxItem, result.value)
            return written_key(updated, result.value) if seen else None
        elif isinstance(op, DeleteInMailbox):
            (gone,) = store.delete_many(folder, [op.mailbox_id])
            if not gone.ok and not isinstance(gone.error, ItemNotFound):
                raise gone.error or MailboxError("delete failed", severity=Severity.ITEM)
            state.forget(kind, crm_id=op.crm_id, mailbox_id=op.mailbox_id)
            tally.to_mailbox.deleted += 1
        elif isinstance(op, DeleteInCrm):
            link = state.link_by_crm(kind, op.crm_id)
            with contextlib.suppress(NotFoundError):  # gone already: what we wanted
                ctx.crm.delete(mapping.crm_entity_set(kind, link.base if link else None), op.crm_id)
            state.forget(kind, crm_id=op.crm_id, mailbox_id=op.mailbox_id)
            tally.to_crm.deleted += 1
        elif isinstance(op, Unlink):
            if op.mailbox_id:
                self._stamp(ctx, op.mailbox_id, op.crm_id, LinkState.NOT_TRACKED, read)
            if op.crm_id or op.mailbox_id:
                state.forget(kind, crm_id=op.crm_id, mailbox_id=op.mailbox_id)
            tally.to_mailbox.unlinked += 1
        elif isinstance(op, ForgetLink):
            self._forget_seen(ctx, op, read, tally)
            tally.to_crm.unlinked += 1
        elif isinstance(op, CreateInCrm):
            self._create_in_crm(ctx, mctx, op, read, tally)
        elif isinstance(op, CreateInMailbox):
            self._create_in_mailbox(ctx, mctx, [op], tally)
        return None

    def _keep_waiting(
        self, mctx: mapping.MappingContext, base: Fields | None, changes: Fields, item: MailboxItem
    ) -> Fields:
        """``changes`` going to the mailbox, with the item's own exceptions on a series' waiting dates (noted in
        ``base``, the merge base to be stored) kept: Dynamics 365 has no occurrence there yet, so its
        recurrence says nothing about them. A new pattern drops them in the mailbox: then nothing waits."""
        waiting = series.waiting_dates(base)
        if not waiting or changes.get("recurrence") is None:
            return changes
        current = mailbox_view(self.record_kind, item, mctx).get("recurrence")
        wanted = series.keep_waiting(changes["recurrence"], current, waiting)
        if base is not None and not series.same_pattern(wanted, current):
            base.pop(WAITING, None)
        return {**changes, "recurrence": wanted}

    def _stamp_many(
        self,
        ctx: RunContext,
        pairs: Sequence[tuple[str, str | None]],
        link_state: LinkState,
        read: KindRead,
    ) -> dict[str, str | D365SyncError | None]:
        """:meth:`_stamp` for many ``(mailbox id, crm id)`` in one call: mailbox id -> the new change key
        (None when unknown or gone), or the error of that item."""
        if not pairs or not ctx.mailbox.capabilities.named_properties:
            return {}
        updates: list[tuple[str, NamedProps]] = []
        for mailbox_id, crm_id in pairs:
            item = read.items.get(mailbox_id)
            props = replace(item.props) if item is not None else NamedProps()
            props.crmid = crm_id or props.crmid
            props.crmlinkstate = link_state
            props.crmorgid = ctx.org.id
            updates.append((mailbox_id, props))
        out: dict[str, str | D365SyncError | None] = {}
        for (mailbox_id, _props), result in zip(
            updates, ctx.mailbox.set_named_props(self.folder, updates), strict=True
        ):
            if result.ok or isinstance(result.error, ItemNotFound):
                out[mailbox_id] = result.value if isinstance(result.value, str) else None
            else:
                out[mailbox_id] = result.error or MailboxError("stamping failed", severity=Severity.ITEM)
        return out

    def _fetch_unchanged(
        self, ctx: RunContext, mctx: mapping.MappingContext, op: UpdateMailbox, read: KindRead
    ) -> MailboxItem:
        """The item to update when this run did not read it (the plan took it to be as the base says).

        Fetched now, it carries a fresh ChangeKey, so the server cannot see an edit the user made since this
        run read the folder: writing over it would lose that edit unrecorded. If a field to be written no
        longer has its base value, the pair fails as an item error; the id goes to the retry list and the
        next run merges the edit (conflict log included).
        """
        item = self._fetch_one(ctx, op.mailbox_id)
        moved = self._moved_since_base(ctx, mctx, op, item, read)
        if moved is not None:
            raise moved
        return item

    def _still_links_key(self, ctx: RunContext, crm_id: str, item: MailboxItem) -> bool:
        """Whether a freshly fetched item still has the change key stored on its link (then the key of our
        write may go on the link: it covers no edit the plan did not see)."""
        known = ctx.state.link_by_crm(self.record_kind, crm_id)
        return bool(known and known.mailbox_change_key and known.mailbox_change_key == item.change_key)

    def _moved_since_base(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        op: UpdateMailbox,
        item: MailboxItem,
        read: KindRead,
    ) -> MailboxError | None:
        """The item error for a fetched item whose fields to be written no longer have their base values."""
        link = ctx.state.link_by_crm(self.record_kind, op.crm_id)
        base = link.base if link is not None and link.base is not None else None
        if base is None:
            return None
        waiting = None if op.crm_id in read.reread else series.waiting_dates(base)
        view = planned_view(self.record_kind, item, mctx, waiting)
        moved = sorted(f for f in op.changes if f in base and canonical(view.get(f)) != canonical(base[f]))
        if not moved:
            return None
        return MailboxError(
            f"{self.record_kind}: {op.mailbox_id} changed during the run ({', '.join(moved)})",
            user_text="An item changed in the mailbox while it was being synchronized; "
            "it is merged again on the next run.",
            severity=Severity.ITEM,
        )

    def _fetch_one(self, ctx: RunContext, mailbox_id: str) -> MailboxItem:
        (result,) = ctx.mailbox.get_many(self.folder, [mailbox_id])
        if not result.ok or not isinstance(result.value, ContactItem | AppointmentItem | TaskItem):
            raise result.error or ItemNotFound("item not found", severity=Severity.ITEM)
        return result.value

    def _stamp(
        self, ctx: RunContext, mailbox_id: str, crm_id: str | None, link_state: LinkState, read: KindRead
    ) -> None:
        """Write crmid/crmlinkstate/crmorgid on a mailbox item, keeping its other named properties."""
        if not ctx.mailbox.capabilities.named_properties:
            return
        item = read.items.get(mailbox_id)
        props = replace(item.props) if item is not None else NamedProps()
        props.crmid = crm_id or props.crmid
        props.crmlinkstate = link_state
        props.crmorgid = ctx.org.id
        (result,) = ctx.mailbox.set_named_props(self.folder, [(mailbox_id, props)])
        if not result.ok and not isinstance(result.error, ItemNotFound):
            raise result.error or MailboxError("stamping failed", severity=Severity.ITEM)
        if item is not None and isinstance(result.value, str):
            item.change_key = (
                result.value
            )  # a write after the stamp (a relinked pair's merge) needs the new key

    def _create_in_crm(
        self, ctx: RunContext, mctx: mapping.MappingContext, op: CreateInCrm, read: KindRead, tally: Tally
    ) -> None:
        """One create (in a group with more operations): :meth:`_create_in_crm_many`; its error raises."""
        for _op, error in self._create_in_crm_many(ctx, mctx, [op], read, tally):
            raise error

    def _create_in_crm_many(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        ops: Sequence[CreateInCrm],
        read: KindRead,
        tally: Tally,
    ) -> list[tuple[CreateInCrm, D365SyncError]]:
        """Create CRM rows from mailbox items, CREATE_BATCH a ``$batch`` request; returns what failed.

        Each create is journaled with its client-chosen GUID before its request is sent, so
        ``StateDB.recover_creates`` can look any of them up after a crash. A row the service refuses fails
        that item alone (continue-on-error). When a whole request fails and the error is retriable its
        outcome is unknown: those creates stay pending in the journal and the next run's recovery finds
        out. The created items are then stamped in one ``set_named_props`` call (the store batches it).
        """
        kind, state = self.record_kind, ctx.state
        failed: list[tuple[CreateInCrm, D365SyncError]] = []
        prepared: list[tuple[CreateInCrm, str, str, dict[str, Any]]] = []
        for op in ops:
            try:
                entity_set = mapping.crm_entity_set(kind, op.fields)
                payload = mapping.crm_payload(kind, op.fields, mctx, creating=True)
            except D365SyncError as error:
                failed.append((op, error))
                continue
            new = new_id()
            payload["activityid" if entity_set != "contacts" else "contactid"] = new
            prepared.append((op, new, entity_set, payload))
        created: list[tuple[CreateInCrm, str]] = []
        # Parts go up to the service's limit at once (wizard.odata.overlap): each is journaled and the claim
        # checked before it is sent; the answers are recorded here, in order. A lost claim or an error of the
        # kind or the account stops sending; the parts on the wire finish and their answers are recorded.
        halt = False  # nothing more is sent
        stop: BaseException | None = None  # raised once the parts on the wire are recorded
        Part = list[tuple[CreateInCrm, str, str, dict[str, Any]]]

        def send(part: Part) -> list[D365SyncError | None]:
            if len(part) == 1:  # one row: a plain POST
                ctx.crm.create(part[0][2], part[0][3])
                return [None]
            results = ctx.crm.create_many(
                [(entity_set, payload) for _op, _new, entity_set, payload in part], max_requests=CREATE_BATCH
            )
            return [None if r.ok else (r.error or _batch_error(r.status)) for r in results]

        def record(part: Part, entries: list[Any], answer: Answer[list[D365SyncError | None]]) -> None:
            nonlocal stop, halt
            error = answer.error
            if error is not None and not isinstance(error, D365SyncError):
                halt, stop = True, stop or error  # not the service's answer (a bug): raised below
                return
            if error is not None:
                with state.batch():
                    for entry in entries:
                        if len(part) == 1 or not error.retriable:
                            state.journal_done(entry.id, None)
                failed.extend((op, error) for op, *_rest in part)
                if error.severity >= Severity.KIND:
                    halt = True  # the caller stops the kind (or the run) with this error
                return
            outcomes = answer.value or []
            linked: list[tuple[CreateInCrm, str]] = []
            with state.batch():  # one commit for the part's links and journal entries, not two per item
                for (op, new, _set, _payload), entry, outcome in zip(part, entries, outcomes, strict=True):
                    if outcome is not None:
                        state.journal_done(entry.id, None)
                        failed.append((op, outcome))
                        continue
                    try:
                        state.link(kind, new, op.mailbox_id, op.base)
                    except D365SyncError as link_error:  # left pending: the next run's recovery resolves it
                        failed.append((op, link_error))
                        continue
                    state.journal_done(entry.id, new)
                    tally.to_crm.created += 1
                    linked.append((op, new))
            created.extend(linked)
            for op, new in linked:  # not in the batch: these talk to Dynamics 365
                # a series' deleted / modified occurrences; what waits leaves the stored base (dates noted)
                if kind == Kind.APPOINTMENTS and series.after_create(ctx.crm, mctx, new, op.fields, op.base):
                    state.update_base(kind, new, op.base)

        with InOrder[tuple[Part, list[Any]], list[D365SyncError | None]](
            gate_of(getattr(ctx.crm, "session", None)), "dataverse"
        ) as pipe:
            for start in range(0, len(prepared), CREATE_BATCH):
                for (done_part, done_entries), answer in pipe.room():
                    record(done_part, done_entries, answer)
                if halt:
                    break  # nothing more is sent; the rest is planned again next run
                if start:  # the caller checked the claim before the first part
                    try:
                        ctx.before_writes()
                    except BaseException as lost:  # the claim is lost: record what is on the wire, then stop
                        halt, stop = True, lost
                        break
                part = prepared[start : start + CREATE_BATCH]
                with state.transaction():  # journal before write: committed before the part is sent
                    entries = [
                        state.journal_create(
                            kind, "crm", op.mailbox_id, content_hash(op.fields), target_id=new
                        )
                        for op, new, _set, _payload in part
                    ]
                pipe.submit((part, entries), functools.partial(send, part))
            for (done_part, done_entries), answer in pipe.drain():
                record(done_part, done_entries, answer)
        if stop is not None:
            raise stop
        stamped = self._stamp_many(
            ctx, [(op.mailbox_id, new) for op, new in created], LinkState.TRACKED, read
        )
        for op, _new in created:
            stamp = stamped.get(op.mailbox_id)
            if isinstance(stamp, D365SyncError):
                failed.append((op, stamp))
            # The stamp's change key is not stored: stamping overwrites whatever the item is now, so that
            # key may cover a user's edit made meanwhile, which the next run must still read.
        return failed

    def _forget_seen(self, ctx: RunContext, op: ForgetLink, read: KindRead, tally: Tally) -> None:
        """Forget a link whose CRM row lives on, and note that row's version as seen, in ONE transaction.

        The row stays in Dynamics 365, unlinked, on purpose (a contact deleted in the mailbox, a declined
        delete). Until this run's cursor is saved, the stored snapshot still lists the row as changed (our
        own create or update of it last run, or the edit that came with this run's delta), and an unlinked
        changed row is created in the mailbox: a crash, or a kind aborted after the forget, would undo the
        user's delete. So the stored snapshot learns the row's current version together with the forget.
        Not when this plan creates the row in the mailbox again (edited in CRM): then it must stay changed
        until that create is done.
        """
        kind, state = self.record_kind, ctx.state
        version = (read.cursor.versions or {}).get(op.crm_id)
        with state.transaction():
            state.forget(kind, crm_id=op.crm_id, mailbox_id=op.mailbox_id)
            if version is None or op.crm_id in tally.recreated:
                return
            stored = CrmCursor.load(state.cursor(kind, "crm"))
            if stored.versions is None:  # no snapshot yet: the next run reads in full and compares nothing
                return
            stored.versions[op.crm_id] = version
            state.set_cursor(kind, "crm", stored.dump())


def _batch_error(status: int) -> D365SyncError:
    """The error of a ``$batch`` part that failed without one (should not happen; item-level)."""
    return D365SyncError(f"a $batch part answered {status}", severity=Severity.ITEM, retriable=True)


def _read_etag(read: KindRead, crm_id: str) -> str | None:
    """The ETag of the row as this run knows it (read now, or unchanged since the last run), if it is one."""
    return series.row_etag((read.cursor.versions or {}).get(crm_id))


def _key(op: Operation) -> tuple[str | None, str | None]:
    return getattr(op, "crm_id", None), getattr(op, "mailbox_id", None)


def _groups(operations: Sequence[Operation]) -> list[list[Operation]]:
    """Consecutive operations of one pair form a group (the planner emits them together)."""
    groups: list[list[Operation]] = []
    for op in operations:
        if groups and not isinstance(op, CreateInMailbox | CreateInCrm) and _key(groups[-1][-1]) == _key(op):
            groups[-1].append(op)
        else:
            groups.append([op])
    return groups
