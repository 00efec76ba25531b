"""Applying the side the user chose for a logged conflict (the status window's and the CLI's "use this")."""

from __future__ import annotations

from wizard.errors import Severity
from wizard.mailbox.base import (
    TRACKED_CATEGORY,
    AppointmentItem,
    ContactItem,
    ItemNotFound,
    LinkState,
    MailboxError,
    NamedProps,
    TaskItem,
)
from wizard.sync import mapping
from wizard.sync.model import Fields
from wizard.sync.planner import UNRESOLVED
from wizard.sync.records.common import FOLDERS, mapping_context
from wizard.sync.run import RunContext
from wizard.sync.state import ConflictRecord


def resolve_conflict(ctx: RunContext, record: ConflictRecord, use: str) -> str:
    """Apply the chosen side's value of a logged conflict to the other side; returns what was done.

    A field conflict writes that one field to both sides (the policy may have put the other value on
    either) and stores it in the link's base, so the next run sees both sides agree. A whole-record
    conflict ("*": deleted on one side while edited on the other) restores the chosen version where it is
    missing now: a new CRM row (the next run brings it to the mailbox when it is in the sync filters), or a
    new mailbox item marked for tracking (the next run creates it in Dynamics 365 and links the two), so
    both sides end up with the same record; choosing the side that deleted it leaves it deleted on both.
    """
    kind = record.kind
    folder = FOLDERS[kind]
    mctx = mapping_context(ctx)
    value = record.crm_value if use == "crm" else record.mailbox_value
    if record.field == "*":
        if not isinstance(value, dict):
            return "nothing to restore: that side had deleted the record"
        if use == "crm":
            entity_set = mapping.crm_entity_set(kind, value)
            payload = mapping.crm_payload(kind, value, mctx, creating=True)
            new = ctx.crm.create(entity_set, payload)
            return f"restored the Dynamics 365 record as {new}"
        item = mapping.apply_to_mailbox(kind, value, None, mctx)
        item.props = NamedProps(crmlinkstate=LinkState.PENDING, crmorgid=ctx.org.id)
        if ctx.mailbox.capabilities.categories and TRACKED_CATEGORY not in item.categories:
            item.categories = [*item.categories, TRACKED_CATEGORY]
        (result,) = ctx.mailbox.create_many(folder, [item])
        if not result.ok:
            raise result.error or MailboxError("create failed", severity=Severity.ITEM)
        return "restored the mailbox item; the next synchronization brings it to Dynamics 365 again"
    link = ctx.state.link_by_crm(kind, record.crm_id)
    changes: Fields = {record.field: value}
    # The chosen value goes to both sides: the policy may have written the other value to either of them.
    (got,) = ctx.mailbox.get_many(folder, [record.mailbox_id])
    if not got.ok or not isinstance(got.value, ContactItem | AppointmentItem | TaskItem):
        raise got.error or ItemNotFound("the mailbox item is gone", severity=Severity.ITEM)
    updated = mapping.apply_to_mailbox(kind, changes, got.value, mctx)
    (result,) = ctx.mailbox.update_many(folder, [updated])
    if not result.ok:
        raise result.error or MailboxError("update failed", severity=Severity.ITEM)
    payload = mapping.crm_payload(kind, changes, mctx, creating=False)
    if payload:
        ctx.crm.update(mapping.crm_entity_set(kind, link.base if link else None), record.crm_id, payload)
    side = "Dynamics 365" if use == "crm" else "mailbox"
    done = f"Dynamics 365 and the mailbox now both have the {side} value"
    if link is not None and link.mailbox_id == record.mailbox_id:
        base: Fields = dict(link.base or {})
        base[record.field] = value
        unresolved = dict(base.get(UNRESOLVED) or {})
        unresolved.pop(record.field, None)
        if unresolved:
            base[UNRESOLVED] = unresolved
        else:
            base.pop(UNRESOLVED, None)
        ctx.state.update_base(kind, record.crm_id, base)
    return done
