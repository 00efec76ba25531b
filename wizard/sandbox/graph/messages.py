"""Mail folders and messages: list, read, ``$value`` MIME, PATCH of the few writable fields, move, delete, and
``sendMail`` (JSON or base64 MIME) with delivery to sandbox inboxes."""

from __future__ import annotations

import base64
import binascii
import uuid
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from wizard.sandbox.graph.delta import DeltaRequests
from wizard.sandbox.graph.mime import message_from_mime, strip_bcc
from wizard.sandbox.graph.protocol import (
    MESSAGE_PATCH_FIELDS,
    GraphError,
    Reply,
    Request,
    action_parameters,
    not_found,
)
from wizard.sandbox.graph.store import (
    MAIL_COLLECTIONS,
    Mailbox,
)


class MessageRequests(DeltaRequests):
    """``/me/mailFolders/…``, ``/me/messages/…``, ``/me/sendMail``."""

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
            return self._delta(box, req, name)
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
            params = action_parameters(req.json(), "sendMail", "Message", "SaveToSentItems")
            message = params.get("Message")
            if not isinstance(message, dict):
                raise GraphError(400, "ErrorInvalidRequest", "The 'message' parameter is required.")
            save = params.get("SaveToSentItems", True) is not False
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
        transmitted = strip_bcc(raw)
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
