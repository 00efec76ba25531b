"""Tracking mailbox messages in Dynamics 365 (mailbox -> Dynamics 365; DESIGN section 4, reference B.4/B.10/B.13).

- scope: messages the user tracked by hand (category "Tracked to Dynamics 365", or ``crmlinkstate`` 1 =
  tracking pending) in the Inbox and Sent Items; for mail in the Inbox root also the user's
  ``incomingemailfilteringmethod`` (0 all, 1 replies to Dynamics 365 email, 2 from leads/contacts/accounts,
  3 from email-enabled records, 4 none); Sent Items mail when it answers a tracked email;
- correlation in the documented order (``wizard.sync.correlation``); Regarding is copied from the
  correlated email, ``correlationmethod`` and (for In-Reply-To/ConversationIndex) ``parentactivityid`` set;
- parties resolved in the documented order (``wizard.sync.parties``); unresolved addresses kept as
  ``addressused``;
- never twice: a message whose ``messageid`` (same direction) is already in Dynamics 365 is linked, not
  created; every create is journaled in the state DB with a client-chosen ``activityid`` first, so a crash
  between "created" and "recorded" is resolved by looking the row up;
- attachments as ``activitymimeattachments`` within ``maxuploadfilesize``; what does not fit is skipped and
  the email gets ``notifications`` = 1 (attachments not all saved), the email itself never fails for it;
- the mailbox item is stamped with ``crmid``/``crmlinkstate`` 2/``crmorgid`` where the backend has named
  properties (POP3 has not: the link lives in the state DB and the ``messageid`` check).

Email deletes never propagate (B.9): nothing here deletes anything on either side.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wizard.crm import emails as crm_emails
from wizard.crm.emails import (
    FILTER_ALL,
    FILTER_CUSTOMERS,
    FILTER_EMAIL_ENABLED,
    FILTER_NONE,
    FILTER_REPLIES,
    MASK_BCC,
    MASK_CC,
    MASK_SENDER,
    MASK_TO,
    NOTIFY_ATTACHMENTS_NOT_SAVED,
    NOTIFY_TRUNCATED_BODY,
    STATE_COMPLETED,
    STATUS_RECEIVED,
    STATUS_SENT,
)
from wizard.errors import D365SyncError, Severity
from wizard.isotime import iso_z
from wizard.mailbox.base import (
    LISTING_PAGE,
    TRACKED_CATEGORY,
    Attachment,
    FolderKind,
    LinkState,
    MailboxError,
    MailItem,
)
from wizard.odata.errors import ODataError
from wizard.settings.enums import Kind
from wizard.sync.correlation import Correlation, EmailRef, correlate, normalize_message_id
from wizard.sync.cursors import EmailCursors
from wizard.sync.email.common import KIND, EmailSettings, aware, link, record_error, stamp, stamp_many
from wizard.sync.email.lookup import CrmEmails, PageLookup
from wizard.sync.parties import CUSTOMER_TABLES, PartyResolver, ResolvedParty
from wizard.sync.run import KindResult, RunContext

log = logging.getLogger(__name__)

#: tracked emails per ``$batch`` (each with its attachments), and the most bytes of payload one may carry
_BATCH_EMAILS = 100
_BATCH_BYTES = 16 * 1024 * 1024
_TRACK_FOLDERS = (FolderKind.INBOX, FolderKind.SENT_ITEMS)


def html_description(item: MailItem) -> str:
    """``description`` is HTML (Format Email): the HTML body, else the text body escaped."""
    if item.body_html:
        return item.body_html
    text = item.body_text or ""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\n")


@dataclass
class Pending:
    """A tracked email decided on, waiting for its page's ``$batch``."""

    folder: FolderKind
    item: MailItem
    activity_id: str
    body: dict[str, Any]
    attachments: list[dict[str, Any]]
    all_saved: bool  # False when an attachment was left out before sending (too large, unreadable)
    ref: EmailRef
    size: int


class Tracker:
    """Tracks the messages in scope, ``page_size`` at a time (read, checked, created and stamped together)."""

    def __init__(self, *, page_size: int = 100, listing_size: int = LISTING_PAGE) -> None:
        self.page_size = page_size
        # changes per listing request: whole pages of work (512 would leave a page of 12 every 5 pages)
        self.listing_size = max(page_size, listing_size - listing_size % page_size)

    def track(self, ctx: RunContext, st: EmailSettings, result: KindResult, *, dry_run: bool) -> None:
        caps = ctx.mailbox.capabilities
        cursors = EmailCursors.load(ctx.state.cursor(Kind.EMAIL, "mailbox"))
        resolver = PartyResolver(ctx.crm, st.me)
        lookup = CrmEmails(ctx.crm)
        done = 0
        for folder in _TRACK_FOLDERS:
            if not caps.can_read(folder):
                continue
            retry = list(cursors.retry.get(folder.value, []))
            failed: list[str] = []
            if retry:
                failed += self._track_page(ctx, st, folder, retry, resolver, lookup, result, dry_run=dry_run)
            for batch in ctx.mailbox.changes(folder, cursors.folders.get(folder.value), self.listing_size):
                if batch.notice:  # e.g. a stored cursor refused: the full re-read is said, not done silently
                    log.warning("email: %s", batch.notice)
                    result.message = result.message or batch.notice
                    if ctx.run_id is not None and not dry_run:
                        ctx.state.record_error(ctx.run_id, Kind.EMAIL, Severity.ITEM, batch.notice)
                # A message linked already is left alone (_track_item): not even read. The run after a run
                # that tracked (and stamped) thousands of messages then lists them, and reads none.
                ids = [
                    i
                    for i in dict.fromkeys(batch.created + batch.updated)
                    if i not in retry and ctx.state.link_by_mailbox(Kind.EMAIL, i) is None
                ]
                # The cursor moves past a listing page only once all of it is done; a run stopped within it
                # lists the page again and skips what it linked already.
                for start in range(0, len(ids), self.page_size):
                    chunk = ids[start : start + self.page_size]
                    failed += self._track_page(
                        ctx, st, folder, chunk, resolver, lookup, result, dry_run=dry_run
                    )
                    done += len(chunk)
                    ctx.reporter.progress(KIND, done, None, f"Checking {folder.value}")
                if not dry_run:
                    cursors.folders[folder.value] = batch.cursor
                    cursors.retry[folder.value] = list(dict.fromkeys(failed))
                    ctx.state.set_cursor(Kind.EMAIL, "mailbox", cursors.dump())
            if not dry_run:
                cursors.retry[folder.value] = list(dict.fromkeys(failed))
                ctx.state.set_cursor(Kind.EMAIL, "mailbox", cursors.dump())

    def _track_page(
        self,
        ctx: RunContext,
        st: EmailSettings,
        folder: FolderKind,
        ids: Sequence[str],
        resolver: PartyResolver,
        lookup: CrmEmails,
        result: KindResult,
        *,
        dry_run: bool,
    ) -> list[str]:
        """Track what is in scope among ``ids``; returns the ids that failed (read again next run)."""
        items: list[MailItem] = []
        for res in ctx.mailbox.get_many(folder, ids):
            if res.ok and isinstance(res.value, MailItem):
                items.append(res.value)
            elif res.error is not None and res.error.severity > Severity.ITEM:
                raise res.error
            # an item deleted since it was listed is simply gone (email deletes never propagate)
        epoch = datetime.min.replace(tzinfo=UTC)
        items.sort(key=lambda i: (aware(i.received or i.sent) or epoch, i.id))
        outgoing = folder is FolderKind.SENT_ITEMS
        existing = lookup.existing(
            [normalize_message_id(i.message_id) or "" for i in items], outgoing=outgoing
        )
        failed: list[str] = []
        pending: list[Pending] = []

        def flush() -> None:
            if pending:
                sending = list(pending)
                pending.clear()
                failed.extend(self._send_tracked(ctx, st, folder, sending, existing, page, result))

        page = PageLookup(lookup, flush)
        page.prefetch(items)
        self._prefetch_parties(ctx, st, folder, items, existing, resolver)
        for item in items:
            try:
                self._track_item(
                    ctx, st, folder, item, resolver, page, existing, result, dry_run=dry_run, pending=pending
                )
            except D365SyncError as exc:
                if exc.severity > Severity.ITEM:
                    raise
                failed.append(item.id)
                result.to_crm.errors += 1
                record_error(ctx, exc.severity, f"{item.subject}: could not be tracked: {exc}", item.id)
            if len(pending) >= _BATCH_EMAILS or sum(p.size for p in pending) >= _BATCH_BYTES:
                flush()
        flush()
        return failed

    @staticmethod
    def _prefetch_parties(
        ctx: RunContext,
        st: EmailSettings,
        folder: FolderKind,
        items: Sequence[MailItem],
        existing: dict[str, EmailRef],
        resolver: PartyResolver,
    ) -> None:
        """Resolve the senders and recipients of the page's messages that may be tracked, together.

        The messages ``_track_item`` leaves before resolving anyone (linked, untracked by the user, known by
        Message-ID, or not in scope of method 4) are left out; the others' addresses go to the resolver at
        once: a query per table instead of one per table and address. Addresses of a message that turns out
        out of scope are resolved for nothing, which costs rows, not requests. A look-up that fails is left
        to the per-message path, which fails only its message, as before.
        """
        addresses: list[str] = []
        for item in items:
            manual = TRACKED_CATEGORY in item.categories or item.props.crmlinkstate == LinkState.PENDING
            message_id = normalize_message_id(item.message_id)
            if (
                ctx.state.link_by_mailbox(Kind.EMAIL, item.id) is not None
                or (item.props.is_linked and item.props.crmid)
                or (item.props.crmlinkstate == LinkState.NOT_TRACKED and not manual)
                or (message_id and message_id in existing)
                or (folder is FolderKind.INBOX and not manual and st.filtering_method == FILTER_NONE)
            ):
                continue
            people = [item.sender] if item.sender else []
            addresses += [a for _, a in (*people, *item.to, *item.cc, *item.bcc) if a]
        try:
            resolver.prefetch(addresses)
        except D365SyncError as exc:
            if exc.severity > Severity.ITEM:
                raise
            log.info("email: the page's parties are resolved one by one (%s)", exc)

    def in_scope(
        self,
        st: EmailSettings,
        folder: FolderKind,
        item: MailItem,
        correlation: Correlation | None,
        sender: ResolvedParty | None,
    ) -> str | None:
        """Why the message is tracked ("manual", "reply", "filter"), or None when it is not."""
        if TRACKED_CATEGORY in item.categories or item.props.crmlinkstate == LinkState.PENDING:
            return "manual"
        if folder is FolderKind.SENT_ITEMS:
            return "reply" if correlation is not None else None
        method = st.filtering_method
        if method == FILTER_ALL:
            return "filter"
        if method == FILTER_REPLIES:
            return "reply" if correlation is not None else None
        if method == FILTER_CUSTOMERS:
            return "filter" if sender is not None and sender.logical_name in CUSTOMER_TABLES else None
        if method == FILTER_EMAIL_ENABLED:
            return "filter" if sender is not None and sender.resolved else None
        return None

    def _track_item(
        self,
        ctx: RunContext,
        st: EmailSettings,
        folder: FolderKind,
        item: MailItem,
        resolver: PartyResolver,
        lookup: PageLookup,
        existing: dict[str, EmailRef],
        result: KindResult,
        *,
        dry_run: bool,
        pending: list[Pending],
    ) -> None:
        """Decide on one message; a new tracked email joins ``pending`` (sent by the page's ``$batch``)."""
        if ctx.state.link_by_mailbox(Kind.EMAIL, item.id) is not None:
            return
        message_id = normalize_message_id(item.message_id)
        if item.props.is_linked and item.props.crmid:
            if not dry_run:  # the state DB lost it: relink through the stamped crmid
                link(ctx, item.props.crmid, item.id, message_id)
            return
        manual = TRACKED_CATEGORY in item.categories or item.props.crmlinkstate == LinkState.PENDING
        if item.props.crmlinkstate == LinkState.NOT_TRACKED and not manual:
            return  # the user stopped tracking it (crmlinkstate 0): never tracked again by itself
        known = existing.get(message_id) if message_id else None
        copy_in_page = known is not None and any(p.activity_id == known.activityid for p in pending)
        if copy_in_page:
            lookup.flush()  # a copy of a message decided on in this page: link only once that exists
            known = existing.get(message_id) if message_id else None
        if known is not None:
            linked = ctx.state.link_by_crm(Kind.EMAIL, known.activityid)
            if copy_in_page or (linked is not None and linked.mailbox_id != item.id):
                # another message of this mailbox is that email already: this one is not tracked (said so)
                result.skipped += 1
                log.info("email: %r not tracked: %s is tracked already", item.subject, message_id)
            if not dry_run:  # already in Dynamics 365 (tracked elsewhere, or our own sent email): link it
                link(ctx, known.activityid, item.id, message_id)
                stamp(ctx, st, folder, item.id, known)
            return
        if folder is FolderKind.INBOX and not manual and st.filtering_method == FILTER_NONE:
            return
        correlation = correlate(item, lookup, tracking_prefix=st.tracking_prefix)
        sender = resolver.resolve(item.sender[1], item.sender[0]) if item.sender and item.sender[1] else None
        reason = self.in_scope(st, folder, item, correlation, sender)
        if reason is None:
            return
        if dry_run:
            who = item.sender[1] if item.sender else "?"
            ctx.planned.append(f"email: track {item.subject!r} from {who} ({reason})")
            result.to_crm.created += 1  # what the run would do: the dry run's counts match its plan
            return
        ready = self._prepare(ctx, st, folder, item, correlation, sender, resolver)
        if message_id:
            existing[message_id] = ready.ref
        lookup.add(ready.ref)
        pending.append(ready)

    def email_body(
        self,
        st: EmailSettings,
        folder: FolderKind,
        item: MailItem,
        correlation: Correlation | None,
        sender: ResolvedParty | None,
        resolver: PartyResolver,
    ) -> dict[str, Any]:
        """The ``emails`` row for a mailbox message (without ``activityid``)."""
        outgoing = folder is FolderKind.SENT_ITEMS
        parties: list[dict[str, Any]] = []
        if sender is not None:
            parties.append(sender.party(MASK_SENDER))
        for mask, people in ((MASK_TO, item.to), (MASK_CC, item.cc), (MASK_BCC, item.bcc)):
            seen: set[str] = set()
            for name, address in people:
                if address and address.lower() not in seen:
                    seen.add(address.lower())
                    parties.append(resolver.resolve(address, name).party(mask))
        message_id = normalize_message_id(item.message_id) or item.message_id
        sent = item.sent or item.received
        done = (item.sent if outgoing else item.received) or sent
        body: dict[str, Any] = {
            "subject": item.subject[:800],
            "description": html_description(item),
            "directioncode": outgoing,
            "sender": (item.sender[1] if item.sender else "")[:250],
            "torecipients": "; ".join(a for _, a in item.to if a)[:500],
            "messageid": (message_id or "")[:320],
            "senton": iso_z(sent),
            "actualend": iso_z(done),
            "prioritycode": crm_emails.IMPORTANCE.get(item.importance.lower(), 1),
            "statecode": STATE_COMPLETED,
            "statuscode": STATUS_SENT if outgoing else STATUS_RECEIVED,
            "ownerid@odata.bind": f"systemusers({st.me})",
            "correlationmethod": int(correlation.method) if correlation else 0,
            "email_activity_parties": parties,
        }
        if item.conversation_index:
            body["conversationindex"] = item.conversation_index[:2048]
        if correlation is not None:
            ref = correlation.email
            if correlation.sets_parent:
                body["parentactivityid@odata.bind"] = f"emails({ref.activityid})"
            if ref.regarding_id and ref.regarding_type:
                bind = f"regardingobjectid_{ref.regarding_type}_email@odata.bind"
                body[bind] = f"{crm_emails.entity_set_of(ref.regarding_type)}({ref.regarding_id})"
        if item.truncated:
            body["notifications"] = NOTIFY_TRUNCATED_BODY
        if item.attachments_omitted or any(
            a.size > st.max_upload or (a.content is not None and len(a.content) > st.max_upload)
            for a in item.attachments
        ):
            body["notifications"] = NOTIFY_ATTACHMENTS_NOT_SAVED
        return {k: v for k, v in body.items() if v is not None}

    def _prepare(
        self,
        ctx: RunContext,
        st: EmailSettings,
        folder: FolderKind,
        item: MailItem,
        correlation: Correlation | None,
        sender: ResolvedParty | None,
        resolver: PartyResolver,
    ) -> Pending:
        """The ``emails`` row (with a client-chosen ``activityid``) and the attachments that fit."""
        body = self.email_body(st, folder, item, correlation, sender, resolver)
        activity_id = str(uuid.uuid4())
        attachments, all_saved = self._attachment_rows(st, activity_id, item.attachments)
        ref = EmailRef(
            activityid=activity_id,
            messageid=body.get("messageid") or None,
            regarding_id=correlation.email.regarding_id if correlation else None,
            regarding_type=correlation.email.regarding_type if correlation else None,
            conversationindex=body.get("conversationindex"),
            createdon=str(body.get("actualend") or ""),
        )
        size = len(str(body)) + sum(len(a["body"]) for a in attachments)
        return Pending(folder, item, activity_id, body, attachments, all_saved, ref, size)

    def _send_tracked(
        self,
        ctx: RunContext,
        st: EmailSettings,
        folder: FolderKind,
        emails: Sequence[Pending],
        existing: dict[str, EmailRef],
        page: PageLookup,
        result: KindResult,
    ) -> list[str]:
        """Create ``emails`` with their attachments in ``$batch`` requests; returns the ids that failed.

        Every create is journaled with its ``activityid`` first (all before the request), so a crash
        while the batch is under way is resolved by looking the rows up (``recover``). Each row is its
        own request (continue-on-error): a refused email fails alone, a refused attachment only sets
        ``notifications``, as when each was sent by itself. Then the items are linked and stamped (one
        ``set_named_props`` call).
        """
        state = ctx.state
        ctx.before_writes()  # the claim's heartbeat: a computer that lost it tracks nothing more
        with state.transaction():
            entries = [
                state.journal_create(
                    Kind.EMAIL,
                    "crm",
                    f"{folder.value} {p.item.id}",
                    hashlib.sha256(json.dumps(p.body, sort_keys=True, default=str).encode()).hexdigest(),
                    target_id=p.activity_id,
                )
                for p in emails
            ]
        requests = [
            r for p in emails for r in crm_emails.create_requests(p.activity_id, p.body, p.attachments)
        ]
        try:
            answers = ctx.crm.batch(requests, continue_on_error=True)
        except D365SyncError as exc:
            if isinstance(exc, ODataError) and not exc.retriable:  # a definite "no": nothing was created
                with state.batch():
                    for entry in entries:
                        state.journal_done(entry.id, None)
            if exc.severity > Severity.ITEM:
                raise  # else unknown: the next run's recovery looks the rows up by their ids
            answers = []
            failure: D365SyncError | None = exc
        else:
            failure = None
        failed: list[str] = []
        created: list[Pending] = []
        position = 0
        unsaved: list[str] = []  # rows whose attachments were not all saved: marked after the batch
        with state.batch():  # one commit for the page's links and journal entries, not two per item
            for p, entry in zip(emails, entries, strict=True):
                mine = answers[position : position + 1 + len(p.attachments)]
                position += 1 + len(p.attachments)
                error = failure if not mine else (None if mine[0].ok else mine[0].error)
                if error is not None or not mine:
                    if failure is None:  # the service answered this row: it was not created
                        state.journal_done(entry.id, None)
                    page.forget(p.activity_id)
                    key = normalize_message_id(p.item.message_id)
                    if key and existing.get(key) is p.ref:
                        del existing[key]
                    failed.append(p.item.id)
                    result.to_crm.errors += 1
                    reason = error or D365SyncError("no answer", severity=Severity.ITEM)
                    record_error(
                        ctx, reason.severity, f"{p.item.subject}: could not be tracked: {reason}", p.item.id
                    )
                    continue
                state.journal_done(entry.id, p.activity_id)
                link(ctx, p.activity_id, p.item.id, p.body.get("messageid"))
                refused = [a for a in mine[1:] if not a.ok]
                for answer in refused:
                    log.info("attachment refused: %s", answer.error)
                marked = p.body.get("notifications") == NOTIFY_ATTACHMENTS_NOT_SAVED
                if (refused or not p.all_saved) and not marked:
                    unsaved.append(p.activity_id)
                created.append(p)
        for activity_id in unsaved:  # not in the batch: these talk to Dynamics 365
            crm_emails.mark_attachments_not_saved(ctx.crm, activity_id)
        stamp_many(ctx, st, folder, [(p.item.id, p.ref) for p in created])
        result.to_crm.created += len(created)
        return failed

    def _attachment_rows(
        self, st: EmailSettings, activity_id: str, attachments: Iterable[Attachment]
    ) -> tuple[list[dict[str, Any]], bool]:
        """The ``activitymimeattachments`` rows of what fits; False when anything was left out."""
        all_saved = True
        rows: list[dict[str, Any]] = []
        for number, attachment in enumerate(attachments, start=1):
            try:
                data = attachment.data()
            except MailboxError:
                all_saved = False
                continue
            if len(data) > st.max_upload:
                log.info(
                    "attachment %r (%d bytes) is over the upload limit; skipped", attachment.name, len(data)
                )
                all_saved = False
                continue
            rows.append(
                crm_emails.attachment_row(
                    activity_id, number, attachment.name, attachment.content_type, data, attachment.content_id
                )
            )
        return rows, all_saved
