"""Email: tracking mailbox messages in Dynamics 365 and sending the user's "Pending Send" emails.

Tracking (mailbox -> Dynamics 365, DESIGN section 4, reference B.4/B.10/B.13):

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

Sending (Dynamics 365 -> mailbox): emails in Pending Send (statuscode 6, state Completed) with
directioncode true, owned by the user, when ``profile.sync.send_email`` is on. The Message-ID is chosen
and written to the state DB (the outbox) before sending; the row then becomes Sent (3) with that ``messageid``. A message the server
refuses becomes Failed (8, state Open) and the reason goes to the run's error log (the email table has no
column for it). An unfinished send (crash after sending, before the row was updated) is resolved
before anything is sent: by the row's status, then by looking for the Message-ID in Sent Items; where the
backend keeps no copy, the row is set to Failed rather than risk a second send.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any, cast

from wizard.crm.client import guid, odata_string
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
    NamedProps,
    NotSupported,
    OutgoingMessage,
)
from wizard.odata.batch import BatchRequest
from wizard.odata.errors import NotFoundError, ODataError, ValidationError
from wizard.sync.correlation import (
    DEFAULT_TRACKING_PREFIX,
    Correlation,
    EmailRef,
    conversation_root,
    correlate,
    normalize_message_id,
    reply_message_ids,
    root_search_prefix,
    token_variants,
)
from wizard.sync.engine import KindCounts, KindResult
from wizard.sync.parties import CUSTOMER_TABLES, PartyResolver, ResolvedParty
from wizard.sync.state import StateDBError

if TYPE_CHECKING:
    from wizard.crm.client import DataverseClient
    from wizard.settings.enums import Kind
    from wizard.sync.engine import RunContext
    from wizard.sync.state import JournalEntry, StateDB

log = logging.getLogger(__name__)

KIND = "email"
#: The state DB types its kinds for the two-way kinds; email shares its tables under the name "email".
_KIND = cast("Kind", KIND)

# ``incomingemailfilteringmethod`` (reference B.4)
FILTER_ALL = 0
FILTER_REPLIES = 1
FILTER_CUSTOMERS = 2
FILTER_EMAIL_ENABLED = 3
FILTER_NONE = 4

# email statecode / statuscode (protocols 2.1)
STATE_OPEN = 0
STATE_COMPLETED = 1
STATUS_SENT = 3
STATUS_RECEIVED = 4
STATUS_PENDING_SEND = 6
STATUS_FAILED = 8

# activityparty.participationtypemask
MASK_SENDER = 1
MASK_TO = 2
MASK_CC = 3
MASK_BCC = 4

# email.notifications
NOTIFY_ATTACHMENTS_NOT_SAVED = 1
NOTIFY_TRUNCATED_BODY = 2

#: Regarding type codes the original stamped in ``crmregardingobjecttypecode`` (B.10).
REGARDING_TYPE_CODES = {
    "account": 1,
    "contact": 2,
    "opportunity": 3,
    "lead": 4,
    "systemuser": 8,
    "incident": 112,
}
_ENTITY_SETS = {
    "account": "accounts",
    "contact": "contacts",
    "lead": "leads",
    "systemuser": "systemusers",
    "opportunity": "opportunities",
    "incident": "incidents",
    "queue": "queues",
}
_LOOKUP_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
_ANNOTATIONS = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
_REF_SELECT = (
    "activityid",
    "messageid",
    "_regardingobjectid_value",
    "conversationindex",
    "trackingtoken",
    "actualend",
    "directioncode",
)
#: Message-IDs (or conversation prefixes) per ``or`` filter: a page of messages in one query, and the URL
#: (about 110 characters a Message-ID) still well under the service's 32 KB
_IDS_PER_QUERY = 100
#: tracked emails per ``$batch`` (each with its attachments), and the most bytes of payload one may carry
_BATCH_EMAILS = 100
_BATCH_BYTES = 16 * 1024 * 1024
_TRACK_FOLDERS = (FolderKind.INBOX, FolderKind.SENT_ITEMS)
_IMPORTANCE = {"low": 0, "normal": 1, "high": 2}


def _entity_set_of(logical_name: str) -> str:
    if logical_name in _ENTITY_SETS:
        return _ENTITY_SETS[logical_name]
    if logical_name.endswith("y"):
        return logical_name[:-1] + "ies"
    return logical_name + ("es" if logical_name.endswith("s") else "s")


def html_description(item: MailItem) -> str:
    """``description`` is HTML (Format Email): the HTML body, else the text body escaped."""
    if item.body_html:
        return item.body_html
    text = item.body_text or ""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\n")


def _ref_from_row(row: dict[str, Any]) -> EmailRef:
    return EmailRef(
        activityid=str(row.get("activityid") or "").lower(),
        messageid=row.get("messageid"),
        regarding_id=(
            str(row["_regardingobjectid_value"]).lower() if row.get("_regardingobjectid_value") else None
        ),
        regarding_type=row.get("_regardingobjectid_value" + _LOOKUP_NAME),
        conversationindex=row.get("conversationindex"),
        trackingtoken=row.get("trackingtoken"),
        createdon=str(
            row.get("actualend") or ""
        ),  # when it was sent/received (the stand-in has no createdon)
    )


class CrmEmails:
    """The :class:`~wizard.sync.correlation.EmailLookup` against the Web API (plus the messageid check)."""

    def __init__(self, crm: DataverseClient) -> None:
        self.crm = crm
        self.queries = 0

    def _rows(self, flt: str, extra: Sequence[str] = ()) -> list[dict[str, Any]]:
        self.queries += 1
        params = [("$select", ",".join((*_REF_SELECT, *extra))), ("$filter", flt)]
        return list(self.crm.session.iter_rows("emails", params=params, prefer=[_ANNOTATIONS]))

    def _by_ids(self, message_ids: Sequence[str], direction: bool | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(m for m in message_ids if m))
        for start in range(0, len(unique), _IDS_PER_QUERY):
            chunk = unique[start : start + _IDS_PER_QUERY]
            flt = "(" + " or ".join(f"messageid eq {odata_string(m)}" for m in chunk) + ")"
            if direction is not None:
                flt += f" and directioncode eq {'true' if direction else 'false'}"
            out.extend(self._rows(flt))
        return out

    def by_message_ids(self, message_ids: Sequence[str]) -> list[EmailRef]:
        return [_ref_from_row(r) for r in self._by_ids(message_ids, None)]

    def by_tracking_token(self, token: str) -> list[EmailRef]:
        flt = " or ".join(f"trackingtoken eq {odata_string(v)}" for v in token_variants(token))
        return [_ref_from_row(r) for r in self._rows(flt)]

    def by_conversation_root(self, root: bytes) -> list[EmailRef]:
        flt = f"startswith(conversationindex,{odata_string(root_search_prefix(root))})"
        return [_ref_from_row(r) for r in self._rows(flt)]

    def existing(self, message_ids: Sequence[str], *, outgoing: bool) -> dict[str, EmailRef]:
        """Emails already in Dynamics 365 with these Message-IDs and this direction (the duplicate check).

        Sent and received copies of one message are separate emails (B.13), hence the direction."""
        out: dict[str, EmailRef] = {}
        for row in self._by_ids(message_ids, outgoing):
            key = normalize_message_id(row.get("messageid"))
            if key and key not in out:
                out[key] = _ref_from_row(row)
        return out


class _PageLookup:
    """The correlation look-ups of one page of messages, asked of Dynamics 365 together.

    ``prefetch`` reads, for the whole page, the emails the messages answer (In-Reply-To/References) and
    those of their conversations (ConversationIndex root) in ``or`` queries of _IDS_PER_QUERY, instead
    of a query or two per message. The emails this page tracks are added as they are decided (``add``),
    before their ``$batch`` is sent, so a later message of the page correlates with them exactly as if
    each had been created on its own. A question the prefetch did not cover goes to Dynamics 365 after
    the page's pending creates were sent (``flush``), so the answer is never older than sequential work.
    """

    def __init__(self, base: CrmEmails, flush: Callable[[], None]) -> None:
        self.base = base
        self.flush = flush
        self.by_id: dict[str, list[EmailRef]] = {}
        self.by_root: dict[str, list[EmailRef]] = {}
        self.page: list[EmailRef] = []

    def prefetch(self, items: Sequence[MailItem]) -> None:
        wanted = list(dict.fromkeys(m for i in items for m in reply_message_ids(i)))
        for message_id in wanted:
            self.by_id.setdefault(message_id.lower(), [])  # the service compares case-insensitively
        for row in self.base._by_ids(wanted, None):
            key = (normalize_message_id(row.get("messageid")) or "").lower()
            if key in self.by_id:
                self.by_id[key].append(_ref_from_row(row))
        prefixes = list(
            dict.fromkeys(
                root_search_prefix(root)
                for i in items
                if (root := conversation_root(i.conversation_index)) is not None
            )
        )
        for start in range(0, len(prefixes), _IDS_PER_QUERY):
            chunk = prefixes[start : start + _IDS_PER_QUERY]
            for prefix in chunk:
                self.by_root.setdefault(prefix, [])
            flt = " or ".join(f"startswith(conversationindex,{odata_string(p)})" for p in chunk)
            for row in self.base._rows(flt):
                ref = _ref_from_row(row)
                for prefix in chunk:
                    if (ref.conversationindex or "").startswith(prefix):
                        self.by_root[prefix].append(ref)

    def add(self, ref: EmailRef) -> None:
        self.page.append(ref)

    @staticmethod
    def _unique(refs: Iterable[EmailRef]) -> list[EmailRef]:
        return list({r.activityid: r for r in refs}.values())

    def by_message_ids(self, message_ids: Sequence[str]) -> list[EmailRef]:
        wanted = {m.lower() for m in message_ids if m}
        if wanted <= set(self.by_id):
            found = [r for m in wanted for r in self.by_id[m]]
        else:
            self.flush()
            found = self.base.by_message_ids(message_ids)
        mine = [r for r in self.page if (normalize_message_id(r.messageid) or "").lower() in wanted]
        return self._unique([*found, *mine])

    def forget(self, activity_id: str) -> None:
        """An email of this page that could not be created: no later message may correlate with it."""
        self.page = [r for r in self.page if r.activityid != activity_id]

    def by_tracking_token(self, token: str) -> list[EmailRef]:
        self.flush()  # a new email's token is the service's: ask it, with this page's emails created
        return self.base.by_tracking_token(token)

    def by_conversation_root(self, root: bytes) -> list[EmailRef]:
        prefix = root_search_prefix(root)
        if prefix in self.by_root:
            found = list(self.by_root[prefix])
        else:
            self.flush()
            found = self.base.by_conversation_root(root)
        mine = [r for r in self.page if (r.conversationindex or "").startswith(prefix)]
        return self._unique([*found, *mine])


@dataclass
class _Pending:
    """A tracked email decided on, waiting for its page's ``$batch``."""

    folder: FolderKind
    item: MailItem
    activity_id: str
    body: dict[str, Any]
    attachments: list[dict[str, Any]]
    all_saved: bool  # False when an attachment was left out before sending (too large, unreadable)
    ref: EmailRef
    size: int


@dataclass(frozen=True)
class EmailSettings:
    """What one run needs from Dynamics 365 and the profile, read once per run."""

    filtering_method: int
    tracking_prefix: str
    max_upload: int
    me: str
    me_address: str
    me_name: str
    org_id: str


@dataclass
class _Cursors:
    """Per-folder change cursors and the ids to read again (items that failed), kept as one JSON value."""

    folders: dict[str, str] = field(default_factory=dict)
    retry: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> _Cursors:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        folders = data.get("folders") if isinstance(data.get("folders"), dict) else {}
        retry = data.get("retry") if isinstance(data.get("retry"), dict) else {}
        return cls(
            {str(k): str(v) for k, v in (folders or {}).items()},
            {str(k): [str(i) for i in v] for k, v in (retry or {}).items() if isinstance(v, list)},
        )

    def dump(self) -> str:
        return json.dumps({"folders": self.folders, "retry": self.retry}, sort_keys=True)


class EmailSync:
    """The email kind (``KindSync``): tracking to Dynamics 365 and sending from it."""

    kind = KIND

    def __init__(
        self,
        *,
        page_size: int = 100,
        listing_size: int = LISTING_PAGE,
        msgid_factory: Callable[[str], str] | None = None,
    ) -> None:
        self.page_size = page_size  # messages read, checked, created and stamped together
        # changes per listing request: whole pages of work (512 would leave a page of 12 every 5 pages)
        self.listing_size = max(page_size, listing_size - listing_size % page_size)
        self._msgid = msgid_factory or (lambda domain: make_msgid(domain=domain))

    # ------------------------------------------------------------------------------------ the run

    def run(self, ctx: RunContext, *, dry_run: bool, force: bool) -> KindResult:
        """One pass: resolve crashed sends/tracks, send Pending Send emails, then track new mail.

        ``force`` has no meaning here: email never deletes, so no safety rail can stop it."""
        result = KindResult(kind=KIND, to_crm=KindCounts(), to_mailbox=KindCounts(), status="ok")
        ctx.reporter.progress(KIND, 0, None, "Reading email settings")
        try:
            settings = self.settings(ctx)
        except D365SyncError as exc:
            self._fail(result, exc)
            return result
        phases: list[Callable[[], None]] = []
        if not dry_run:
            phases.append(lambda: self.recover(ctx, settings, result))
        phases.append(lambda: self.send_pending(ctx, settings, result, dry_run=dry_run))
        phases.append(lambda: self.track(ctx, settings, result, dry_run=dry_run))
        for phase in phases:
            try:
                phase()
            except D365SyncError as exc:
                self._fail(result, exc)  # a kind-level failure of sending does not stop tracking
        return result

    @staticmethod
    def _fail(result: KindResult, exc: D365SyncError) -> None:
        """Report a failure in the result (the engine logs it); account-level ones stop the whole run."""
        if exc.severity >= Severity.ACCOUNT and not isinstance(exc, NotSupported):
            raise exc
        log.warning("email: %s", exc)
        result.status = "error"
        result.message = result.message or exc.user_text

    def _record(self, ctx: RunContext, severity: Severity, message: str, item: str | None = None) -> None:
        if ctx.run_id is not None:
            ctx.state.record_error(ctx.run_id, _KIND, severity, message, item)

    def settings(self, ctx: RunContext) -> EmailSettings:
        crm = ctx.crm
        me = guid(ctx.user_id)
        method = crm.user_settings(me).incomingemailfilteringmethod
        prefix, max_upload = DEFAULT_TRACKING_PREFIX, 5_242_880
        try:
            rows = list(
                crm.query("organizations", select=["organizationid", "maxuploadfilesize", "trackingprefix"])
            )
        except ValidationError:  # a deployment without trackingprefix: the default prefix
            rows = list(crm.query("organizations", select=["organizationid", "maxuploadfilesize"]))
        if rows:
            prefix = str(rows[0].get("trackingprefix") or "").strip() or DEFAULT_TRACKING_PREFIX
            if rows[0].get("maxuploadfilesize"):
                max_upload = int(rows[0]["maxuploadfilesize"])
        user = crm.user(me)
        bound = ctx.profile.mailbox.address if ctx.profile.mailbox else ""
        return EmailSettings(
            filtering_method=method if method in range(5) else FILTER_CUSTOMERS,
            tracking_prefix=prefix,
            max_upload=max_upload,
            me=me,
            me_address=bound or user.internalemailaddress,
            me_name=user.fullname,
            org_id=ctx.org.id,
        )

    # ------------------------------------------------------------------------------- crash recovery

    def recover(self, ctx: RunContext, st: EmailSettings, result: KindResult) -> None:
        """Resolve what a crash left unfinished, before anything new is sent or created."""
        for entry in ctx.state.pending_creates(_KIND):
            if entry.side == "crm":
                self._recover_track(ctx, st, entry)
        sent_ids: set[str] | None = None
        for activity_id, message_id in self.in_flight(ctx.state).items():
            row = self._get_email(ctx.crm, activity_id, ["statuscode", "messageid", "subject"])
            if row is None or row.get("statuscode") not in (STATUS_PENDING_SEND, STATUS_SENT):
                self._outbox_drop(ctx, activity_id)  # gone or changed by the user: nothing to finish
                continue
            if row.get("statuscode") == STATUS_SENT:
                self._outbox_drop(ctx, activity_id)
                continue
            caps = ctx.mailbox.capabilities
            if caps.sent_items_copy and caps.can_read(FolderKind.SENT_ITEMS):
                if sent_ids is None:
                    sent_ids = self._sent_message_ids(ctx)
                if normalize_message_id(message_id) in sent_ids:
                    log.info("email %s was sent before a crash; marking it Sent", activity_id)
                    self._mark_sent(ctx, activity_id, message_id)
                    result.to_mailbox.created += 1
                # else it never left: the send pass sends it
                self._outbox_drop(ctx, activity_id)
                continue
            # No copy to look for (POP3/SMTP): a second send could duplicate, so the user decides.
            reason = "The email may or may not have been sent before d365sync stopped; check and resend."
            self._mark_failed(ctx, activity_id)
            self._outbox_drop(ctx, activity_id)
            result.to_mailbox.errors += 1
            self._record(ctx, Severity.ITEM, f"{row.get('subject') or ''}: {reason}", activity_id)

    # The outbox: sends in flight (activityid -> Message-ID), written before ``send`` and cleared once the
    # row says Sent/Failed. It lives in the state DB's cursor slot ("email", "crm") rather than the create
    # journal, because the engine's start-up recovery resolves every journal entry generically and would
    # declare a send it cannot check "never made" -- and the email would go out twice.

    @staticmethod
    def in_flight(state: StateDB) -> dict[str, str]:
        """Sends written down but not finished (a crash between sending and updating the row)."""
        try:
            data = json.loads(state.cursor(_KIND, "crm") or "{}")
        except ValueError:
            return {}
        outbox = data.get("outbox") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in outbox.items()} if isinstance(outbox, dict) else {}

    @classmethod
    def _outbox_put(cls, ctx: RunContext, activity_id: str, message_id: str) -> None:
        outbox = cls.in_flight(ctx.state)
        outbox[activity_id] = message_id
        ctx.state.set_cursor(_KIND, "crm", json.dumps({"outbox": outbox}, sort_keys=True))

    @classmethod
    def _outbox_drop(cls, ctx: RunContext, activity_id: str) -> None:
        outbox = cls.in_flight(ctx.state)
        if outbox.pop(activity_id, None) is not None:
            ctx.state.set_cursor(_KIND, "crm", json.dumps({"outbox": outbox}, sort_keys=True))

    def _recover_track(self, ctx: RunContext, st: EmailSettings, entry: JournalEntry) -> None:
        folder_name, _, item_id = entry.source_id.partition(" ")
        target = entry.target_id
        row = self._get_email(ctx.crm, target, ["activityid", "_regardingobjectid_value"]) if target else None
        if row is None:
            ctx.state.journal_done(entry.id, None)
            return
        assert target is not None
        ctx.state.journal_done(entry.id, target)
        self._link(ctx, target, item_id, None)
        try:
            folder = FolderKind(folder_name)
        except ValueError:
            return
        ref = EmailRef(activityid=target.lower(), regarding_id=row.get("_regardingobjectid_value"))
        self._stamp(ctx, st, folder, item_id, ref)

    @staticmethod
    def _get_email(
        crm: DataverseClient, activity_id: str | None, select: Sequence[str]
    ) -> dict[str, Any] | None:
        if not activity_id:
            return None
        try:
            return crm.get("emails", activity_id, select=select)
        except NotFoundError:
            return None
        except ValueError:  # not a GUID: a corrupted journal entry
            return None

    def _sent_message_ids(self, ctx: RunContext) -> set[str]:
        """Every Message-ID in Sent Items (a full read; only done to resolve a crashed send)."""
        out: set[str] = set()
        for batch in ctx.mailbox.changes(FolderKind.SENT_ITEMS, None, self.page_size):
            ids = list(dict.fromkeys(batch.created + batch.updated))
            for res in ctx.mailbox.get_many(FolderKind.SENT_ITEMS, ids) if ids else []:
                if res.ok and isinstance(res.value, MailItem):
                    key = normalize_message_id(res.value.message_id)
                    if key:
                        out.add(key)
        return out

    # ------------------------------------------------------------------------------------- sending

    def send_pending(self, ctx: RunContext, st: EmailSettings, result: KindResult, *, dry_run: bool) -> None:
        if not ctx.profile.sync.send_email or not ctx.mailbox.capabilities.can_send:
            return
        pending_sends = set(self.in_flight(ctx.state))
        params = [
            (
                "$select",
                "activityid,subject,description,messageid,trackingtoken,prioritycode,_parentactivityid_value",
            ),
            (
                "$filter",
                f"statuscode eq {STATUS_PENDING_SEND} and directioncode eq true and _ownerid_value eq {st.me}",
            ),
            ("$expand", "email_activity_parties($select=participationtypemask,addressused,_partyid_value)"),
        ]
        rows = list(ctx.crm.session.iter_rows("emails", params=params, prefer=[_ANNOTATIONS]))
        for done, row in enumerate(rows, start=1):
            activity_id = str(row.get("activityid") or "").lower()
            if not activity_id or activity_id in pending_sends:
                continue  # an unresolved crashed send is never sent again blindly
            ctx.reporter.progress(KIND, done, len(rows), f"Sending: {row.get('subject') or ''}")
            if dry_run:
                ctx.planned.append(f"email: send {row.get('subject') or '(no subject)'!r} from Dynamics 365")
                continue
            self._send_one(ctx, st, row, result)

    def _party_address(self, crm: DataverseClient, party: dict[str, Any]) -> str:
        address = str(party.get("addressused") or "").strip()
        if address:
            return address
        logical = party.get("_partyid_value" + _LOOKUP_NAME)
        party_id = party.get("_partyid_value")
        if not logical or not party_id:
            return ""
        column = {"systemuser": "internalemailaddress", "queue": "emailaddress"}.get(
            str(logical), "emailaddress1"
        )
        try:
            row = crm.get(_entity_set_of(str(logical)), str(party_id), select=[column])
        except (NotFoundError, ValidationError):
            return ""
        return str(row.get(column) or "").strip()

    def build_message(self, ctx: RunContext, st: EmailSettings, row: dict[str, Any]) -> OutgoingMessage:
        """The message for a Pending Send email: parties, subject (with its tracking token), body, files."""
        crm = ctx.crm
        recipients: dict[int, list[tuple[str, str]]] = {MASK_TO: [], MASK_CC: [], MASK_BCC: []}
        for party in row.get("email_activity_parties") or []:
            mask = party.get("participationtypemask")
            if mask in recipients:
                address = self._party_address(crm, party)
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
            parent_row = self._get_email(crm, str(parent), ["messageid"])
            in_reply_to = normalize_message_id((parent_row or {}).get("messageid"))
        attachments = [
            Attachment(
                name=str(a.get("filename") or "attachment"),
                content_type=str(a.get("mimetype") or "application/octet-stream"),
                content=base64.b64decode(str(a.get("body") or "")),
                content_id=a.get("attachmentcontentid") or None,
            )
            for a in crm.query(
                "activitymimeattachments",
                select=["filename", "mimetype", "body", "attachmentcontentid"],
                filter=f"_objectid_value eq {guid(str(row['activityid']))}",
            )
        ]
        for attachment in attachments:
            attachment.size = len(attachment.content or b"")
        importance = {v: k for k, v in _IMPORTANCE.items()}.get(int(row.get("prioritycode") or 1), "normal")
        return OutgoingMessage(
            sender=(st.me_name, st.me_address),
            to=recipients[MASK_TO],
            cc=recipients[MASK_CC],
            bcc=recipients[MASK_BCC],
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
            self._send_failed(ctx, activity_id, subject, str(exc), result)
            return
        if not message.recipients():
            self._send_failed(
                ctx, activity_id, subject, "The email has no recipient with an email address.", result
            )
            return
        domain = st.me_address.rpartition("@")[2] or "d365sync.invalid"
        message.message_id = self._msgid(domain)
        self._outbox_put(ctx, activity_id, message.message_id)
        try:
            used = ctx.mailbox.send(message)
        except MailboxError as exc:
            if exc.severity <= Severity.ITEM or (exc.severity <= Severity.KIND and not exc.retriable):
                self._send_failed(ctx, activity_id, subject, exc.user_text, result)
                self._outbox_drop(ctx, activity_id)
                return
            if not exc.retriable:
                self._outbox_drop(ctx, activity_id)  # refused before anything left (auth, TLS)
            # retriable (network, throttling): whether it left is unknown; the next run looks in Sent Items
            raise
        self._mark_sent(ctx, activity_id, used or message.message_id)
        self._outbox_drop(ctx, activity_id)
        result.to_mailbox.created += 1

    def _send_failed(
        self, ctx: RunContext, activity_id: str, subject: str, reason: str, result: KindResult
    ) -> None:
        self._mark_failed(ctx, activity_id)
        result.to_mailbox.errors += 1
        result.message = result.message or f"An email could not be sent: {reason}"
        self._record(ctx, Severity.ITEM, f"{subject}: could not be sent: {reason}", activity_id)

    @staticmethod
    def _mark_sent(ctx: RunContext, activity_id: str, message_id: str) -> None:
        changes = {
            "statecode": STATE_COMPLETED,
            "statuscode": STATUS_SENT,
            "messageid": message_id[:320],
            "actualend": iso_z(ctx.now),
        }
        ctx.crm.update("emails", activity_id, changes, etag="*")

    @staticmethod
    def _mark_failed(ctx: RunContext, activity_id: str) -> None:
        ctx.crm.update(
            "emails", activity_id, {"statecode": STATE_OPEN, "statuscode": STATUS_FAILED}, etag="*"
        )

    # ------------------------------------------------------------------------------------ tracking

    def track(self, ctx: RunContext, st: EmailSettings, result: KindResult, *, dry_run: bool) -> None:
        caps = ctx.mailbox.capabilities
        cursors = _Cursors.load(ctx.state.cursor(_KIND, "mailbox"))
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
                # A message linked already is left alone (_track_item): not even read. The run after a run
                # that tracked (and stamped) thousands of messages then lists them, and reads none.
                ids = [
                    i
                    for i in dict.fromkeys(batch.created + batch.updated)
                    if i not in retry and ctx.state.link_by_mailbox(_KIND, i) is None
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
                    ctx.state.set_cursor(_KIND, "mailbox", cursors.dump())
            if not dry_run:
                cursors.retry[folder.value] = list(dict.fromkeys(failed))
                ctx.state.set_cursor(_KIND, "mailbox", cursors.dump())

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
        items.sort(key=lambda i: (_aware(i.received or i.sent) or epoch, i.id))
        outgoing = folder is FolderKind.SENT_ITEMS
        existing = lookup.existing(
            [normalize_message_id(i.message_id) or "" for i in items], outgoing=outgoing
        )
        failed: list[str] = []
        pending: list[_Pending] = []

        def flush() -> None:
            if pending:
                sending = list(pending)
                pending.clear()
                failed.extend(self._send_tracked(ctx, st, folder, sending, existing, page, result))

        page = _PageLookup(lookup, flush)
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
                self._record(ctx, exc.severity, f"{item.subject}: could not be tracked: {exc}", item.id)
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
                ctx.state.link_by_mailbox(_KIND, item.id) is not None
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
        lookup: _PageLookup,
        existing: dict[str, EmailRef],
        result: KindResult,
        *,
        dry_run: bool,
        pending: list[_Pending],
    ) -> None:
        """Decide on one message; a new tracked email joins ``pending`` (sent by the page's ``$batch``)."""
        link = ctx.state.link_by_mailbox(_KIND, item.id)
        if link is not None:
            return
        message_id = normalize_message_id(item.message_id)
        if item.props.is_linked and item.props.crmid:
            if not dry_run:  # the state DB lost it: relink through the stamped crmid
                self._link(ctx, item.props.crmid, item.id, message_id)
            return
        manual = TRACKED_CATEGORY in item.categories or item.props.crmlinkstate == LinkState.PENDING
        if item.props.crmlinkstate == LinkState.NOT_TRACKED and not manual:
            return  # the user stopped tracking it (crmlinkstate 0): never tracked again by itself
        known = existing.get(message_id) if message_id else None
        if known is not None and any(p.activity_id == known.activityid for p in pending):
            lookup.flush()  # a copy of a message decided on in this page: link only once that exists
            known = existing.get(message_id) if message_id else None
        if known is not None:
            if not dry_run:  # already in Dynamics 365 (tracked elsewhere, or our own sent email): link it
                self._link(ctx, known.activityid, item.id, message_id)
                self._stamp(ctx, st, folder, item.id, known)
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
            "prioritycode": _IMPORTANCE.get(item.importance.lower(), 1),
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
                body[bind] = f"{_entity_set_of(ref.regarding_type)}({ref.regarding_id})"
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
    ) -> _Pending:
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
        return _Pending(folder, item, activity_id, body, attachments, all_saved, ref, size)

    def _send_tracked(
        self,
        ctx: RunContext,
        st: EmailSettings,
        folder: FolderKind,
        emails: Sequence[_Pending],
        existing: dict[str, EmailRef],
        page: _PageLookup,
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
        with state.transaction():
            entries = [
                state.journal_create(
                    _KIND,
                    "crm",
                    f"{folder.value} {p.item.id}",
                    hashlib.sha256(json.dumps(p.body, sort_keys=True, default=str).encode()).hexdigest(),
                    target_id=p.activity_id,
                )
                for p in emails
            ]
        requests: list[BatchRequest] = []
        for p in emails:
            requests.append(BatchRequest("POST", "emails", body={"activityid": p.activity_id, **p.body}))
            requests.extend(BatchRequest("POST", "activitymimeattachments", body=a) for a in p.attachments)
        try:
            answers = ctx.crm.batch(requests, continue_on_error=True)
        except D365SyncError as exc:
            if isinstance(exc, ODataError) and not exc.retriable:  # a definite "no": nothing was created
                for entry in entries:
                    state.journal_done(entry.id, None)
            if exc.severity > Severity.ITEM:
                raise  # else unknown: the next run's recovery looks the rows up by their ids
            answers = []
            failure: D365SyncError | None = exc
        else:
            failure = None
        failed: list[str] = []
        created: list[_Pending] = []
        position = 0
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
                self._record(
                    ctx, reason.severity, f"{p.item.subject}: could not be tracked: {reason}", p.item.id
                )
                continue
            state.journal_done(entry.id, p.activity_id)
            self._link(ctx, p.activity_id, p.item.id, p.body.get("messageid"))
            refused = [a for a in mine[1:] if not a.ok]
            for answer in refused:
                log.info("attachment refused: %s", answer.error)
            if (refused or not p.all_saved) and p.body.get("notifications") != NOTIFY_ATTACHMENTS_NOT_SAVED:
                ctx.crm.update(
                    "emails", p.activity_id, {"notifications": NOTIFY_ATTACHMENTS_NOT_SAVED}, etag="*"
                )
            created.append(p)
        self._stamp_many(ctx, st, folder, [(p.item.id, p.ref) for p in created])
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
            row: dict[str, Any] = {
                "objectid_email@odata.bind": f"emails({activity_id})",
                "objecttypecode": "email",
                "filename": (attachment.name or "attachment")[:255],
                "mimetype": (attachment.content_type or "application/octet-stream")[:256],
                "body": base64.b64encode(data).decode("ascii"),
                "attachmentnumber": number,
            }
            if attachment.content_id:
                row["attachmentcontentid"] = attachment.content_id.strip("<>")[:200]
            rows.append(row)
        return rows, all_saved

    # -------------------------------------------------------------------------------- links, stamps

    @staticmethod
    def _link(ctx: RunContext, activity_id: str, item_id: str, message_id: str | None) -> None:
        if ctx.state.link_by_crm(_KIND, activity_id) or ctx.state.link_by_mailbox(_KIND, item_id):
            return
        try:
            ctx.state.link(_KIND, activity_id, item_id, {"messageid": message_id})
        except StateDBError as exc:  # a race with ourselves cannot happen; a duplicate link is harmless
            log.debug("email link not stored: %s", exc)

    @classmethod
    def _stamp(
        cls, ctx: RunContext, st: EmailSettings, folder: FolderKind, item_id: str, ref: EmailRef
    ) -> None:
        """crmid / crmlinkstate 2 / crmorgid on the item, like the original (POP3: state DB only)."""
        cls._stamp_many(ctx, st, folder, [(item_id, ref)])

    @staticmethod
    def _stamp_many(
        ctx: RunContext, st: EmailSettings, folder: FolderKind, stamps: Sequence[tuple[str, EmailRef]]
    ) -> None:
        """:meth:`_stamp` for many items in one call (the store sends them in batches)."""
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
                    crmregardingobjecttypecode=REGARDING_TYPE_CODES.get(ref.regarding_type or ""),
                    crmownersystemuserid=st.me,
                ),
            )
            for item_id, ref in stamps
        ]
        for (item_id, _props), answer in zip(
            updates, ctx.mailbox.set_named_props(folder, updates), strict=True
        ):
            if answer.error is not None:
                if answer.error.severity > Severity.ITEM:
                    raise answer.error
                log.info("could not stamp %s: %s", item_id, answer.error)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = ["KIND", "CrmEmails", "EmailSettings", "EmailSync", "html_description"]
