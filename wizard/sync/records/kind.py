"""One record kind's run (contacts, appointments or tasks): read both sides, plan, apply, keep the cursors.

One :class:`RecordSync` per kind implements :class:`wizard.sync.run.KindSync`. The pure planner decides;
:mod:`.read` reads what it merges and :mod:`.apply` carries out its operations.

- After writing to the mailbox the folder is listed once more (the catch-up); an item listed with the change
  key its link stored after our own write is skipped, so the next run reads nothing back.
- A plan that needs confirmation (mass delete) writes nothing and keeps both cursors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

from wizard.errors import D365SyncError, Severity
from wizard.mailbox.base import LISTING_PAGE, ChangeBatch
from wizard.settings.enums import Kind
from wizard.sync import mapping
from wizard.sync.cursors import MailboxCursor
from wizard.sync.model import Fields
from wizard.sync.planner import (
    CreateInCrm,
    CreateInMailbox,
    DeleteInCrm,
    DeleteInMailbox,
    ForgetLink,
    Plan,
    RecordConflict,
    Relink,
    Rules,
    Unlink,
    UpdateCrm,
    UpdateMailbox,
    mailbox_creates,
    only_created,
    plan,
)
from wizard.sync.records.apply import MAILBOX_CREATES_PER_CHECK, PlanExecutor, Tally
from wizard.sync.records.common import FOLDERS, MailboxItem, mapping_context
from wizard.sync.records.read import KindRead, KindReader
from wizard.sync.run import KindCounts, KindResult, KindRunStatus, Reporter, RunContext
from wizard.sync.state import RunCounts

log = logging.getLogger(__name__)

_MAILBOX_WRITES = (
    CreateInMailbox,
    UpdateMailbox,
    DeleteInMailbox,
    Unlink,
    Relink,
    CreateInCrm,
)  # operations that write to the mailbox folder: the catch-up listing follows them


class RecordSync:
    """Two-way sync of one kind (contacts, appointments or tasks) between Dynamics 365 and the mailbox."""

    def __init__(self, kind: Kind) -> None:
        self.kind: str = kind  # the KindSync protocol's name
        self.record_kind: Kind = kind
        self.folder = FOLDERS[kind]
        self.reader = KindReader(kind)
        self.executor = PlanExecutor(kind, self.reader)

    # -- the run -----------------------------------------------------------------------------------
    def run(self, ctx: RunContext, *, dry_run: bool, force: bool) -> KindResult:
        kind = self.record_kind
        caps = ctx.mailbox.capabilities
        if not caps.can_read(self.folder):
            return KindResult(
                kind, KindCounts(), KindCounts(), KindRunStatus.SKIPPED, f"This mailbox has no {kind}."
            )
        if any(entry.is_conversion for entry in ctx.state.pending_creates(kind)):
            # a row between two tables would read as deleted in Dynamics 365 (and be deleted in the mailbox)
            raise D365SyncError(
                f"{kind}: an interrupted conversion is still pending",
                user_text="A recurring appointment that was being changed when synchronization stopped could not "
                "be finished in Dynamics 365 yet, so appointments were not synchronized. It is tried again on "
                "the next run.",
                severity=Severity.KIND,
            )
        options = ctx.options
        directions = mapping.directions(
            kind, options.directions(kind), all_addresses=options.sync_all_addresses
        )
        mctx = mapping_context(ctx)
        ctx.reporter.progress(kind, 0, None, "reading Dynamics 365 and the mailbox")
        read = self.reader.read(ctx, mctx, create_defaults=not dry_run)
        links = ctx.state.link_table(kind)  # the planner reads the merge bases it needs, no others
        rules = Rules(directions, ctx.now, options.policy(kind), ctx.user_id, force=force)
        # Rows that are only created in the mailbox (most of an initial sync) are planned and created a page
        # at a time (_create_fresh), their views let go as they go: no plan holds all of them at once.
        fresh = [] if dry_run else only_created(links, read.crm, read.mailbox)
        if fresh:
            skip = set(fresh)
            rest = {cid: view for cid, view in read.crm.changed.items() if cid not in skip}
            read = replace(read, crm=replace(read.crm, changed=rest))
        the_plan = plan(kind, links, read.crm, read.mailbox, rules)
        if the_plan.needs_confirmation is not None:
            md = the_plan.needs_confirmation
            message = (
                f"{kind}: this run would delete {md.mailbox_deletes} of {md.mailbox_total} items in the mailbox "
                f"and {md.crm_deletes} of {md.crm_total} records in Dynamics 365. Nothing was changed. "
                "Run again with --yes to delete them."
            )
            ctx.planned.append(message)
            return KindResult(kind, KindCounts(), KindCounts(), KindRunStatus.NEEDS_CONFIRMATION, message)
        if dry_run:
            ctx.planned.extend(describe(the_plan))
            return KindResult(kind, *self._preview_counts(the_plan), status=KindRunStatus.OK)
        tally = Tally(
            mailbox_writes=bool(fresh) or any(isinstance(op, _MAILBOX_WRITES) for op in the_plan.operations),
            recreated={op.crm_id for op in the_plan.operations if isinstance(op, CreateInMailbox)},
        )
        if fresh:
            self._create_fresh(ctx, mctx, fresh, read, rules, tally, len(the_plan.operations))
            with _progress_after(ctx, len(fresh)):
                self.executor.execute(ctx, mctx, the_plan, read, tally)
        else:
            self.executor.execute(ctx, mctx, the_plan, read, tally)
        self._save_cursors(ctx, read, tally)
        return KindResult(kind, _counts(tally.to_crm), _counts(tally.to_mailbox), KindRunStatus.OK)

    def _create_fresh(
        self,
        ctx: RunContext,
        mctx: mapping.MappingContext,
        fresh: Sequence[str],
        read: KindRead,
        rules: Rules,
        tally: Tally,
        more: int,
    ) -> None:
        """Plan (:func:`~wizard.sync.planner.mailbox_creates`) and carry out the creates of the rows only
        created in the mailbox, MAILBOX_CREATES_PER_CHECK at a time (one claim check each, as in one plan),
        dropping each page's views once planned. ``more``: the operations of the plan that follows."""
        total = len(fresh) + more
        for start in range(0, len(fresh), MAILBOX_CREATES_PER_CHECK):
            page = fresh[start : start + MAILBOX_CREATES_PER_CHECK]
            ops = mailbox_creates({cid: read.crm_rows.pop(cid) for cid in page}, rules)
            with _progress_after(ctx, start, total):
                self.executor.execute(ctx, mctx, Plan(self.record_kind, tuple(ops)), read, tally)

    def find_by_crmids(self, ctx: RunContext, crm_ids: Sequence[str]) -> dict[str, list[MailboxItem]]:
        """Mailbox items that carry each of ``crm_ids`` in their crmid named property (see :mod:`.read`)."""
        return self.reader.find_by_crmids(ctx, crm_ids)

    def _save_cursors(self, ctx: RunContext, read: KindRead, tally: Tally) -> None:
        versions = {cid: v for cid, v in (read.cursor.versions or {}).items() if cid not in tally.failed_crm}
        # A failed row must come back although the delta will not list it again: the retry list.
        next_cursor = replace(read.cursor, versions=versions, retry=sorted(tally.failed_crm))
        ctx.state.set_cursor(self.record_kind, "crm", next_cursor.dump())
        cursor = MailboxCursor(read.mailbox_state, sorted(tally.failed_mailbox))
        if tally.mailbox_writes and cursor.state is not None:
            # Catch up past our own writes: a sync state from before them would later report an item we
            # created and the user then deleted as nothing at all (created + deleted), and the delete
            # would be lost. Whatever changed meanwhile is kept to be looked at next run.
            for batch in ctx.mailbox.changes(self.folder, cursor.state, LISTING_PAGE):
                if batch.full_resync:
                    cursor = MailboxCursor(None)  # next run lists the folder; a full listing deletes nothing
                    break
                cursor.retry.extend(_changed_since_written(ctx, self.record_kind, batch))
                cursor.deleted.extend(batch.deleted)
                cursor.state = batch.cursor or cursor.state
        ctx.state.set_cursor(self.record_kind, "mailbox", cursor.dump())

    def _preview_counts(self, the_plan: Plan) -> tuple[KindCounts, KindCounts]:
        to_crm, to_mailbox = KindCounts(), KindCounts()
        for op in the_plan.operations:
            if isinstance(op, CreateInCrm):
                to_crm.created += 1
            elif isinstance(op, UpdateCrm):
                to_crm.updated += 1
            elif isinstance(op, DeleteInCrm):
                to_crm.deleted += 1
            elif isinstance(op, CreateInMailbox):
                to_mailbox.created += 1
            elif isinstance(op, UpdateMailbox):
                to_mailbox.updated += 1
            elif isinstance(op, DeleteInMailbox):
                to_mailbox.deleted += 1
            elif isinstance(op, Unlink):
                to_mailbox.unlinked += 1
            elif isinstance(op, RecordConflict):
                (to_crm if op.conflict.winner == "mailbox" else to_mailbox).conflicts += 1
        return to_crm, to_mailbox


class _Offset:
    """A reporter whose progress counts start at ``done`` (an executor's part of a kind's larger run)."""

    def __init__(self, reporter: Reporter, done: int, total: int | None) -> None:
        self.reporter, self.done, self.total = reporter, done, total

    def progress(self, kind: str, done: int, total: int | None, message: str = "") -> None:
        whole = self.total if self.total is not None else (None if total is None else self.done + total)
        self.reporter.progress(kind, self.done + done, whole, message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reporter, name)


@contextmanager
def _progress_after(ctx: RunContext, done: int, total: int | None = None) -> Iterator[None]:
    """Progress reported inside the block counts on from ``done`` (of ``total``, else of what follows)."""
    reporter = ctx.reporter
    ctx.reporter = cast(Reporter, _Offset(reporter, done, total))
    try:
        yield
    finally:
        ctx.reporter = reporter


def _changed_since_written(ctx: RunContext, kind: Kind, batch: ChangeBatch) -> list[str]:
    """The created/updated ids of ``batch`` minus the items still exactly as this engine wrote them.

    An item whose listed change key equals the one stored on its link after our own write has not been
    touched since: reading it again next run would only find what we wrote. Without a change key (a
    backend that lists none, a link without one) the item counts as changed.
    """
    ids = [*batch.created, *batch.updated]
    if not batch.change_keys:
        return ids

    def unchanged(item_id: str) -> bool:
        key = batch.change_keys.get(item_id)
        if not key:
            return False
        return ctx.state.mailbox_change_key(kind, item_id) == key  # one indexed look-up per listed item

    return [i for i in ids if not unchanged(i)]


def _counts(counts: RunCounts) -> KindCounts:
    return KindCounts(
        counts.created, counts.updated, counts.deleted, counts.unlinked, counts.conflicts, counts.errors
    )


def describe(the_plan: Plan) -> list[str]:
    """Human lines for a dry run, one per operation that would change something."""
    kind = the_plan.kind
    lines: list[str] = []
    for op in the_plan.operations:
        if isinstance(op, CreateInMailbox):
            lines.append(
                f"{kind}: create in the mailbox from Dynamics 365 record {op.crm_id} ({_label(op.fields)})"
            )
        elif isinstance(op, CreateInCrm):
            lines.append(f"{kind}: create in Dynamics 365 from mailbox item ({_label(op.fields)})")
        elif isinstance(op, UpdateCrm):
            lines.append(f"{kind}: update Dynamics 365 record {op.crm_id}: {', '.join(sorted(op.changes))}")
        elif isinstance(op, UpdateMailbox):
            lines.append(f"{kind}: update the mailbox copy of {op.crm_id}: {', '.join(sorted(op.changes))}")
        elif isinstance(op, DeleteInMailbox):
            lines.append(f"{kind}: delete the mailbox copy of {op.crm_id} ({op.reason})")
        elif isinstance(op, DeleteInCrm):
            lines.append(f"{kind}: delete Dynamics 365 record {op.crm_id} ({op.reason})")
        elif isinstance(op, Unlink):
            lines.append(f"{kind}: unlink {op.crm_id or op.mailbox_id} ({op.reason})")
        elif isinstance(op, ForgetLink):
            lines.append(f"{kind}: forget the link of {op.crm_id} ({op.reason})")
        elif isinstance(op, Relink):
            lines.append(f"{kind}: link the mailbox item that names {op.crm_id} again")
        elif isinstance(op, RecordConflict):
            c = op.conflict
            lines.append(
                f"{kind}: conflict on {c.field} of {op.crm_id}: "
                f"{'unresolved' if c.winner is None else c.winner + ' wins'} ({c.reason})"
            )
    return lines


def _label(fields: Fields) -> str:
    for name in ("subject", "lastname", "firstname", "emailaddress1"):
        if fields.get(name):
            text = (
                " ".join(str(fields[n]) for n in ("firstname", "lastname") if fields.get(n))
                if name in ("lastname", "firstname")
                else str(fields[name])
            )
            return text
    return "untitled"
