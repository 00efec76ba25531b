"""What tracking, sending and crash recovery share: the settings read once per run, the run's error log, and
the link of a tracked email (the state DB row and the stamp on the mailbox item)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wizard.crm import emails as crm_emails
from wizard.crm.client import guid
from wizard.errors import Severity
from wizard.mailbox.base import FolderKind, LinkState, NamedProps
from wizard.settings.enums import Kind
from wizard.sync.correlation import DEFAULT_TRACKING_PREFIX, EmailRef
from wizard.sync.run import RunContext
from wizard.sync.state import StateDBError

log = logging.getLogger(__name__)

KIND = Kind.EMAIL


@dataclass(frozen=True)
class EmailSettings:
    """What one run needs from Dynamics 365 and the run's options, read once per run."""

    filtering_method: int
    tracking_prefix: str
    max_upload: int
    me: str
    me_address: str
    me_name: str
    org_id: str


SERVER_KEYS = ("method", "prefix", "max_upload", "address", "name")


def _read_server(ctx: RunContext, me: str) -> dict[str, Any]:
    """The user's incoming-email filtering, the organization's tracking prefix and attachment limit, the
    user's address and name: three requests, so kept between runs (``RunContext.email_server``)."""
    crm = ctx.crm
    method = crm.user_settings(me).incomingemailfilteringmethod
    prefix, max_upload = crm_emails.organization_settings(crm)
    user = crm.user(me)
    return {
        "method": method,
        "prefix": prefix,
        "max_upload": max_upload,
        "address": user.internalemailaddress,
        "name": user.fullname,
    }


def read_settings(ctx: RunContext) -> EmailSettings:
    me = guid(ctx.user_id)
    server = ctx.email_server
    if not isinstance(server, dict) or set(server) != set(SERVER_KEYS):
        server = ctx.email_server = _read_server(ctx, me)
    method, max_upload = server["method"], server["max_upload"]
    return EmailSettings(
        filtering_method=method if method in range(5) else crm_emails.FILTER_CUSTOMERS,
        tracking_prefix=str(server["prefix"] or "") or DEFAULT_TRACKING_PREFIX,
        max_upload=max_upload
        if isinstance(max_upload, int) and max_upload > 0
        else crm_emails.DEFAULT_MAX_UPLOAD,
        me=me,
        me_address=ctx.options.mailbox_address or str(server["address"] or ""),
        me_name=str(server["name"] or ""),
        org_id=ctx.org.id,
    )


def record_error(ctx: RunContext, severity: Severity, message: str, item: str | None = None) -> None:
    """An item's failure in the run's error log (not on a dry run)."""
    if ctx.run_id is not None:
        ctx.state.record_error(ctx.run_id, Kind.EMAIL, severity, message, item)


def link(ctx: RunContext, activity_id: str, item_id: str, message_id: str | None) -> None:
    if ctx.state.link_by_crm(Kind.EMAIL, activity_id) or ctx.state.link_by_mailbox(Kind.EMAIL, item_id):
        return
    try:
        ctx.state.link(Kind.EMAIL, activity_id, item_id, {"messageid": message_id})
    except StateDBError as exc:  # a race with ourselves cannot happen; a duplicate link is harmless
        log.debug("email link not stored: %s", exc)


def stamp(ctx: RunContext, st: EmailSettings, folder: FolderKind, item_id: str, ref: EmailRef) -> None:
    """crmid / crmlinkstate 2 / crmorgid on the item, like the original (POP3: state DB only)."""
    stamp_many(ctx, st, folder, [(item_id, ref)])


def stamp_many(
    ctx: RunContext, st: EmailSettings, folder: FolderKind, stamps: Sequence[tuple[str, EmailRef]]
) -> None:
    """:func:`stamp` for many items in one call (the store sends them in batches)."""
    if not stamps or not ctx.mailbox.capabilities.named_properties:
        return
    updates = [
        (
            item_id,
            NamedProps(
                crmid=ref.activityid,
                crmlinkstate=LinkState.TRACKED,
                crmorgid=st.org_id or None,
                crmregardingobjectid=ref.regarding_id,
                crmregardingobjecttypecode=crm_emails.REGARDING_TYPE_CODES.get(ref.regarding_type or ""),
                crmownersystemuserid=st.me,
            ),
        )
        for item_id, ref in stamps
    ]
    for (item_id, _props), answer in zip(updates, ctx.mailbox.set_named_props(folder, updates), strict=True):
        if answer.error is not None:
            if answer.error.severity > Severity.ITEM:
                raise answer.error
            log.info("could not stamp %s: %s", item_id, answer.error)


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
