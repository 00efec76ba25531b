"""Real-world mail in and out: RFC 5322 bytes to :class:`MailItem`, and :class:`OutgoingMessage` to MIME.

Incoming mail is whatever other people's software produced, so parsing never gives up on a message that
has anything readable: wrong or unknown charsets are guessed (UTF-8 first, then Windows-1252, replacement
characters as the last resort), broken MIME structure and header garbage are recorded in
``MailItem.defects`` and the readable rest is kept. Only input with nothing to read (empty bytes) raises
:class:`MalformedMessage`.

TNEF (``winmail.dat``) is kept as an ordinary attachment; it is not decoded.

Duplicated header fields: the first occurrence wins, everywhere (``MailItem.header`` reads the same way).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from typing import TypeVar

from wizard.mailbox.base import (
    Address,
    Attachment,
    FolderKind,
    MailItem,
    MalformedMessage,
    OutgoingMessage,
)

_T = TypeVar("_T")
_D = TypeVar("_D")

#: Domain of synthetic Message-IDs (``.invalid`` is reserved: it can never collide with a real one).
SYNTHETIC_DOMAIN = "synthetic.d365sync.invalid"

_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "x-sjis": "shift_jis",
    "gb2312": "gbk",  # mailers label GBK text as GB2312 all the time
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
    "ansi_x3.4-1968": "ascii",
}
#: Single-byte charsets that accept any byte: text declared as one of these but valid UTF-8 is UTF-8.
_PERMISSIVE = {"iso8859_1", "latin_1", "iso8859_15", "cp1252", "iso8859_2", "cp1250", "ascii"}
_NOT_CHARSETS = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
_FOLD = re.compile(r"\r?\n[ \t]+")
_MSGID = re.compile(r"<[^<>\s]+>")
_BOUNDARY_LINE = re.compile(r"^--([0-9A-Za-z'()+_,./:=?-]{1,70}?)[ \t]*\r?$", re.MULTILINE)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_PART_TYPES_WITH_BODY = ("text/plain", "text/html")
#: RFC 5322 allows each of these once; when a mailer repeats one, the first occurrence wins
_SINGLETON_HEADERS = (
    "subject",
    "from",
    "sender",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "date",
    "message-id",
    "in-reply-to",
    "references",
)


# --------------------------------------------------------------------------------------------------
# Decoding helpers


def _codec(charset: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None when unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    if not label.isascii() or not label.isprintable() or len(label) > 40:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    name = info.name.replace("-", "_")
    # Python also has codecs that are no charsets (rot13, base64, unicode_escape, idna): refuse them.
    if not getattr(info, "_is_text_encoding", True) or name in _NOT_CHARSETS:
        return None
    return name


def decode_bytes(data: bytes, charset: str | None, defects: list[str] | None = None) -> str:
    """Decode text whose declared charset may be missing, unknown or wrong; never raises.

    Order: valid UTF-8 wins over a permissive single-byte declaration (the commonest lie in mail),
    then the declared charset, then UTF-8, then Windows-1252 with replacement characters.
    """
    notes = defects if defects is not None else []
    codec = _codec(charset)
    is_ascii = data.isascii()
    if charset and codec is None:
        notes.append(f"unknown charset {charset.strip()!r}")
    if not is_ascii and (codec is None or codec in _PERMISSIVE):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if codec not in (None, "ascii") or not charset:
                notes.append(
                    f"declared {charset.strip()!r} but the text is UTF-8"
                    if charset and codec not in (None, "ascii")
                    else "undeclared 8-bit text read as UTF-8"
                )
            elif codec == "ascii":
                notes.append("declared US-ASCII but the text is UTF-8")
            return text
    if codec is not None and not (codec == "ascii" and not is_ascii):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            notes.append(f"text is not valid {charset!r}; undecodable bytes replaced")
            return data.decode(codec, errors="replace")
        except LookupError:  # a codec that exists but cannot decode (rare)
            pass
    if is_ascii:
        return data.decode("ascii")
    if codec == "ascii" or not charset:
        notes.append("undeclared 8-bit text read as Windows-1252")
    return data.decode("cp1252", errors="replace")


def _unescape_8bit(value: str) -> str:
    """Headers with raw 8-bit bytes arrive as surrogate escapes; decode them like a body."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("ascii", errors="surrogateescape")
    return decode_bytes(data, None)


def decode_header_text(value: str, defects: list[str] | None = None) -> str:
    """An unstructured header value (RFC 2047 encoded words, any charset) as plain text; never raises."""
    value = _FOLD.sub(" ", _unescape_8bit(value)).replace("\r", "").replace("\n", "")
    if "=?" not in value:
        return value.strip()
    try:
        chunks = decode_header(value)
    except Exception:  # a malformed encoded word: keep it as it is
        if defects is not None:
            defects.append("malformed encoded word in header")
        return value.strip()
    parts: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
        else:
            parts.append(decode_bytes(chunk, charset or "ascii", defects))
    return "".join(parts).strip()


def parse_addresses(value: str, defects: list[str] | None = None) -> list[Address]:
    """(name, address) pairs from an address header; undecodable parts are kept as text, never raises.

    The raw value is split before decoding encoded words, so a comma inside an encoded display name
    ("=?utf-8?q?M=C3=BCller=2C_Hans?=") never splits one address into two.
    """
    value = _FOLD.sub(" ", _unescape_8bit(value))
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    out: list[Address] = []
    for name, addr in pairs:
        addr = addr.strip()
        if not addr:
            continue
        if "@" not in addr:
            if defects is not None:
                defects.append(f"not an email address: {addr[:80]!r}")
            continue
        out.append((decode_header_text(name, defects), addr))
    if not out and value.strip() and defects is not None:
        defects.append(f"unreadable address header {value.strip()[:80]!r}")
    return out


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    """(header section, rest) at the first empty line, whatever the line ends."""
    match = re.search(rb"\r?\n\r?\n", raw)
    if match is None:
        return raw, b""
    return raw[: match.start()], raw[match.start() :]


def synthetic_message_id(raw: bytes, *, partial_key: str | None = None) -> str:
    """A stable Message-ID for a message that has none.

    Derived from the whole message (line ends normalized), so two messages with identical headers and
    different bodies (a resent digest, a form letter) get two ids. Where only part of the message is at hand
    (POP3 TOP of a message over the size limit), from the header section and ``partial_key``, the server's
    own id of the message (the UIDL), which tells such messages apart instead.
    """
    if partial_key is None:
        content = raw.replace(b"\r\n", b"\n").strip()
    else:
        head, _ = _split_head(raw)
        content = head.replace(b"\r\n", b"\n").strip() + b"\0uidl:" + partial_key.encode("utf-8", "replace")
    digest = hashlib.sha256(content).hexdigest()[:40]
    return f"<{digest}@{SYNTHETIC_DOMAIN}>"


def server_message_id(value: object) -> str | None:
    """The server's InternetMessageId (EWS, Graph) as a Message-ID, if it gave a usable one."""
    return _first_msgid(value) if isinstance(value, str) and value.strip() else None


def _drop_header_garbage(raw: bytes, defects: list[str]) -> bytes:
    """Remove lines in the header section that are neither fields nor continuations.

    Without this, one junk line ends the header section and every field after it becomes body text.
    """
    head, rest = _split_head(raw)
    if not rest:  # no empty line at all: nothing tells header garbage from body text
        return raw
    lines = head.splitlines(keepends=True)
    kept: list[bytes] = []
    dropped = 0
    for number, line in enumerate(lines):
        if number == 0 and line.startswith(b"From "):  # mbox separator line
            continue
        if _HEADER_LINE.match(line) or (line[:1] in (b" ", b"\t") and kept):
            kept.append(line)
        else:
            dropped += 1
    if not dropped or not kept:
        return raw
    defects.append(f"{dropped} unreadable line(s) in the header section dropped")
    return b"".join(kept).rstrip(b"\r\n") + rest


def _parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        defects.append(f"unreadable date {value.strip()[:60]!r}")
        return None
    if when.tzinfo is None:
        defects.append("date without time zone, taken as UTC")
        when = when.replace(tzinfo=UTC)
    return when


def _first_msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.findall(value)
    if found:
        return str(found[0])
    token = value.strip().split()
    return f"<{token[0].strip('<>')}>" if token else None


# --------------------------------------------------------------------------------------------------
# Parsing


class _Collector:
    """Walks the MIME tree once, collecting bodies and attachments."""

    def __init__(self, defects: list[str], keep_attachments: bool) -> None:
        self.defects = defects
        self.keep_attachments = keep_attachments
        self.text: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.omitted: list[str] = []

    def walk(self, part: Message, depth: int = 0) -> None:
        try:
            self._walk(part, depth)
        finally:
            # after decoding: base64/QP damage is only noticed while the payload is decoded
            self._note_defects(part)

    def _walk(self, part: Message, depth: int) -> None:
        if depth > 50:
            self.defects.append("MIME nesting deeper than 50 levels; rest ignored")
            return
        ctype = _safe(part.get_content_type, "text/plain")
        if ctype == "message/rfc822" or not part.is_multipart():
            if ctype.startswith("multipart/"):
                self._broken_multipart(part, ctype, depth)
            else:
                self._leaf(part, ctype)
            return
        payload = part.get_payload()
        if not isinstance(payload, list) or not payload:
            self._leaf(part, "text/plain", force_body=True)
            return
        # multipart/alternative: every text/plain is kept, the last text/html (the richest) wins.
        for sub in payload:
            if isinstance(sub, Message):
                self.walk(sub, depth + 1)
            else:
                self.defects.append("non-MIME item in a multipart")

    def _broken_multipart(self, part: Message, ctype: str, depth: int) -> None:
        """A multipart whose declared boundary never occurs: try the boundary the body actually uses."""
        payload = part.get_payload()
        text = payload if isinstance(payload, str) else ""
        found = _BOUNDARY_LINE.search(text)
        if found is not None and depth < 50:
            boundary = found.group(1)
            head = f'Content-Type: {ctype}; boundary="{boundary}"\r\n\r\n'.encode("ascii", "replace")
            try:
                repaired = BytesParser(policy=policy.default).parsebytes(
                    head + text.encode("ascii", "surrogateescape")
                )
            except Exception:
                repaired = None
            if repaired is not None and isinstance(repaired.get_payload(), list) and repaired.get_payload():
                self.defects.append("MIME boundary did not match the declared one; repaired")
                for sub in repaired.get_payload():
                    if isinstance(sub, Message):
                        self.walk(sub, depth + 1)
                return
        self._leaf(part, "text/plain", force_body=True)

    def _note_defects(self, part: Message) -> None:
        for defect in getattr(part, "defects", []):
            self.defects.append(type(defect).__name__)

    def _leaf(self, part: Message, ctype: str, force_body: bool = False) -> None:
        disposition = _safe(part.get_content_disposition, None)
        filename = _filename(part, self.defects)
        is_body_type = ctype in _PART_TYPES_WITH_BODY or force_body
        if is_body_type and disposition != "attachment" and not filename:
            text = _text_payload(part, self.defects)
            if ctype == "text/html" and not force_body:
                self.html.append(text)
            else:
                self.text.append(text)
            return
        name = filename or _default_name(part, ctype, len(self.attachments) + len(self.omitted) + 1)
        if not self.keep_attachments:
            self.omitted.append(name)
            return
        content = _binary_payload(part, ctype, self.defects)
        content_id = _safe(lambda: part.get("Content-ID"), None)
        self.attachments.append(
            Attachment(
                name=name,
                content_type=ctype,
                size=len(content),
                content=content,
                content_id=str(content_id).strip() if content_id else None,
                is_inline=disposition == "inline" or (disposition is None and content_id is not None),
            )
        )


def _safe(func: Callable[[], _T], default: _D) -> _T | _D:
    """Call a getter of the email package, which can raise on hostile input."""
    try:
        return func()
    except Exception:
        return default


def _filename(part: Message, defects: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        defects.append("unreadable attachment file name")
        return None
    if name is None:
        name = part.get_param("name", header="content-type")  # type: ignore[assignment]
        if isinstance(name, tuple):  # RFC 2231 triple
            name = decode_bytes(name[2].encode("latin-1", "replace"), name[0])
    if not name:
        return None
    name = str(name)
    if "=?" in name:
        name = decode_header_text(name, defects)
    name = _unescape_8bit(name)
    # Path parts in a file name are a classic attack on whoever saves the file later.
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip("\x00")
    return name or None


def _default_name(part: Message, ctype: str, number: int) -> str:
    if ctype == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        subject = decode_header_text(str(inner.get("Subject", ""))) if isinstance(inner, Message) else ""
        return (subject or f"message-{number}") + ".eml"
    ext = {
        "text/plain": ".txt",
        "text/html": ".html",
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/gif": ".gif",
        "application/pdf": ".pdf",
        "text/calendar": ".ics",
        "application/ms-tnef": ".dat",
    }.get(ctype, ".bin")
    if ctype == "application/ms-tnef":
        return "winmail.dat"
    return f"attachment-{number}{ext}"


def _text_payload(part: Message, defects: list[str]) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        defects.append("undecodable body part")
        data = None
    if not isinstance(data, bytes):
        raw = part.get_payload()
        data = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""
    charset = _safe(lambda: part.get_param("charset"), None)
    text = decode_bytes(data, str(charset) if isinstance(charset, str) else None, defects)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _binary_payload(part: Message, ctype: str, defects: list[str]) -> bytes:
    if ctype == "message/rfc822" and part.is_multipart():
        try:
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                return inner.as_bytes(policy=policy.compat32)
        except Exception:
            defects.append("attached message could not be re-serialised")
            return b""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""


def parse_message(
    raw: bytes,
    *,
    item_id: str | None = None,
    folder: FolderKind = FolderKind.INBOX,
    size_limit: int | None = None,
    size: int | None = None,
    truncated: bool = False,
    internet_message_id: str | None = None,
) -> MailItem:
    """Parse raw RFC 5322 bytes into a :class:`MailItem`; damaged mail yields what could be read.

    ``size_limit``: parse at most this many bytes; a longer message is cut there, its attachments are left
    out (``attachments_omitted``) and ``truncated`` is set. ``truncated=True`` says the caller already
    cut the bytes (e.g. POP3 TOP). ``size`` is the real size on the server, when known.
    ``item_id`` defaults to the Message-ID. ``internet_message_id`` is the server's InternetMessageId
    (EWS, Graph): the message's id when present. A message without either gets :func:`synthetic_message_id`
    of its whole content, or, when the caller cut it, of its header section and ``item_id`` (the UIDL).
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MalformedMessage("message is not bytes", user_text="A message could not be read.")
    raw = bytes(raw)
    if not raw.strip():
        raise MalformedMessage("empty message", user_text="An empty message was skipped.")
    full_size = size if size is not None else len(raw)
    # before the size limit cuts it: the whole message is at hand unless the caller cut it already
    synthetic_id = synthetic_message_id(raw, partial_key=(item_id or "") if truncated else None)
    if size_limit is not None and len(raw) > size_limit:
        raw = raw[:size_limit]
        truncated = True
    defects: list[str] = []
    raw = _drop_header_garbage(raw, defects)
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is meant to be total; be safe anyway
        raise MalformedMessage(
            f"message could not be parsed: {type(exc).__name__}",
            user_text="A message could not be read (damaged).",
        ) from exc

    headers: list[tuple[str, str]] = []
    for name, value in msg.raw_items():
        headers.append((str(name), decode_header_text(str(value), defects)))
    if not headers:
        defects.append("no header fields")
    seen: dict[str, int] = {}
    for name, _ in headers:
        seen[name.lower()] = seen.get(name.lower(), 0) + 1
    for name in _SINGLETON_HEADERS:
        if seen.get(name, 0) > 1:
            defects.append(f"duplicate {name} header; first one used")

    def first_raw(name: str) -> str | None:
        lowered = name.lower()
        for key, value in msg.raw_items():
            if str(key).lower() == lowered:
                return str(value)
        return None

    def first(name: str) -> str | None:
        lowered = name.lower()
        for key, value in headers:
            if key.lower() == lowered:
                return value
        return None

    def addresses(name: str) -> list[Address]:
        value = first_raw(name)
        return parse_addresses(value, defects) if value else []

    from_list = addresses("From")
    sender: Address | None = from_list[0] if from_list else None
    if sender is None:
        found = addresses("Sender")
        sender = found[0] if found else None
    if sender is None:
        defects.append("no readable sender")

    message_id = server_message_id(internet_message_id) or _first_msgid(first("Message-ID"))
    synthetic = message_id is None
    if message_id is None:
        message_id = synthetic_id

    sent = _parse_date(first("Date"), defects)
    received = None
    received_header = first("Received")
    if received_header and ";" in received_header:
        received = _parse_date(received_header.rsplit(";", 1)[1], [])
    if received is None:
        received = sent

    references = _MSGID.findall(first("References") or "")
    in_reply_to = _first_msgid(first("In-Reply-To"))

    keep_attachments = not truncated
    collector = _Collector(defects, keep_attachments)
    collector.walk(msg)
    if collector.omitted:
        defects.append("attachments omitted (size limit): " + ", ".join(collector.omitted))
    if truncated:
        defects.append(f"message cut at {len(raw)} of {full_size} bytes (size limit)")

    keywords = first("Keywords") or ""
    categories = [k.strip() for k in keywords.split(",") if k.strip()]

    return MailItem(
        id=item_id or message_id,
        folder=folder,
        subject=first("Subject") or "",
        sender=sender,
        to=addresses("To"),
        cc=addresses("Cc"),
        bcc=addresses("Bcc"),
        reply_to=addresses("Reply-To"),
        received=received,
        sent=sent,
        message_id=message_id,
        message_id_synthetic=synthetic,
        in_reply_to=in_reply_to,
        references=references,
        conversation_index=(first("Thread-Index") or "").strip() or None,
        conversation_topic=first("Thread-Topic"),
        body_text="\n".join(collector.text) if collector.text else None,
        body_html=collector.html[-1] if collector.html else None,
        attachments=collector.attachments,
        attachments_omitted=bool(collector.omitted) or (truncated and not collector.attachments),
        truncated=truncated,
        size=full_size,
        headers=headers,
        categories=categories,
        importance=_importance(first("Importance"), first("X-Priority")),
        defects=_dedupe(defects),
    )


def _importance(importance: str | None, priority: str | None) -> str:
    if importance and importance.strip().lower() in ("high", "low", "normal"):
        return importance.strip().lower()
    if priority:
        digit = priority.strip()[:1]
        if digit in ("1", "2"):
            return "high"
        if digit in ("4", "5"):
            return "low"
    return "normal"


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------------------------------
# Building


_RESERVED_HEADERS = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "message-id",
    "date",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


def _header_address(pair: Address) -> HeaderAddress:
    name, addr = pair
    try:
        return HeaderAddress(display_name=name or "", addr_spec=addr.strip())
    except Exception as exc:
        raise MalformedMessage(
            "invalid email address in an outgoing message",
            user_text=f"The email address {addr!r} is not valid.",
        ) from exc


def build_mime(message: OutgoingMessage, *, domain: str = "d365sync.invalid") -> EmailMessage:
    """The MIME message for ``message``: text and/or HTML (alternative), inline images (related), files.

    The Message-ID is ``message.message_id`` or a new one in ``domain``; read it back from the result.
    Bcc is not written into the header (it is given to SMTP as envelope recipients only).
    """
    msg = EmailMessage(policy=policy.default)
    msg["From"] = _header_address(message.sender)
    if message.to:
        msg["To"] = [_header_address(p) for p in message.to]
    if message.cc:
        msg["Cc"] = [_header_address(p) for p in message.cc]
    if message.reply_to:
        msg["Reply-To"] = [_header_address(p) for p in message.reply_to]
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(message.date or datetime.now(UTC))
    msg["Message-ID"] = _first_msgid(message.message_id) or make_msgid(domain=domain)
    if message.in_reply_to:
        msg["In-Reply-To"] = _first_msgid(message.in_reply_to) or message.in_reply_to
    references = list(message.references)
    if message.in_reply_to and not references:
        references = [msg["In-Reply-To"]]
    if references:
        msg["References"] = " ".join(references)
    if message.categories:
        msg["Keywords"] = ", ".join(message.categories)
    if message.importance in ("high", "low"):
        msg["Importance"] = message.importance
        msg["X-Priority"] = "1" if message.importance == "high" else "5"
    for name, value in message.extra_headers:
        if name.lower() in _RESERVED_HEADERS:
            raise MalformedMessage(f"extra header {name!r} is reserved", user_text="Invalid extra header.")
        msg[name] = value

    text, html = message.body_text, message.body_html
    if html is not None and text is not None:
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(text or "")

    inline = [a for a in message.attachments if a.is_inline and a.content_id and html is not None]
    if inline:
        html_part = msg.get_body(("html",))
        assert html_part is not None  # set just above
        for att in inline:
            maintype, _, subtype = att.content_type.partition("/")
            html_part.add_related(
                att.data(),
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                cid=att.content_id,
                filename=att.name,
                disposition="inline",
            )
    for att in message.attachments:
        if any(att is a for a in inline):
            continue
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(
            att.data(),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=att.name,
        )
    return msg


def render(msg: EmailMessage) -> bytes:
    """Wire form (CRLF line ends) of a built message."""
    return msg.as_bytes(policy=policy.SMTP)
