"""The Microsoft Graph stand-in: ``/v1.0/me/...`` for the mailbox parts the product uses, on loopback HTTPS.

What it serves, and how it answers, follows the Graph v1.0 reference: messages in the well-known mail
folders (``inbox``, ``sentitems``, ``deleteditems``) with ``$value`` MIME and ``sendMail`` (JSON or base64
MIME), personal contacts, calendar events (``/me/calendarView/delta`` for changes; recurring series with
``/instances``, exceptions and cancelled occurrences, see :mod:`.instances`), To Do tasks of the
default list with open extensions, delta rounds (``@odata.nextLink`` / ``@odata.deltaLink``, ``@removed``
rows, 410 ``SyncStateNotFound`` for a lost or damaged token), single-value extended properties (written on
create/PATCH, read with ``$expand``, found with ``$filter=singleValueExtendedProperties/Any(...)``),
``If-Match`` change keys (412 ``ErrorIrresolvableConflict``), JSON ``$batch`` (at most 20 requests; each
one can be throttled on its own) and the ``{"error": {"code", "message", "innerError"}}`` error bodies.
docs/sandbox-fidelity.md lists what is simplified.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wizard.sandbox._http import FaultPlan, SandboxHandler, SandboxServer
from wizard.sandbox.directory import Directory, DirectoryUser
from wizard.sandbox.graph import instances
from wizard.sandbox.graph.instances import PatternError
from wizard.sandbox.graph.store import (
    MAIL_COLLECTIONS,
    DeltaState,
    Entry,
    GraphData,
    Mailbox,
    TokenInvalid,
    new_change_key,
    now_iso,
)
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenRejected, TokenSigner

log = logging.getLogger(__name__)

API = "/v1.0"
MAX_BATCH = 20
DEFAULT_PAGE = 10
MAX_PAGE = 1000

CONTACT_FIELDS = frozenset(
    {
        "givenName", "surname", "displayName", "middleName", "nickName", "title", "companyName",
        "department", "jobTitle", "officeLocation", "emailAddresses", "businessPhones", "homePhones",
        "mobilePhone", "businessAddress", "homeAddress", "otherAddress", "businessHomePage", "birthday",
        "personalNotes", "categories", "fileAs", "imAddresses", "initials", "manager", "assistantName",
        "profession", "spouseName", "generation", "children",
    }
)  # fmt: skip
EVENT_FIELDS = frozenset(
    {
        "subject", "body", "start", "end", "isAllDay", "location", "locations", "attendees",
        "recurrence", "showAs", "isReminderOn", "reminderMinutesBeforeStart", "categories", "importance",
        "sensitivity", "responseRequested", "allowNewTimeProposals", "isOnlineMeeting", "transactionId",
    }
)  # fmt: skip
TASK_FIELDS = frozenset(
    {
        "title", "body", "importance", "status", "categories", "dueDateTime", "startDateTime",
        "completedDateTime", "reminderDateTime", "isReminderOn", "recurrence", "linkedResources",
    }
)  # fmt: skip
MESSAGE_PATCH_FIELDS = frozenset({"categories", "isRead", "importance", "flag", "inferenceClassification"})
TASK_STATUSES = frozenset({"notStarted", "inProgress", "completed", "waitingOnOthers", "deferred"})
SHOW_AS = frozenset({"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"})


class GraphError(Exception):
    """An error answer: status, Graph's error code and message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": str(uuid.uuid4()),
                    "client-request-id": str(uuid.uuid4()),
                },
            }
        }


@dataclass
class Reply:
    status: int
    body: Any = None  # dict (JSON), bytes (raw) or None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Request:
    method: str
    path: str  # below /v1.0, without query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        try:
            document = json.loads(self.body)
        except ValueError as exc:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from exc
        if not isinstance(document, dict):
            raise GraphError(400, "BadRequest", "The request payload must be a JSON object.")
        return document

    @property
    def prefer(self) -> str:
        return self.headers.get("prefer", "")

    def page_size(self) -> int:
        match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", self.prefer)
        if match:
            return max(1, min(int(match.group(1)), MAX_PAGE))
        if "$top" in self.query:
            return max(1, min(int(self.query["$top"]), MAX_PAGE))
        return DEFAULT_PAGE


def not_found(what: str = "The specified object was not found in the store.") -> GraphError:
    return GraphError(404, "ErrorItemNotFound", what)


# -- recipients and MIME ----------------------------------------------------------------------------


def _recipient(name: str, address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name or address, "address": address}}


def _recipients(values: list[str]) -> list[dict[str, Any]]:
    return [_recipient(n, a) for n, a in getaddresses(values) if a]


def message_from_mime(raw: bytes) -> dict[str, Any]:
    """The message resource Exchange derives from MIME on delivery (the fields the product reads)."""
    parsed = BytesParser(policy=policy.compat32).parsebytes(raw)
    headers = [(k, str(v)) for k, v in parsed.items()]
    text = html = None
    has_attachments = False
    for part in parsed.walk():
        if part.is_multipart():
            continue
        disposition = (part.get("Content-Disposition") or "").lower()
        ctype = part.get_content_type()
        if disposition.startswith("attachment") or part.get_filename():
            has_attachments = True
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        decoded = payload.decode(part.get_content_charset() or "utf-8", "replace")
        if ctype == "text/html" and html is None:
            html = decoded
        elif ctype == "text/plain" and text is None:
            text = decoded

    def header(name: str) -> str:
        from email.header import decode_header, make_header

        value = parsed.get(name)
        return str(make_header(decode_header(str(value)))) if value is not None else ""

    senders = _recipients([header("From")])
    sent = None
    if parsed.get("Date"):
        from email.utils import parsedate_to_datetime

        try:
            sent = parsedate_to_datetime(str(parsed["Date"])).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (TypeError, ValueError):
            sent = None
    body = (
        {"contentType": "html", "content": html}
        if html is not None
        else {"contentType": "text", "content": text or ""}
    )
    importance = (header("Importance") or "normal").lower()
    return {
        "subject": header("Subject"),
        "from": senders[0] if senders else None,
        "sender": senders[0] if senders else None,
        "toRecipients": _recipients([header("To")] if parsed.get("To") else []),
        "ccRecipients": _recipients([header("Cc")] if parsed.get("Cc") else []),
        "bccRecipients": _recipients([header("Bcc")] if parsed.get("Bcc") else []),
        "replyTo": _recipients([header("Reply-To")] if parsed.get("Reply-To") else []),
        "internetMessageId": str(parsed.get("Message-ID") or f"<{uuid.uuid4().hex}@sandbox.graph>").strip(),
        "conversationIndex": header("Thread-Index") or None,
        "sentDateTime": sent,
        "receivedDateTime": now_iso(),
        "isRead": False,
        "isDraft": False,
        "importance": importance if importance in ("low", "normal", "high") else "normal",
        "hasAttachments": has_attachments,
        "categories": [],
        "body": body,
        "bodyPreview": (text or re.sub(r"<[^>]+>", " ", html or ""))[:255].strip(),
        "internetMessageHeaders": [{"name": k, "value": v} for k, v in headers],
    }


def _strip_bcc(raw: bytes) -> bytes:
    """What transport hands on: the same MIME without the Bcc header."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, rest = raw.partition(b"\n\n")
    lines = re.split(rb"(\r?\n)", head)
    out: list[bytes] = []
    skipping = False
    for chunk in lines:
        if chunk in (b"\r\n", b"\n"):
            if not skipping:
                out.append(chunk)
            continue
        if chunk[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = chunk.lower().startswith(b"bcc:")
        if not skipping:
            out.append(chunk)
        elif out and out[-1] in (b"\r\n", b"\n"):
            out.pop()
    return b"".join(out) + sep + rest


# -- time windows (calendarView) --------------------------------------------------------------------


def _graph_time(value: Any) -> datetime | None:
    """A dateTimeTimeZone as an aware datetime (UTC or an IANA zone; unknown zones count as UTC)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])[:26].rstrip("Z")
    try:
        naive = datetime.fromisoformat(text[:19])
    except ValueError:
        return None
    zone_name = str(value.get("timeZone") or "UTC")
    try:
        zone: Any = UTC if zone_name.upper() in ("UTC", "Z") else ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return naive.replace(tzinfo=zone)


def _as_utc_value(value: Any) -> Any:
    moment = _graph_time(value)
    if moment is None:
        return value
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _time_window(req: Request) -> tuple[datetime, datetime]:
    """``startDateTime`` and ``endDateTime`` of a calendar view, instances or events delta request (both required)."""
    if "startDateTime" not in req.query or "endDateTime" not in req.query:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )
    return (
        _parse_when(req.query["startDateTime"], "startDateTime"),
        _parse_when(req.query["endDateTime"], "endDateTime"),
    )


def _parse_when(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter", f"The value of '{name}' is not a valid date.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the service --------------------------------------------------------------------------------------


class GraphStandIn:
    """Microsoft Graph for the sandbox directory: one mailbox per user, addressed as ``/me``."""

    def __init__(
        self,
        directory: Directory,
        *,
        tls: SandboxTLS,
        signer: TokenSigner,
        faults: FaultPlan | None = None,
        data_dir: Path | None = None,
        demo_data: bool = False,
    ) -> None:
        self.directory = directory
        self.signer = signer
        self.data = GraphData()
        #: (sender, envelope recipients, raw MIME as handed to transport)
        self.transport: list[tuple[str, list[str], bytes]] = []
        #: (organizer, attendee addresses, subject): meeting requests the service sent
        self.invitations: list[tuple[str, list[str], str]] = []
        #: (organizer, subject, original date): cancellations sent for deleted occurrences of meetings
        self.cancellations: list[tuple[str, str, str]] = []
        for user in directory.users:
            self.data.ensure_mailbox(user.oid, user.primary_email, user.full_name)
        handler = type("BoundGraphHandler", (GraphHandler,), {"standin": self})
        self.server = SandboxServer(handler, tls=tls, faults=faults)
        if data_dir is not None:
            data_dir.mkdir(
                parents=True, exist_ok=True
            )  # kept for symmetry; the stand-in keeps data in memory
        if demo_data:
            self._seed_demo()

    # -- life cycle ---------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The resource (token audience), like ``https://graph.microsoft.com``."""
        return self.server.base_url

    @property
    def url(self) -> str:
        """The service root the client is configured with, like ``https://graph.microsoft.com/v1.0``."""
        return self.server.base_url + API

    @property
    def faults(self) -> FaultPlan:
        return self.server.faults

    def start(self) -> GraphStandIn:
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server._thread is not None:
            self.server.stop()
        else:
            self.server.server_close()

    def __enter__(self) -> GraphStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test and demo helpers (mail delivery from outside) ------------------------------------------
    def mailbox(self, address: str) -> Mailbox:
        box = self.data.mailbox_by_address(address)
        if box is None:
            user = self.directory.user(address)
            box = self.data.mailboxes.get(user.oid) if user is not None else None
        if box is None:
            raise KeyError(f"no mailbox {address}")
        return box

    def deliver(self, address: str, raw: bytes) -> Entry:
        """Put a message into the Inbox as mail delivery would."""
        box = self.mailbox(address)
        return self.data.insert(box, "inbox", message_from_mime(raw), mime=raw)

    def delete_message(self, address: str, message_id: str) -> None:
        """Remove a message by Message-ID (hard delete, as another client emptying it would)."""
        box = self.mailbox(address)
        for collection in MAIL_COLLECTIONS:
            for entry in self.data.items(box, collection):
                if entry.resource.get("internetMessageId") == message_id:
                    self.data.delete(box, entry)
                    return
        raise KeyError(message_id)

    def expire_delta_tokens(self, address: str) -> None:
        self.data.expire_tokens(self.mailbox(address))

    def _seed_demo(self) -> None:
        for user in self.directory.users:
            box = self.data.mailboxes[user.oid]
            self.data.insert(
                box,
                "contacts",
                {
                    "givenName": "Bernd",
                    "surname": "Weber",
                    "displayName": "Bernd Weber",
                    "companyName": "Fabrikam",
                    "emailAddresses": [{"address": "bernd.weber@fabrikam.example", "name": "Bernd Weber"}],
                },
            )

    # -- auth --------------------------------------------------------------------------------------------
    def authenticate(self, authorization: str) -> Mailbox:
        scheme, _, token = authorization.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="", authorization_uri="", client_id=""'}
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
        try:
            claims = self.signer.verify(token.strip(), audience=self.base_url)
        except TokenRejected as exc:
            message = (
                "Lifetime validation failed, the token is expired."
                if exc.code == "ExpiredAuthTicket"
                else "Access token validation failure. Invalid audience."
                if "not valid for" in str(exc)
                else "IDX14100: JWT is not well formed."
            )
            raise GraphError(401, "InvalidAuthenticationToken", message, challenge) from exc
        box = self.data.mailboxes.get(str(claims.get("oid", "")))
        if box is None:
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        return box

    def user_of(self, box: Mailbox) -> DirectoryUser | None:
        return self.directory.user_by_oid(box.oid)

    # -- dispatch ----------------------------------------------------------------------------------------
    def dispatch(self, box: Mailbox, req: Request) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        if not parts or parts[0] != "me":
            raise GraphError(
                400, "BadRequest", f"Resource not found for the segment '{parts[0] if parts else ''}'."
            )
        rest = parts[1:]
        method = req.method
        if not rest:
            if method != "GET":
                raise GraphError(405, "Request_BadRequest", "Method not allowed.")
            user = self.user_of(box)
            return Reply(200, self._select(req, {
                "@odata.context": f"{self.url}/$metadata#users/$entity",
                "id": box.oid,
                "displayName": box.display_name,
                "mail": box.address,
                "userPrincipalName": user.upn if user else box.address,
                "givenName": user.first_name if user else "",
                "surname": user.last_name if user else "",
            }))  # fmt: skip
        head = rest[0].lower()
        if head == "sendmail" and len(rest) == 1:
            return self._send_mail(box, req)
        if head == "mailfolders" and len(rest) >= 2:
            return self._mail_folder(box, req, rest[1], rest[2:])
        if head == "messages" and len(rest) >= 2:
            return self._message(box, req, rest[1], rest[2:])
        if head == "contacts":
            return self._items(box, req, "contacts", rest[1:])
        if head == "contactfolders" and len(rest) == 4 and rest[2].lower() == "contacts":
            return self._items(box, req, "contacts", rest[3:])
        if head == "calendar":
            if len(rest) == 1:
                return Reply(
                    200,
                    {"id": box.calendar_id, "name": "Calendar", "isDefaultCalendar": True, "canEdit": True},
                )
            if rest[1].lower() == "events":
                return self._items(box, req, "events", rest[2:])
        if head == "events":
            return self._items(box, req, "events", rest[1:])
        if head == "calendarview" and rest[1:] == ["delta"]:
            return self._delta(box, req, "events", "/me/calendarView/delta")
        if head == "todo" and len(rest) >= 2 and rest[1].lower() == "lists":
            return self._todo(box, req, rest[2:])
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")

    # -- mail folders and messages ---------------------------------------------------------------------------
    def _folder_name(self, box: Mailbox, folder: str) -> str:
        lowered = folder.lower()
        if lowered in MAIL_COLLECTIONS or lowered == "msgfolderroot":
            return lowered
        for name, folder_id in box.folder_ids.items():
            if folder_id == folder:
                return name
        raise not_found("The specified folder could not be found in the store.")

    def _mail_folder(self, box: Mailbox, req: Request, folder: str, rest: list[str]) -> Reply:
        name = self._folder_name(box, folder)
        if not rest:
            if name == "msgfolderroot":
                resource: dict[str, Any] = {
                    "id": "root-" + box.oid,
                    "displayName": "Top of Information Store",
                }
                if req.method == "PATCH":
                    document = req.json()
                    box.root_ext.update(self._ext_from(document))
                elif req.method != "GET":
                    raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
                self._expand_ext(req, resource, box.root_ext)
                return Reply(200, resource)
            display = {"inbox": "Inbox", "sentitems": "Sent Items", "deleteditems": "Deleted Items"}[name]
            count = len(self.data.items(box, name))
            return Reply(200, self._select(req, {
                "id": box.folder_ids[name], "displayName": display, "parentFolderId": "root-" + box.oid,
                "childFolderCount": 0, "totalItemCount": count, "unreadItemCount": count,
            }))  # fmt: skip
        if name == "msgfolderroot" or rest[0].lower() != "messages":
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
        if rest[1:] == ["delta"]:
            return self._delta(box, req, name, f"/me/mailFolders/{folder}/messages/delta")
        if len(rest) == 1 and req.method == "GET":
            return self._list(box, req, name)
        if len(rest) >= 2:
            return self._message(box, req, rest[1], rest[2:])
        raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")

    def _message(self, box: Mailbox, req: Request, item_id: str, rest: list[str]) -> Reply:
        entry = self._entry(box, item_id, MAIL_COLLECTIONS)
        if rest == ["$value"] and req.method == "GET":
            return Reply(200, entry.mime or b"", content_type="text/plain")
        if rest:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
        if req.method == "GET":
            return Reply(200, self._render(box, entry, req))
        if req.method == "PATCH":
            self._check_if_match(req, entry)
            document = req.json()
            ext = self._ext_from(document)
            for key, value in document.items():
                if key not in MESSAGE_PATCH_FIELDS:
                    raise GraphError(400, "ErrorInvalidPropertyUpdateSentMessage" if key in entry.resource else "RequestBodyRead",
                                     f"The property '{key}' cannot be updated on a sent or received message.")  # fmt: skip
                entry.resource[key] = value
            entry.ext.update(ext)
            self.data.touch(box, entry)
            return Reply(200, self._render(box, entry, req))
        if req.method == "DELETE":
            if entry.collection == "deleteditems":
                self.data.delete(box, entry)
            else:
                self.data.move(box, entry, "deleteditems")
            return Reply(204)
        raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")

    def _send_mail(self, box: Mailbox, req: Request) -> Reply:
        if req.method != "POST":
            raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
        content_type = req.headers.get("content-type", "").lower()
        save = True
        if content_type.startswith("text/plain"):
            try:
                raw = base64.b64decode(req.body.strip(), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise GraphError(
                    400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
                ) from exc
            if not raw.strip():
                raise GraphError(400, "ErrorMimeContentInvalid", "The MIME content is empty.")
        else:
            document = req.json()
            message = document.get("message")
            if not isinstance(message, dict):
                raise GraphError(400, "ErrorInvalidRequest", "The 'message' parameter is required.")
            save = document.get("saveToSentItems", True) is not False
            raw = self._mime_from_json(box, message)
        parsed = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        recipients = [
            a
            for _, a in getaddresses([str(v) for k in ("To", "Cc", "Bcc") for v in parsed.get_all(k) or []])
            if a
        ]
        if not recipients:
            raise GraphError(
                400,
                "ErrorInvalidRecipients",
                "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
            )
        if "Message-ID" not in parsed:
            raw = f"Message-ID: <{uuid.uuid4().hex}@sandbox.graph>\r\n".encode() + raw
        if "From" not in parsed:
            raw = f"From: {box.display_name} <{box.address}>\r\n".encode() + raw
        transmitted = _strip_bcc(raw)
        self.transport.append((box.address, recipients, transmitted))
        for address in recipients:
            target = self.data.mailbox_by_address(address)
            if target is not None:
                self.data.insert(target, "inbox", message_from_mime(transmitted), mime=transmitted)
        if save:
            resource = message_from_mime(raw)
            resource["isRead"] = True
            self.data.insert(box, "sentitems", resource, mime=raw)
        return Reply(202)

    def _mime_from_json(self, box: Mailbox, message: dict[str, Any]) -> bytes:
        from email.message import EmailMessage

        def addresses(key: str) -> list[str]:
            out = []
            for r in message.get(key) or []:
                address = (r.get("emailAddress") or {}).get("address") or ""
                name = (r.get("emailAddress") or {}).get("name") or ""
                out.append(f'"{name}" <{address}>' if name else address)
            return out

        mime = EmailMessage()
        mime["From"] = f"{box.display_name} <{box.address}>"
        for key, header in (("toRecipients", "To"), ("ccRecipients", "Cc"), ("bccRecipients", "Bcc")):
            if message.get(key):
                mime[header] = ", ".join(addresses(key))
        mime["Subject"] = str(message.get("subject") or "")
        mime["Message-ID"] = str(message.get("internetMessageId") or f"<{uuid.uuid4().hex}@sandbox.graph>")
        for header in message.get("internetMessageHeaders") or []:
            name = str(header.get("name") or "")
            if not name.lower().startswith("x-"):
                raise GraphError(
                    400,
                    "InvalidInternetMessageHeader",
                    f"The internet message header name '{name}' should start with 'x-' or 'X-'.",
                )
            mime[name] = str(header.get("value") or "")
        body = message.get("body") or {}
        subtype = "html" if str(body.get("contentType", "")).lower() == "html" else "plain"
        mime.set_content(str(body.get("content") or ""), subtype=subtype)
        return mime.as_bytes(policy=policy.SMTP)

    # -- contacts, events, tasks ---------------------------------------------------------------------------
    def _items(self, box: Mailbox, req: Request, collection: str, rest: list[str], base: str = "") -> Reply:
        if rest == ["delta"]:
            if collection == "events":
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQuery",
                    "Change tracking of events is only offered on calendarView in v1.0.",
                )
            return self._delta(box, req, collection, base or "/me/contacts/delta")
        if not rest:
            if req.method == "GET":
                return self._list(box, req, collection)
            if req.method == "POST":
                return self._create(box, req, collection)
            raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
        if collection == "events":
            occurrence = self._occurrence_of(box, rest[0])
            if occurrence is not None:
                return self._occurrence(box, req, occurrence[0], occurrence[1], rest[1:])
            if rest[1:] == ["instances"]:
                if req.method != "GET":
                    raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
                return self._instances(box, req, self._entry(box, rest[0], ("events",)))
        entry = self._entry(box, rest[0], (collection,))
        if rest[1:] == ["permanentDelete"] and collection != "tasks":
            if req.method != "POST":
                raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
            self.data.delete(box, entry)
            return Reply(204)
        if len(rest) >= 2 and rest[1].lower() == "extensions" and collection == "tasks":
            return self._extension(box, req, entry, rest[2:])
        if len(rest) > 1:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[1]}'.")
        if req.method == "GET":
            return Reply(200, self._render(box, entry, req))
        if req.method == "PATCH":
            self._check_if_match(req, entry)
            document = req.json()
            ext = self._ext_from(document)
            fields = self._validated(collection, document)
            if collection == "events" and "recurrence" in fields:
                self._check_recurrence(fields["recurrence"])
                # a new recurrence regenerates the series: its exceptions and cancellations are gone
                entry.exceptions.clear()
                entry.cancelled.clear()
            entry.resource.update(fields)
            entry.ext.update(ext)
            if collection == "events":
                entry.resource["type"] = (
                    "seriesMaster" if entry.resource.get("recurrence") else "singleInstance"
                )
                if entry.resource.get("attendees"):
                    self._invite(box, entry.resource)
            self.data.touch(box, entry)
            return Reply(200, self._render(box, entry, req))
        if req.method == "DELETE":
            self.data.delete(box, entry)
            return Reply(204)
        raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")

    def _todo(self, box: Mailbox, req: Request, rest: list[str]) -> Reply:
        default = {
            "@odata.etag": 'W/"list"', "id": box.task_list_id, "displayName": "Tasks",
            "isOwner": True, "isShared": False, "wellknownListName": "defaultList",
        }  # fmt: skip
        if not rest:
            if req.method != "GET":
                raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
            return Reply(
                200,
                {"@odata.context": f"{self.url}/$metadata#users('{box.oid}')/todo/lists", "value": [default]},
            )
        if rest[0] != box.task_list_id:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if len(rest) == 1:
            return Reply(200, default)
        if rest[1] != "tasks":
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[1]}'.")
        return self._items(box, req, "tasks", rest[2:], base=f"/me/todo/lists/{box.task_list_id}/tasks/delta")

    def _extension(self, box: Mailbox, req: Request, entry: Entry, rest: list[str]) -> Reply:
        if not rest:
            if req.method == "GET":
                return Reply(
                    200, {"value": [self._render_extension(n, v) for n, v in entry.extensions.items()]}
                )
            if req.method != "POST":
                raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
            document = req.json()
            name = str(document.get("extensionName") or "")
            if "openTypeExtension" not in str(document.get("@odata.type", "")) or not name:
                raise GraphError(
                    400,
                    "InvalidRequest",
                    "An open extension needs @odata.type microsoft.graph.openTypeExtension and an extensionName.",
                )
            if name in entry.extensions:
                raise GraphError(409, "NameAlreadyExists", "An extension with this name already exists.")
            entry.extensions[name] = {
                k: v
                for k, v in document.items()
                if not k.startswith("@") and k not in ("extensionName", "id")
            }
            self.data.touch(box, entry)
            return Reply(201, self._render_extension(name, entry.extensions[name]))
        name = rest[0]
        if name not in entry.extensions:
            raise GraphError(404, "ErrorItemNotFound", f"The extension '{name}' was not found.")
        if req.method == "GET":
            return Reply(200, self._render_extension(name, entry.extensions[name]))
        if req.method == "PATCH":
            document = req.json()
            entry.extensions[name].update(
                {
                    k: v
                    for k, v in document.items()
                    if not k.startswith("@") and k not in ("extensionName", "id")
                }
            )
            self.data.touch(box, entry)
            return Reply(200, self._render_extension(name, entry.extensions[name]))
        if req.method == "DELETE":
            del entry.extensions[name]
            self.data.touch(box, entry)
            return Reply(204)
        raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")

    @staticmethod
    def _render_extension(name: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.openTypeExtension",
            "id": name,
            "extensionName": name,
            **values,
        }

    def _validated(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        allowed = {"contacts": CONTACT_FIELDS, "events": EVENT_FIELDS, "tasks": TASK_FIELDS}[collection]
        type_name = {"contacts": "contact", "events": "event", "tasks": "todoTask"}[collection]
        fields: dict[str, Any] = {}
        for key, value in document.items():
            if key.startswith("@odata") or key in ("singleValueExtendedProperties", "id"):
                continue
            if key not in allowed:
                raise GraphError(400, "RequestBodyRead",
                                 f"The property '{key}' does not exist on type 'microsoft.graph.{type_name}'. "
                                 "Make sure to only use property names that are defined by the type or mark the type as open type.")  # fmt: skip
            fields[key] = copy.deepcopy(value)
        if collection == "tasks" and "status" in fields and fields["status"] not in TASK_STATUSES:
            raise GraphError(400, "RequestBodyRead", f"Requested value '{fields['status']}' was not found.")
        if collection == "events" and "showAs" in fields and fields["showAs"] not in SHOW_AS:
            raise GraphError(400, "RequestBodyRead", f"Requested value '{fields['showAs']}' was not found.")
        for key in ("start", "end", "dueDateTime", "startDateTime", "completedDateTime"):
            if key in fields and fields[key] is not None and _graph_time(fields[key]) is None:
                raise GraphError(
                    400, "ErrorInvalidRequest", f"The value of '{key}' is not a valid dateTimeTimeZone."
                )
        return fields

    def _create(self, box: Mailbox, req: Request, collection: str) -> Reply:
        document = req.json()
        ext = self._ext_from(document)
        fields = self._validated(collection, document)
        if collection == "events":
            if not fields.get("start") or not fields.get("end"):
                raise GraphError(
                    400,
                    "ErrorInvalidRequest",
                    "Your request can't be completed. An event needs a start and an end.",
                )
            user = self.user_of(box)
            fields["organizer"] = _recipient(user.full_name if user else box.display_name, box.address)
            fields["iCalUId"] = "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()
            self._check_recurrence(fields.get("recurrence"))
            fields["type"] = "seriesMaster" if fields.get("recurrence") else "singleInstance"
            fields.setdefault("isCancelled", False)
            fields["isOrganizer"] = True
            if fields.get("attendees"):
                self._invite(box, fields)
        if collection == "tasks":
            fields.setdefault("status", "notStarted")
            fields.setdefault("importance", "normal")
        entry = self.data.insert(box, collection, fields, ext=ext)
        return Reply(201, self._render(box, entry, req))

    def _invite(self, box: Mailbox, event: dict[str, Any]) -> None:
        """What Exchange does for an event with attendees: meeting requests go out at once."""
        addresses = [
            str((a.get("emailAddress") or {}).get("address") or "") for a in event.get("attendees") or []
        ]
        addresses = [a for a in addresses if a]
        self.invitations.append((box.address, addresses, str(event.get("subject") or "")))
        for address in addresses:
            target = self.data.mailbox_by_address(address)
            if target is not None:
                raw = (f"From: {box.display_name} <{box.address}>\r\nTo: {address}\r\n"
                       f"Subject: {event.get('subject') or ''}\r\nMessage-ID: <{uuid.uuid4().hex}@sandbox.graph>\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n\r\nMeeting request\r\n").encode()  # fmt: skip
                self.data.insert(target, "inbox", message_from_mime(raw), mime=raw)

    # -- recurring series -----------------------------------------------------------------------------------
    @staticmethod
    def _check_recurrence(value: Any) -> None:
        try:
            instances.validate(value)
        except (PatternError, TypeError, ValueError) as exc:
            raise GraphError(400, "ErrorInvalidRequest", f"The recurrence is not valid: {exc}") from exc

    def _occurrence_of(self, box: Mailbox, item_id: str) -> tuple[Entry, date] | None:
        """(master, original date) for an instance id; None for ids that are not instance ids."""
        if self.data.get(box, item_id, ("events",)) is not None:
            return None
        parsed = instances.parse_occurrence_id(item_id)
        if parsed is None:
            return None
        master = self.data.get(box, parsed[0], ("events",))
        if master is None or not master.resource.get("recurrence"):
            raise not_found()
        day = parsed[1]
        if day.isoformat() in master.cancelled or day not in instances.pattern_dates(
            master.resource["recurrence"], until=day
        ):
            raise not_found()
        return master, day

    def _instance_entry(self, master: Entry, day: date) -> Entry:
        """The instance on ``day`` as an entry of its own (never stored): the master's values, the pattern's
        times, then the exception's own values."""
        resource = copy.deepcopy(master.resource)
        start = _graph_time(resource.get("start"))
        end = _graph_time(resource.get("end"))
        assert start is not None and end is not None
        begin, finish = instances.occurrence_times(resource, day, start, end)
        zone_name = str((resource.get("start") or {}).get("timeZone") or "UTC")
        zone = instances.zone_of(zone_name)
        exception = master.exceptions.get(day.isoformat())
        resource.update(
            {
                "recurrence": None,
                "type": "exception" if exception else "occurrence",
                "seriesMasterId": master.id,
                "originalStart": begin.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "originalStartTimeZone": zone_name,
                "start": {"dateTime": begin.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name},
                "end": {"dateTime": finish.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name},
            }
        )  # fmt: skip
        change_key = master.change_key
        if exception:
            resource.update(copy.deepcopy(exception["fields"]))
            change_key = str(exception["changeKey"])
        return Entry(
            id=instances.occurrence_id(master.id, day),
            collection="events",
            resource=resource,
            seq=master.seq,
            change_key=change_key,
            ext=master.ext,
            created=master.created,
            modified=master.modified,
        )

    def _instance_entries(self, master: Entry, lo: datetime, hi: datetime) -> list[Entry]:
        """Occurrences and exceptions of a series that overlap ``[lo, hi)``, by start; cancelled ones are absent."""
        out: list[tuple[datetime, Entry]] = []
        first = _graph_time(master.resource.get("start"))
        last = _graph_time(master.resource.get("end"))
        if first is None or last is None:
            return []
        for day in instances.pattern_dates(master.resource["recurrence"]):
            if day.isoformat() in master.cancelled:
                continue
            if day.isoformat() not in master.exceptions:  # cheap test first: most dates are plain occurrences
                begin, finish = instances.occurrence_times(master.resource, day, first, last)
                if not (begin < hi and finish > lo):
                    continue
            instance = self._instance_entry(master, day)
            start = _graph_time(instance.resource.get("start"))
            end = _graph_time(instance.resource.get("end"))
            if start is not None and end is not None and start < hi and end > lo:
                out.append((start, instance))
        out.sort(key=lambda pair: pair[0])
        return [instance for _, instance in out]

    def _instances(self, box: Mailbox, req: Request, master: Entry) -> Reply:
        """``GET /me/events/{id}/instances?startDateTime=&endDateTime=``: the series' instances in the window."""
        lo, hi = _time_window(req)
        if not master.resource.get("recurrence"):
            return Reply(200, {"value": []})
        return self._paged(box, req, self._instance_entries(master, lo, hi))

    def _occurrence(self, box: Mailbox, req: Request, master: Entry, day: date, rest: list[str]) -> Reply:
        """GET / PATCH / DELETE one instance: a PATCH makes it an exception, a DELETE cancels it."""
        if rest:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
        instance = self._instance_entry(master, day)
        if req.method == "GET":
            return Reply(200, self._render(box, instance, req))
        meeting = bool(master.resource.get("attendees"))
        if req.method == "PATCH":
            self._check_if_match(req, instance)
            document = req.json()
            self._ext_from(document)  # extended properties live on the master; an instance's are ignored
            fields = self._validated("events", document)
            if "recurrence" in fields:
                raise GraphError(
                    400,
                    "ErrorInvalidRequest",
                    "The recurrence of an occurrence or exception cannot be changed.",
                )
            exception = master.exceptions.setdefault(day.isoformat(), {"fields": {}, "changeKey": ""})
            exception["fields"].update(fields)
            exception["changeKey"] = new_change_key()
            if meeting or fields.get("attendees"):
                self._invite(box, {**master.resource, **exception["fields"]})
            self.data.touch(box, master)  # the exception is stored in the master
            return Reply(200, self._render(box, self._instance_entry(master, day), req))
        if req.method == "DELETE":
            master.exceptions.pop(day.isoformat(), None)
            master.cancelled.add(day.isoformat())
            if meeting:
                self.cancellations.append(
                    (box.address, str(master.resource.get("subject") or ""), day.isoformat())
                )
            self.data.touch(box, master)
            self.data.removed(box, "events", instance.id)
            return Reply(204)
        raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")

    # -- reading --------------------------------------------------------------------------------------------
    def _entry(self, box: Mailbox, item_id: str, collections: tuple[str, ...]) -> Entry:
        if not re.fullmatch(r"[A-Za-z0-9_\-=+/]+", item_id):
            raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        entry = self.data.get(box, item_id, collections)
        if entry is None:
            raise not_found()
        return entry

    def _check_if_match(self, req: Request, entry: Entry) -> None:
        wanted = req.headers.get("if-match")
        if (
            wanted
            and wanted != "*"
            and wanted.strip() not in (entry.etag, f'"{entry.change_key}"', entry.change_key)
        ):
            raise GraphError(
                412,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key passed in the "
                "request does not match the current change key for the item.",
            )

    @staticmethod
    def _ext_from(document: dict[str, Any]) -> dict[str, str]:
        values = document.pop("singleValueExtendedProperties", None) or []
        if not isinstance(values, list):
            raise GraphError(400, "RequestBodyRead", "singleValueExtendedProperties must be a collection.")
        out: dict[str, str] = {}
        for value in values:
            prop_id = str((value or {}).get("id") or "")
            if not re.match(r"^\w+ (\{[0-9A-Fa-f-]{36}\} Name \S+|0x[0-9A-Fa-f]{4})$", prop_id):
                raise GraphError(400, "ErrorInvalidExtendedPropertyValue" if prop_id else "RequestBodyRead",
                                 f"The extended property id '{prop_id}' is not valid.")  # fmt: skip
            out[_ext_key(prop_id)] = str(value.get("value") if value.get("value") is not None else "")
        return out

    def _expand_ext(self, req: Request, resource: dict[str, Any], ext: dict[str, str]) -> None:
        for name, inner in _expand_items(req.query.get("$expand", "")):
            if name.lower() == "singlevalueextendedproperties":
                wanted = (
                    [i for i in re.findall(r"id eq '([^']*)'", inner, flags=re.IGNORECASE)] if inner else None
                )
                resource["singleValueExtendedProperties"] = [
                    {"id": _display_ext_id(key), "value": value}
                    for key, value in ext.items()
                    if wanted is None or key in {_ext_key(w) for w in wanted}
                ]

    def _render(
        self, box: Mailbox, entry: Entry, req: Request, *, select: str | None = None
    ) -> dict[str, Any]:
        resource = copy.deepcopy(entry.resource)
        out: dict[str, Any] = {"@odata.etag": entry.etag, "id": entry.id}
        out["createdDateTime"] = entry.created
        out["lastModifiedDateTime"] = entry.modified
        if entry.collection != "tasks":
            out["changeKey"] = entry.change_key
        if entry.collection in MAIL_COLLECTIONS:
            out["parentFolderId"] = box.folder_ids[entry.collection]
        elif entry.collection == "contacts":
            out["parentFolderId"] = "contacts-" + box.oid
        out.update(resource)
        prefer = req.prefer
        if entry.collection == "events" and re.search(r'outlook\.timezone="?UTC', prefer, re.IGNORECASE):
            for key in ("start", "end"):
                if key in out:
                    out[key] = _as_utc_value(out[key])
        if "body" in out and isinstance(out["body"], dict):
            wants_text = re.search(r'outlook\.body-content-type="?text', prefer, re.IGNORECASE)
            if wants_text and out["body"].get("contentType") == "html":
                out["body"] = {
                    "contentType": "text",
                    "content": re.sub(r"<[^>]+>", "", out["body"].get("content") or ""),
                }
        if (
            "internetMessageHeaders" in out
            and "internetmessageheaders" not in (select or req.query.get("$select", "")).lower()
        ):
            del out["internetMessageHeaders"]  # only returned when $select asks for it
        self._expand_ext(req, out, entry.ext)
        for name, _ in _expand_items(req.query.get("$expand", "")):
            if name.lower() == "extensions":
                out["extensions"] = [self._render_extension(n, v) for n, v in entry.extensions.items()]
        return self._select(req, out, select)

    @staticmethod
    def _select(req: Request, resource: dict[str, Any], select: str | None = None) -> dict[str, Any]:
        chosen = select if select is not None else req.query.get("$select", "")
        if not chosen:
            return resource
        keep = {s.strip().lower() for s in chosen.split(",") if s.strip()} | {"id", "@odata.etag"}
        keep |= {"singlevalueextendedproperties", "extensions", "@removed", "@odata.type"}
        return {k: v for k, v in resource.items() if k.lower() in keep}

    def _list(self, box: Mailbox, req: Request, collection: str) -> Reply:
        entries = self.data.items(box, collection)
        raw_filter = req.query.get("$filter", "").strip()
        if raw_filter:
            match = re.fullmatch(
                r"singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id eq '([^']*)' and \1/value eq '((?:[^']|'')*)'\s*\)",
                raw_filter,
                flags=re.IGNORECASE,
            )
            if match is None:
                raise GraphError(
                    400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
                )
            key, value = _ext_key(match.group(2)), match.group(3).replace("''", "'")
            entries = [e for e in entries if e.ext.get(key) == value]
        return self._paged(box, req, entries)

    def _paged(self, box: Mailbox, req: Request, entries: list[Entry]) -> Reply:
        """One page of rendered entries, ``@odata.nextLink`` with ``$skip`` while more follow."""
        size = req.page_size()
        skip = int(req.query.get("$skip", "0") or 0)
        page = entries[skip : skip + size]
        document: dict[str, Any] = {"value": [self._render(box, e, req) for e in page]}
        if skip + size < len(entries):
            query = {k: v for k, v in req.query.items() if k != "$skip"}
            query["$skip"] = str(skip + size)
            document["@odata.nextLink"] = (
                self.base_url
                + API
                + req.path
                + "?"
                + "&".join(f"{k}={quote(v, safe=',()$')}" for k, v in query.items())
            )
        return Reply(200, document)

    # -- delta -----------------------------------------------------------------------------------------------
    def _delta(self, box: Mailbox, req: Request, collection: str, link_path: str) -> Reply:
        token = req.query.get("$deltatoken") or req.query.get("$skiptoken")
        try:
            if token:
                state = self.data.decode_token(token, box, collection)
            else:
                window = None
                if collection == "events":
                    start, end = _time_window(req)
                    window = (start.isoformat(), end.isoformat())
                state = DeltaState(
                    box.oid, collection, 0, None, 0, box.generation, window, req.query.get("$select", "")
                )
        except TokenInvalid as exc:
            raise GraphError(410, "SyncStateNotFound",
                             "The sync state generation is not found. The delta token is expired and data must be synchronized again.") from exc  # fmt: skip
        in_window = None
        if state.window is not None:
            lo, hi = (datetime.fromisoformat(w) for w in state.window)

            def in_window(entry: Entry) -> bool:
                start = _graph_time(entry.resource.get("start"))
                end = _graph_time(entry.resource.get("end"))
                if start is None or end is None:
                    return False
                recurrence = entry.resource.get("recurrence")
                if recurrence:
                    rng = recurrence.get("range") or {}
                    end = datetime.max.replace(tzinfo=UTC)
                    if rng.get("type") == "endDate" and rng.get("endDate"):
                        end = datetime.fromisoformat(str(rng["endDate"])).replace(tzinfo=UTC) + timedelta(
                            days=1
                        )
                return start < hi and end > lo

        rows, nxt, closing = self.data.delta_page(box, state, req.page_size(), in_window)
        values: list[dict[str, Any]] = []
        for item_id, entry in rows:
            if entry is None:
                values.append(
                    {"@odata.type": _odata_type(collection), "id": item_id, "@removed": {"reason": "deleted"}}
                )
                continue
            if collection == "events" and entry.resource.get("recurrence"):
                # calendarView lists a series' occurrences and exceptions in the window, never the master;
                # a change to the series (master, exception, cancellation) lists them all again
                assert state.window is not None
                lo, hi = (datetime.fromisoformat(w) for w in state.window)
                for instance in self._instance_entries(entry, lo, hi):
                    row = self._render(box, instance, req, select=state.select)
                    row["@odata.type"] = _odata_type(collection)
                    values.append(row)
                continue
            rendered = self._render(box, entry, req, select=state.select)
            rendered["@odata.type"] = _odata_type(collection)
            values.append(rendered)
        document: dict[str, Any] = {
            "@odata.context": f"{self.url}/$metadata#Collection({_odata_type(collection)[1:]})",
            "value": values,
        }
        base = self.base_url + API + link_path
        if nxt is not None:
            document["@odata.nextLink"] = f"{base}?$skiptoken={self.data.encode_token(nxt)}"
        else:
            document["@odata.deltaLink"] = f"{base}?$deltatoken={self.data.encode_token(closing)}"
        return Reply(200, document)

    # -- $batch ------------------------------------------------------------------------------------------------
    def batch(self, handler: GraphHandler, authorization: str, body: bytes) -> Reply:
        req = Request("POST", "/$batch", {}, {}, body)
        document = req.json()
        requests = document.get("requests")
        if not isinstance(requests, list) or not requests:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > MAX_BATCH:
            raise GraphError(
                400, "BadRequest", f"The number of requests in the batch exceeds the limit of {MAX_BATCH}."
            )
        ids = [str(r.get("id", "")) for r in requests if isinstance(r, dict)]
        if len(ids) != len(requests) or any(not i for i in ids) or len({i.lower() for i in ids}) != len(ids):
            raise GraphError(400, "BadRequest", "Batch request ids must be present and unique.")
        responses = []
        for sub in requests:
            responses.append(self._batch_one(handler, authorization, sub))
        return Reply(200, {"responses": responses})

    def _batch_one(self, handler: GraphHandler, authorization: str, sub: dict[str, Any]) -> dict[str, Any]:
        url = str(sub.get("url") or "")
        method = str(sub.get("method") or "").upper()
        headers = {str(k).lower(): str(v) for k, v in (sub.get("headers") or {}).items()}
        body = sub.get("body")
        raw: bytes = b""
        if body is not None:
            if "content-type" not in headers:
                return _sub_reply(
                    sub,
                    Reply(
                        400,
                        GraphError(
                            400, "BadRequest", "Content-Type header is required when a body is given."
                        ).body(),
                    ),
                )
            raw = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        for fault in handler.server.faults.pick(API + url):
            if fault.kind == "latency":
                time.sleep(fault.seconds)
            elif fault.kind == "throttle":
                error = _throttled(fault.seconds)
                return _sub_reply(sub, Reply(429, error.body(), error.headers))
            elif fault.kind in ("error", "drop"):
                status = fault.status if fault.kind == "error" else 503
                return _sub_reply(
                    sub,
                    Reply(status, GraphError(status, "serviceNotAvailable", "Service unavailable.").body()),
                )
        try:
            box = self.authenticate(authorization)
            if not url.startswith("/") or method not in ("GET", "POST", "PATCH", "DELETE", "PUT"):
                raise GraphError(400, "BadRequest", "Invalid request in batch.")
            reply = self.dispatch(box, _request(method, url, headers, raw))
        except GraphError as exc:
            reply = Reply(exc.status, exc.body(), exc.headers)
        return _sub_reply(sub, reply)


def _sub_reply(sub: dict[str, Any], reply: Reply) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(sub.get("id")), "status": reply.status, "headers": dict(reply.headers)}
    if isinstance(reply.body, bytes):
        out["headers"]["Content-Type"] = reply.content_type
        out["body"] = base64.b64encode(reply.body).decode("ascii")
    elif reply.body is not None:
        out["headers"]["Content-Type"] = "application/json; odata.metadata=minimal; odata.streaming=true"
        out["body"] = reply.body
    return out


def _throttled(seconds: float) -> GraphError:
    return GraphError(
        429,
        "TooManyRequests",
        "Application is over its MailboxConcurrency limit.",
        {"Retry-After": str(max(0, round(seconds)))},
    )


def _odata_type(collection: str) -> str:
    return {
        "contacts": "#microsoft.graph.contact",
        "events": "#microsoft.graph.event",
        "tasks": "#microsoft.graph.todoTask",
    }.get(collection, "#microsoft.graph.message")


def _ext_key(prop_id: str) -> str:
    """Extended property ids compare case-insensitively except the name part (GUIDs upper-case)."""
    kind, _, rest = prop_id.strip().partition(" ")
    match = re.match(r"^\{([0-9A-Fa-f-]{36})\} Name (\S+)$", rest)
    if match:
        return f"{kind.lower()} {{{match.group(1).upper()}}} Name {match.group(2)}"
    return f"{kind.lower()} {rest.lower()}"


def _display_ext_id(key: str) -> str:
    kind, _, rest = key.partition(" ")
    return f"{kind.capitalize()} {rest}"


def _expand_items(expand: str) -> list[tuple[str, str]]:
    """``a,b($filter=x)`` -> [("a", ""), ("b", "$filter=x")], splitting only at top-level commas."""
    items: list[tuple[str, str]] = []
    depth, current = 0, ""
    for char in expand + ",":
        if char == "," and depth == 0:
            text = current.strip()
            if text:
                name, _, inner = text.partition("(")
                items.append((name.strip(), inner[:-1] if inner.endswith(")") else inner))
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    return items


def _request(method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
    parts = urlsplit(target)
    path = parts.path
    if path.startswith(API + "/") or path == API:
        path = path[len(API) :]
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return Request(method, path, query, headers, body)


class GraphHandler(SandboxHandler):
    standin: ClassVar[GraphStandIn]

    def send_throttled(self, retry_after: float) -> None:
        error = _throttled(retry_after)
        self.send_json(429, error.body(), error.headers)

    def send_failure(self, status: int) -> None:
        self.send_json(status, GraphError(status, "serviceNotAvailable", "Service unavailable.").body())

    def route(self, method: str, body: bytes) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        authorization = headers.get("authorization", "")
        try:
            parts = urlsplit(self.path)
            if not parts.path.startswith(API + "/"):
                raise GraphError(400, "BadRequest", "Invalid version.")
            if parts.path == API + "/$batch":
                if method != "POST":
                    raise GraphError(405, "BadRequest", "Method not allowed.")
                self.standin.authenticate(authorization)
                reply = self.standin.batch(self, authorization, body)
            else:
                box = self.standin.authenticate(authorization)
                reply = self.standin.dispatch(box, _request(method, self.path, headers, body))
        except GraphError as exc:
            self.send_json(exc.status, exc.body(), exc.headers)
            return
        except Exception:  # a bug in the stand-in: answer like the service would, and log it
            log.exception("Graph stand-in failed on %s %s", method, self.path.split("?")[0])
            self.send_json(
                500, GraphError(500, "InternalServerError", "An internal server error occurred.").body()
            )
            return
        if isinstance(reply.body, bytes):
            self.send_bytes(reply.status, reply.body, reply.content_type, reply.headers)
        elif reply.body is None:
            self.send_bytes(reply.status, b"", "application/json", reply.headers)
        else:
            self.send_json(reply.status, reply.body, reply.headers)
