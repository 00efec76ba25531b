"""Recipients and MIME: a message resource read from RFC 5322 bytes, and Bcc stripped before transport."""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from wizard.sandbox.graph.store import (
    now_iso,
)

# -- recipients and MIME ----------------------------------------------------------------------------


def recipient(name: str, address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name or address, "address": address}}


def recipients(values: list[str]) -> list[dict[str, Any]]:
    return [recipient(n, a) for n, a in getaddresses(values) if a]


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

    senders = recipients([header("From")])
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
        "toRecipients": recipients([header("To")] if parsed.get("To") else []),
        "ccRecipients": recipients([header("Cc")] if parsed.get("Cc") else []),
        "bccRecipients": recipients([header("Bcc")] if parsed.get("Bcc") else []),
        "replyTo": recipients([header("Reply-To")] if parsed.get("Reply-To") else []),
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


def strip_bcc(raw: bytes) -> bytes:
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
