"""Sending the user's emails from Dynamics 365 (Dynamics 365 -> mailbox).

Emails in Pending Send (statuscode 6, state Completed) with directioncode true, owned by the user, when the
run's options say to send email. The Message-ID is chosen and written to the state DB (the outbox,
``wizard.sync.cursors``) before sending; the row then becomes Sent (3) with that ``messageid``. A message the
server refuses becomes Failed (8, state Open) and the reason goes to the run's error log (the email table has
no column for it). What a crash leaves in the outbox is resolved by :mod:`.recover` before anything is sent.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from email.utils import make_msgid
from typing import Any

from wizard.crm import emails as crm_emails
from wizard.errors import Severity
from wizard.mailbox.base import Attachment, MailboxError, OutgoingMessage
from wizard.odata.errors import NotFoundError, ODataError
from wizard.sync import cursors
from wizard.sync.correlation import normalize_message_id
from wizard.sync.email.common import KIND, EmailSettings, record_error
from wizard.sync.run import KindResult, RunContext


class Sender:
    """Sends Pending Send emails; ``msgid_factory`` makes a Message-ID for a domain (tests fix it)."""

    def __init__(self, msgid_factory: Callable[[str], str] | None = None) -> None:
        self._msgid = msgid_factory or (lambda domain: make_msgid(domain=domain))

    def send_pending(self, ctx: RunContext, st: EmailSettings, result: KindResult, *, dry_run: bool) -> None:
        if not ctx.options.send_email or not ctx.mailbox.capabilities.can_send:
            return
        pending_sends = set(cursors.in_flight(ctx.state))
        rows = crm_emails.pending_sends(ctx.crm, st.me)
        for done, row in enumerate(rows, start=1):
            activity_id = str(row.get("activityid") or "").lower()
            if not activity_id or activity_id in pending_sends:
                continue  # an unresolved crashed send is never sent again blindly
            ctx.reporter.progress(KIND, done, len(rows), f"Sending: {row.get('subject') or ''}")
            if dry_run:
                ctx.planned.append(f"email: send {row.get('subject') or '(no subject)'!r} from Dynamics 365")
                result.to_mailbox.created += 1  # as _send_one counts a sent email
                continue
            ctx.before_writes()  # each send is a batch of its own: never sent by a computer that lost the claim
            self._send_one(ctx, st, row, result)

    def build_message(self, ctx: RunContext, st: EmailSettings, row: dict[str, Any]) -> OutgoingMessage:
        """The message for a Pending Send email: parties, subject (with its tracking token), body, files."""
        crm = ctx.crm
        recipients: dict[int, list[tuple[str, str]]] = {
            crm_emails.MASK_TO: [],
            crm_emails.MASK_CC: [],
            crm_emails.MASK_BCC: [],
        }
        for party in row.get("email_activity_parties") or []:
            mask = party.get("participationtypemask")
            if mask in recipients:
                address = crm_emails.party_address(crm, party)
                if address and all(address.lower() != a.lower() for _, a in recipients[mask]):
                    recipients[mask].append(("", address))
        subject = str(row.get("subject") or "")
        token = str(row.get("trackingtoken") or "").strip()
        if token and token.lower() not in subject.lower():
            subject = f"{subject} {token}".strip()
        description = str(row.get("description") or "")
        in_reply_to: str | None = None
        parent = row.get("_parentactivityid_value")
        if parent:
            parent_row = crm_emails.get(crm, str(parent), ["messageid"])
            in_reply_to = normalize_message_id((parent_row or {}).get("messageid"))
        attachments = [
            Attachment(
                name=str(a.get("filename") or "attachment"),
                content_type=str(a.get("mimetype") or "application/octet-stream"),
                content=base64.b64decode(str(a.get("body") or "")),
                content_id=a.get("attachmentcontentid") or None,
            )
            for a in crm_emails.attachments(crm, str(row["activityid"]))
        ]
        for attachment in attachments:
            attachment.size = len(attachment.content or b"")
        importance = {v: k for k, v in crm_emails.IMPORTANCE.items()}.get(
            int(row.get("prioritycode") or 1), "normal"
        )
        return OutgoingMessage(
            sender=(st.me_name, st.me_address),
            to=recipients[crm_emails.MASK_TO],
            cc=recipients[crm_emails.MASK_CC],
            bcc=recipients[crm_emails.MASK_BCC],
            subject=subject,
            body_html=description if description else None,
            body_text=None if description else "",
            attachments=attachments,
            in_reply_to=in_reply_to,
            references=[in_reply_to] if in_reply_to else [],
            importance=importance,
            date=ctx.now,
        )

    def _send_one(self, ctx: RunContext, st: EmailSettings, row: dict[str, Any], result: KindResult) -> None:
        activity_id = str(row["activityid"]).lower()
        subject = str(row.get("subject") or "")
        try:
            message = self.build_message(ctx, st, row)
        except (ODataError, ValueError) as exc:
            if (
                isinstance(exc, ODataError)
                and exc.severity > Severity.ITEM
                and not isinstance(exc, NotFoundError)
            ):
                raise
            _send_failed(ctx, activity_id, subject, str(exc), result)
            return
        if not message.recipients():
            _send_failed(
                ctx, activity_id, subject, "The email has no recipient with an email address.", result
            )
            return
        domain = st.me_address.rpartition("@")[2] or "d365sync.invalid"
        message.message_id = self._msgid(domain)
        cursors.outbox_put(ctx.state, activity_id, message.message_id)
        try:
            used = ctx.mailbox.send(message)
        except MailboxError as exc:
            if exc.severity <= Severity.ITEM or (exc.severity <= Severity.KIND and not exc.retriable):
                _send_failed(ctx, activity_id, subject, exc.user_text, result)
                cursors.outbox_drop(ctx.state, activity_id)
                return
            if not exc.retriable:
                cursors.outbox_drop(ctx.state, activity_id)  # refused before anything left (auth, TLS)
            # retriable (network, throttling): whether it left is unknown; the next run looks in Sent Items
            raise
        crm_emails.mark_sent(ctx.crm, activity_id, used or message.message_id, ctx.now)
        cursors.outbox_drop(ctx.state, activity_id)
        result.to_mailbox.created += 1


def _send_failed(ctx: RunContext, activity_id: str, subject: str, reason: str, result: KindResult) -> None:
    crm_emails.mark_failed(ctx.crm, activity_id)
    result.to_mailbox.errors += 1
    result.message = result.message or f"An email could not be sent: {reason}"
    record_error(ctx, Severity.ITEM, f"{subject}: could not be sent: {reason}", activity_id)
