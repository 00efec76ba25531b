"""Finishing what a crash left of email sync, before anything new is sent or created.

- a tracked email journaled but not recorded: looked up by its client-chosen ``activityid``, linked if it
  exists;
- a send in the outbox (``wizard.sync.cursors``): resolved by the row's status, then by looking for the
  Message-ID in Sent Items; where the backend keeps no copy, the row is set to Failed rather than risk a
  second send.
"""

from __future__ import annotations

import logging

from wizard.crm import emails as crm_emails
from wizard.errors import Severity
from wizard.mailbox.base import FolderKind, MailItem
from wizard.settings.enums import Kind
from wizard.sync import cursors
from wizard.sync.correlation import EmailRef, normalize_message_id
from wizard.sync.email.common import EmailSettings, link, record_error, stamp
from wizard.sync.run import KindResult, RunContext
from wizard.sync.state import JournalEntry

log = logging.getLogger(__name__)


def recover(ctx: RunContext, st: EmailSettings, result: KindResult, *, page_size: int) -> None:
    """Resolve what a crash left unfinished; ``page_size``: messages a request when Sent Items is read."""
    for entry in ctx.state.pending_creates(Kind.EMAIL):
        if entry.side == "crm":
            _recover_track(ctx, st, entry)
    sent_ids: set[str] | None = None
    for activity_id, message_id in cursors.in_flight(ctx.state).items():
        row = crm_emails.get(ctx.crm, activity_id, ["statuscode", "messageid", "subject"])
        if row is None or row.get("statuscode") not in (
            crm_emails.STATUS_PENDING_SEND,
            crm_emails.STATUS_SENT,
        ):
            cursors.outbox_drop(ctx.state, activity_id)  # gone or changed by the user: nothing to finish
            continue
        if row.get("statuscode") == crm_emails.STATUS_SENT:
            cursors.outbox_drop(ctx.state, activity_id)
            continue
        caps = ctx.mailbox.capabilities
        if caps.sent_items_copy and caps.can_read(FolderKind.SENT_ITEMS):
            if sent_ids is None:
                sent_ids = _sent_message_ids(ctx, page_size)
            if normalize_message_id(message_id) in sent_ids:
                log.info("email %s was sent before a crash; marking it Sent", activity_id)
                crm_emails.mark_sent(ctx.crm, activity_id, message_id, ctx.now)
                result.to_mailbox.created += 1
            # else it never left: the send pass sends it
            cursors.outbox_drop(ctx.state, activity_id)
            continue
        # No copy to look for (POP3/SMTP): a second send could duplicate, so the user decides.
        reason = "The email may or may not have been sent before d365sync stopped; check and resend."
        crm_emails.mark_failed(ctx.crm, activity_id)
        cursors.outbox_drop(ctx.state, activity_id)
        result.to_mailbox.errors += 1
        record_error(ctx, Severity.ITEM, f"{row.get('subject') or ''}: {reason}", activity_id)


def _recover_track(ctx: RunContext, st: EmailSettings, entry: JournalEntry) -> None:
    folder_name, _, item_id = entry.source_id.partition(" ")
    target = entry.target_id
    row = crm_emails.get(ctx.crm, target, ["activityid", "_regardingobjectid_value"]) if target else None
    if row is None:
        ctx.state.journal_done(entry.id, None)
        return
    assert target is not None
    ctx.state.journal_done(entry.id, target)
    link(ctx, target, item_id, None)
    try:
        folder = FolderKind(folder_name)
    except ValueError:
        return
    ref = EmailRef(activityid=target.lower(), regarding_id=row.get("_regardingobjectid_value"))
    stamp(ctx, st, folder, item_id, ref)


def _sent_message_ids(ctx: RunContext, page_size: int) -> set[str]:
    """Every Message-ID in Sent Items (a full read; only done to resolve a crashed send)."""
    out: set[str] = set()
    for batch in ctx.mailbox.changes(FolderKind.SENT_ITEMS, None, page_size):
        ids = list(dict.fromkeys(batch.created + batch.updated))
        for res in ctx.mailbox.get_many(FolderKind.SENT_ITEMS, ids) if ids else []:
            if res.ok and isinstance(res.value, MailItem):
                key = normalize_message_id(res.value.message_id)
                if key:
                    out.add(key)
    return out
