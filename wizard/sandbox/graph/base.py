"""What every part of the Graph stand-in shares: its state (mailboxes, transport, invitations), life cycle,
sign-in, test and demo helpers, and reading (lookup, If-Match, $select, $expand, paging, rendering)."""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

from wizard.sandbox._http import FaultPlan, SandboxServer
from wizard.sandbox.directory import Directory, DirectoryUser
from wizard.sandbox.graph.filters import compile_filter, filter_view
from wizard.sandbox.graph.handler import GraphHandler
from wizard.sandbox.graph.mime import message_from_mime
from wizard.sandbox.graph.protocol import (
    API,
    CONTACT_FIELDS,
    EVENT_FIELDS,
    SHOW_AS,
    TASK_FIELDS,
    TASK_STATUSES,
    GraphError,
    Reply,
    Request,
    display_ext_id,
    expand_items,
    ext_key,
    not_found,
)
from wizard.sandbox.graph.store import (
    MAIL_COLLECTIONS,
    Entry,
    GraphData,
    Mailbox,
)
from wizard.sandbox.graph.times import check_zone, graph_time, preferred_zone, render_time
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenRejected, TokenSigner


class ServiceBase:
    """The stand-in's state, life cycle, sign-in, test helpers, and how every family reads and renders items."""

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

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
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
            out[ext_key(prop_id)] = str(value.get("value") if value.get("value") is not None else "")
        return out

    def _expand_ext(self, req: Request, resource: dict[str, Any], ext: dict[str, str]) -> None:
        for name, inner in expand_items(req.query.get("$expand", "")):
            if name.lower() == "singlevalueextendedproperties":
                wanted = (
                    [i for i in re.findall(r"id eq '([^']*)'", inner, flags=re.IGNORECASE)] if inner else None
                )
                resource["singleValueExtendedProperties"] = [
                    {"id": display_ext_id(key), "value": value}
                    for key, value in ext.items()
                    if wanted is None or key in {ext_key(w) for w in wanted}
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
        if entry.collection == "events":
            # "If the Prefer: outlook.timezone header is not specified, the start and end times are returned in UTC"
            preferred = preferred_zone(req)
            name, zone = preferred or ("UTC", UTC)
            for key in ("start", "end"):
                if key in out:
                    out[key] = render_time(out[key], zone, name, all_day=bool(out.get("isAllDay")))
            if preferred is not None:
                req.applied.append(f'outlook.timezone="{name}"')
        if "body" in out and isinstance(out["body"], dict):
            wants_text = re.search(r'outlook\.body-content-type="?text', prefer, re.IGNORECASE)
            if wants_text:
                req.applied.append('outlook.body-content-type="text"')
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
        for name, _ in expand_items(req.query.get("$expand", "")):
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
            family = "messages" if collection in MAIL_COLLECTIONS else collection
            wanted = compile_filter(raw_filter, family)
            entries = [e for e in entries if wanted(filter_view(e))]
        return self._paged(box, req, entries)

    def _paged(self, box: Mailbox, req: Request, entries: list[Entry]) -> Reply:
        """One page of rendered entries, ``@odata.nextLink`` with ``$skip`` while more follow."""
        size = req.page_size()
        skip = req.int_option("$skip", 0)
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

    # -- shared by contacts, events and tasks ---------------------------------------------------------
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
            if key in fields and fields[key] is not None and graph_time(fields[key]) is None:
                raise GraphError(
                    400, "ErrorInvalidRequest", f"The value of '{key}' is not a valid dateTimeTimeZone."
                )
            if key in fields and fields[key] is not None:
                check_zone(fields[key])
        return fields

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
