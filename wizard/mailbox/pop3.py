"""POP3 (receive) + SMTP (send): the email-only mailbox backend.

POP3 can only list and download the Inbox, so this backend declares exactly that (no contacts,
appointments, tasks, named properties, categories, moves or deletes; no Sent Items copy of sent mail).
It never deletes anything on the server (no DELE) and ends every session with QUIT.

Change detection is by UIDL. The cursor holds the set of UIDLs already reported, as
``pop3:v1:`` + base64url(zlib(JSON list)): self-contained, so the engine stores it like any other
cursor (about 10-20 bytes per message after compression; a 10,000-message maildrop gives ~150 KB).

Security: TLS 1.2+ with certificate verification (POP3S on 995 or STLS on 110; SMTPS on 465 or
STARTTLS on 587). Plain text logins are refused except to a loopback address (tests). Passwords are
passed in, kept out of reprs, logs and error messages.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import json
import logging
import poplib
import smtplib
import socket
import ssl
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NoReturn

from wizard.errors import Severity
from wizard.mailbox.base import (
    AuthenticationFailed,
    Capabilities,
    ChangeBatch,
    Folder,
    FolderKind,
    Item,
    ItemNotFound,
    ItemResult,
    MailboxError,
    MalformedMessage,
    NamedProps,
    NotSupported,
    OutgoingMessage,
    ProtocolError,
    ServerUnreachable,
    Throttled,
    TLSFailure,
    not_supported,
)
from wizard.mailbox.message import build_mime, parse_message
from wizard.tls import is_loopback_host, tls_context

log = logging.getLogger(__name__)

BACKEND = "POP3"
CURSOR_PREFIX = "pop3:v1:"
#: poplib's own limit (2048) breaks on real mail with long HTML lines; this bounds memory instead.
MAX_LINE = 1024 * 1024
DEFAULT_SIZE_LIMIT = 25 * 1024 * 1024
_MAX_CURSOR_BYTES = 64 * 1024 * 1024


class TransportSecurity(enum.Enum):
    SSL = "ssl"  # implicit TLS (POP3S 995, SMTPS 465)
    STARTTLS = "starttls"  # upgrade (POP3 STLS on 110, SMTP STARTTLS on 587)
    PLAIN = "plain"  # no TLS: loopback only


@dataclass(frozen=True)
class Pop3Settings:
    host: str
    username: str
    password: str = field(repr=False)
    port: int = 995
    security: TransportSecurity = TransportSecurity.SSL
    #: PEM file of CAs to trust instead of the system store (a company CA, the test CA)
    ca_file: str | None = None
    verify: bool = True
    timeout: float = 30.0
    #: messages larger than this are downloaded partially (headers + start of body, no attachments)
    size_limit: int = DEFAULT_SIZE_LIMIT


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: TransportSecurity = TransportSecurity.STARTTLS
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    verify: bool = True
    timeout: float = 30.0
    #: name sent in EHLO; default: this computer's host name (no DNS look-up)
    local_hostname: str | None = None


# --------------------------------------------------------------------------------------------------
# Cursor


def encode_cursor(uids: set[str] | Sequence[str]) -> str:
    data = json.dumps(sorted(uids), separators=(",", ":")).encode()
    return CURSOR_PREFIX + base64.urlsafe_b64encode(zlib.compress(data, 9)).decode("ascii")


def decode_cursor(cursor: str) -> set[str] | None:
    """The UIDL set in a cursor, or None when the cursor is not one of ours or is damaged."""
    if not cursor.startswith(CURSOR_PREFIX):
        return None
    try:
        packed = base64.urlsafe_b64decode(cursor[len(CURSOR_PREFIX) :].encode("ascii"))
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, _MAX_CURSOR_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            return None
        value = json.loads(data)
    except (ValueError, zlib.error, UnicodeError):
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return set(value)


# --------------------------------------------------------------------------------------------------
# poplib with sane limits


class _Refused(poplib.error_proto):
    """The server answered a command with -ERR; the session is still in step and usable."""


class _POP3(poplib.POP3):
    """poplib with long lines tolerated and multi-line answers read on a byte budget."""

    #: longer lines are cut (rest read and dropped) instead of poplib's "line too long" error, which
    #: would leave the session out of step and make one odd message fail every sync forever
    max_line = MAX_LINE
    lines_cut = False

    def _getline(self) -> tuple[bytes, int]:
        line: bytes = self.file.readline(self.max_line + 1)
        if not line:
            raise poplib.error_proto("-ERR EOF")
        octets = len(line)
        if len(line) > self.max_line and not line.endswith(b"\n"):
            self.lines_cut = True
            while True:
                rest: bytes = self.file.readline(self.max_line + 1)
                octets += len(rest)
                if not rest:
                    raise poplib.error_proto("-ERR EOF")
                if rest.endswith(b"\n"):
                    break
            line = line[: self.max_line] + b"\r\n"
        if line[-2:] == b"\r\n":
            return line[:-2], octets
        if line[:1] == b"\r":
            return line[1:-1], octets
        return line[:-1], octets

    def bounded(self, command: str, budget: int) -> tuple[bytes, bool]:
        """Run a multi-line command; keep at most ``budget`` bytes, drain the rest. (data, cut)."""
        self.sock.sendall(command.encode("ascii") + b"\r\n")
        response, _ = self._getline()
        if not response.startswith(b"+"):
            raise _Refused(response)
        self.lines_cut = False
        kept: list[bytes] = []
        total = 0
        cut = False
        while True:
            line, _ = self._getline()
            if line == b".":
                break
            if line.startswith(b".."):
                line = line[1:]
            if total + len(line) + 2 > budget:
                cut = True
                continue
            kept.append(line)
            total += len(line) + 2
        return b"\r\n".join(kept) + b"\r\n", cut or self.lines_cut


class _POP3SSL(_POP3, poplib.POP3_SSL):
    """POP3S (implicit TLS) with the same limits; POP3_SSL's __init__ and socket set-up are used."""


Connection = _POP3 | _POP3SSL


def _close_quietly(conn: poplib.POP3) -> None:
    """Drop a connection that may already be half torn down (a failed STLS leaves a dead socket)."""
    with contextlib.suppress(OSError):
        conn.close()


def _response_text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else b""
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


# --------------------------------------------------------------------------------------------------
# The store


class Pop3Store:
    """:class:`~wizard.mailbox.base.MailboxStore` over POP3 (Inbox only) with SMTP for sending.

    Each call opens its own POP3 session and QUITs it: a POP3 session sees a frozen snapshot of the
    maildrop, so a long-lived one would never notice new mail.
    """

    def __init__(self, pop3: Pop3Settings, smtp: SmtpSettings | None = None) -> None:
        self._pop3 = pop3
        self._smtp = smtp
        self._capabilities = Capabilities(
            readable=frozenset({FolderKind.INBOX}),
            can_send=smtp is not None,
            sent_items_copy=False,
        )

    def __repr__(self) -> str:
        return f"Pop3Store(host={self._pop3.host!r}, port={self._pop3.port}, user={self._pop3.username!r})"

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    # ---- connection ------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self._pop3.host}:{self._pop3.port}"

    @contextmanager
    def _session(self) -> Iterator[Connection]:
        conn = self._connect()
        try:
            yield conn
        except poplib.error_proto as exc:
            self._raise_pop3(exc, stage="command")
        except ssl.SSLError as exc:
            raise TLSFailure(
                f"TLS error talking to {self._where()}: {exc.reason}",
                user_text="The secure connection to the POP3 server broke down.",
            ) from exc
        except (TimeoutError, OSError) as exc:
            raise ServerUnreachable(
                f"connection to {self._where()} lost: {type(exc).__name__}",
                user_text=f"The connection to the POP3 server {self._pop3.host} was lost.",
            ) from exc
        finally:
            try:
                conn.quit()
            except (poplib.error_proto, OSError):
                _close_quietly(conn)

    def _connect(self) -> Connection:
        s = self._pop3
        if s.security is TransportSecurity.PLAIN and not is_loopback_host(s.host):
            raise TLSFailure(
                f"refusing a plain-text POP3 login to {s.host}",
                user_text="The POP3 server must use TLS (port 995 or STLS); passwords never go unencrypted.",
            )
        context = tls_context(s.ca_file, verify=s.verify)
        conn: Connection | None = None
        stage = "connect"
        try:
            if s.security is TransportSecurity.SSL:
                conn = _POP3SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                conn = _POP3(s.host, s.port, timeout=s.timeout)
                if s.security is TransportSecurity.STARTTLS:
                    stage = "stls"
                    conn.stls(context)
            stage = "login"
            conn.user(s.username)
            conn.pass_(s.password)
            log.debug("POP3 session open on %s", self._where())
            return conn
        except BaseException as exc:
            if conn is not None:
                _close_quietly(conn)
            self._raise_connect(exc, stage)

    def _raise_connect(self, exc: BaseException, stage: str) -> NoReturn:
        host = self._pop3.host
        if isinstance(exc, poplib.error_proto):
            self._raise_pop3(exc, stage=stage)
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise TLSFailure(
                f"certificate of {self._where()} not trusted: {exc.verify_message}",
                user_text=f"The certificate of the POP3 server {host} is not trusted ({exc.verify_message}).",
            ) from exc
        if isinstance(exc, ssl.SSLError):
            raise TLSFailure(
                f"TLS handshake with {self._where()} failed: {exc.reason}",
                user_text=f"No secure connection to the POP3 server {host} could be made.",
            ) from exc
        if isinstance(exc, socket.gaierror):
            raise ServerUnreachable(
                f"host name {host!r} not found",
                user_text=f"The POP3 server {host} was not found. Check the server name.",
            ) from exc
        if isinstance(exc, TimeoutError):
            raise ServerUnreachable(
                f"timeout connecting to {self._where()}",
                user_text=f"The POP3 server {host} did not answer in time.",
            ) from exc
        if isinstance(exc, OSError):
            raise ServerUnreachable(
                f"cannot connect to {self._where()}: {type(exc).__name__}",
                user_text=f"The POP3 server {host} cannot be reached (port {self._pop3.port}).",
            ) from exc
        raise exc

    def _raise_pop3(self, exc: poplib.error_proto, *, stage: str) -> NoReturn:
        text = _response_text(exc)
        upper = text.upper()
        host = self._pop3.host
        if stage == "stls":
            raise TLSFailure(
                f"{self._where()} refused STLS: {text}",
                user_text=f"The POP3 server {host} does not offer STLS; use port 995 (POP3S).",
            ) from exc
        if "[IN-USE]" in upper:
            raise Throttled(
                f"maildrop in use on {self._where()}: {text}",
                user_text="The mailbox is in use by another program; trying again later.",
            ) from exc
        if "[SYS/TEMP]" in upper or "EOF" in upper:
            raise ProtocolError(
                f"temporary POP3 failure on {self._where()}: {text}",
                user_text=f"The POP3 server {host} reported a temporary error.",
            ) from exc
        if stage == "login" or "[AUTH]" in upper:
            raise AuthenticationFailed(
                f"POP3 login refused by {self._where()}: {text}",
                user_text=f"The POP3 server {host} did not accept the user name or password.",
            ) from exc
        raise MailboxError(
            f"POP3 error from {self._where()}: {text}",
            user_text=f"The POP3 server {host} reported an error: {text}",
            retriable=True,
        ) from exc

    def check(self) -> None:
        """Log in to POP3 (and SMTP when configured) and log out; raises the typed error on failure."""
        with self._session() as conn:
            conn.stat()
        if self._smtp is not None:
            with self._smtp_session() as smtp:
                smtp.noop()

    # ---- reading ---------------------------------------------------------------------------------

    def _require_inbox(self, kind: FolderKind) -> None:
        if kind is not FolderKind.INBOX:
            raise not_supported(BACKEND, f"read the {kind.value} folder")

    def folder(self, kind: FolderKind) -> Folder:
        self._require_inbox(kind)
        with self._session() as conn:
            count, _ = conn.stat()
        return Folder(kind=kind, id="INBOX", display_name="Inbox", total_count=count)

    @staticmethod
    def _uidl_map(conn: Connection) -> list[tuple[int, str]]:
        _, lines, _ = conn.uidl()
        out: list[tuple[int, str]] = []
        for line in lines:
            parts = line.decode("ascii", "replace").split()
            if len(parts) >= 2 and parts[0].isdigit():
                out.append((int(parts[0]), parts[1]))
        return out

    @staticmethod
    def _sizes(conn: Connection) -> dict[int, int]:
        _, lines, _ = conn.list()
        sizes: dict[int, int] = {}
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                sizes[int(parts[0])] = int(parts[1])
        return sizes

    def changes(self, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Iterator[ChangeBatch]:
        """New and vanished UIDLs since ``cursor``; POP3 messages never change, so nothing is "updated"."""
        self._require_inbox(kind)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        seen: set[str]
        full_resync = False
        if cursor is None:
            seen = set()
        else:
            decoded = decode_cursor(cursor)
            if decoded is None:
                log.warning("POP3 cursor unusable; re-reading the whole Inbox")
                seen, full_resync = set(), True
            else:
                seen = decoded
        with self._session() as conn:
            listing = self._uidl_map(conn)
        current = [uid for _, uid in listing]
        present = set(current)
        deleted = sorted(seen - present)
        known = seen & present
        new = [uid for uid in dict.fromkeys(current) if uid not in seen]
        pages = [new[i : i + page_size] for i in range(0, len(new), page_size)] or [[]]
        return self._pages(kind, pages, deleted, known, full_resync)

    @staticmethod
    def _pages(
        kind: FolderKind, pages: list[list[str]], deleted: list[str], known: set[str], full_resync: bool
    ) -> Iterator[ChangeBatch]:
        for number, page in enumerate(pages):
            known |= set(page)
            yield ChangeBatch(
                kind=kind,
                created=page,
                deleted=deleted if number == 0 else [],
                cursor=encode_cursor(known),
                full_resync=full_resync,
                more=number < len(pages) - 1,
            )

    def get_many(self, kind: FolderKind, ids: Sequence[str]) -> list[ItemResult[Item]]:
        """Download messages by UIDL (RETR; a size-limited TOP for messages over the size limit)."""
        self._require_inbox(kind)
        if not ids:
            return []
        results: list[ItemResult[Item]] = []
        limit = self._pop3.size_limit
        with self._session() as conn:
            numbers = {uid: number for number, uid in self._uidl_map(conn)}
            sizes = self._sizes(conn)
            for uid in ids:
                number = numbers.get(uid)
                if number is None:
                    results.append(
                        ItemResult(
                            uid,
                            error=ItemNotFound(
                                f"message {uid} is no longer on the server",
                                user_text="A message was removed from the server before it was read.",
                            ),
                        )
                    )
                    continue
                size = sizes.get(number, 0)
                try:
                    if size > limit:
                        raw, cut = self._partial(conn, number, limit)
                    else:
                        raw, cut = conn.bounded(f"RETR {number}", max(limit, size) + MAX_LINE)
                    item = parse_message(raw, item_id=uid, size=size or len(raw), truncated=cut)
                except MalformedMessage as exc:
                    results.append(ItemResult(uid, error=exc))
                    continue
                except _Refused as exc:
                    text = _response_text(exc)
                    results.append(
                        ItemResult(
                            uid,
                            error=ProtocolError(
                                f"server refused to hand out message {uid}: {text}",
                                user_text="The POP3 server refused to hand out one message.",
                                severity=Severity.ITEM,
                            ),
                        )
                    )
                    continue
                results.append(ItemResult(uid, value=item))
        return results

    @staticmethod
    def _partial(conn: Connection, number: int, limit: int) -> tuple[bytes, bool]:
        """Headers and the start of the body of an oversized message, never more than ``limit`` bytes."""
        lines = max(limit // 80, 10)
        try:
            raw, _ = conn.bounded(f"TOP {number} {lines}", limit)
        except _Refused:  # no TOP: RETR, keeping only the budget
            raw, _ = conn.bounded(f"RETR {number}", limit)
        return raw, True

    # ---- what POP3 cannot do ---------------------------------------------------------------------

    def create_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        raise not_supported(BACKEND, "create items")

    def update_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        raise not_supported(BACKEND, "change items")

    def delete_many(
        self, kind: FolderKind, ids: Sequence[str], *, permanently: bool = False
    ) -> list[ItemResult[None]]:
        raise not_supported(BACKEND, "delete items")

    def set_named_props(
        self, kind: FolderKind, updates: Sequence[tuple[str, NamedProps]]
    ) -> list[ItemResult[str]]:
        raise not_supported(BACKEND, "store tracking properties")

    def find_by_crmid(self, kind: FolderKind, crmid: str) -> list[Item]:
        raise not_supported(BACKEND, "store tracking properties")

    def scan_links(self, kind: FolderKind) -> Iterator[tuple[str, NamedProps]]:
        raise not_supported(BACKEND, "store tracking properties")

    def root_sync_org(self) -> str | None:
        return None  # nothing can be stamped on a POP3 maildrop

    def set_root_sync_org(self, org_id: str | None) -> None:
        raise not_supported(BACKEND, "mark the mailbox with the synchronizing organization")

    # ---- sending ---------------------------------------------------------------------------------

    @contextmanager
    def _smtp_session(self) -> Iterator[smtplib.SMTP]:
        s = self._smtp
        if s is None:
            raise not_supported(BACKEND, "send mail (no SMTP server configured)")
        where = f"{s.host}:{s.port}"
        if s.security is TransportSecurity.PLAIN and s.username and not is_loopback_host(s.host):
            raise TLSFailure(
                f"refusing a plain-text SMTP login to {s.host}",
                user_text="The SMTP server must use TLS (port 465 or STARTTLS on 587).",
            )
        context = tls_context(s.ca_file, verify=s.verify)
        local = s.local_hostname or socket.gethostname() or "localhost"
        smtp: smtplib.SMTP | None = None
        stage = "connect"
        try:
            if s.security is TransportSecurity.SSL:
                smtp = smtplib.SMTP_SSL(s.host, s.port, local, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, local, timeout=s.timeout)
                if s.security is TransportSecurity.STARTTLS:
                    stage = "starttls"
                    smtp.ehlo()
                    smtp.starttls(context=context)
                    smtp.ehlo()
            if s.username:
                stage = "login"
                smtp.login(s.username, s.password or "")
            stage = "send"
            yield smtp
        except MailboxError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthenticationFailed(
                f"SMTP login refused by {where} ({exc.smtp_code})",
                user_text=f"The SMTP server {s.host} did not accept the user name or password.",
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            if stage == "starttls":
                raise TLSFailure(
                    f"{where} does not offer STARTTLS",
                    user_text=f"The SMTP server {s.host} does not offer STARTTLS; use port 465.",
                ) from exc
            raise NotSupported(
                f"{where}: {exc}", user_text=f"The SMTP server {s.host} does not support login."
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise MailboxError(
                f"SMTP server {where} refused recipients: {refused}",
                user_text=f"The mail server refused the recipient(s) {refused}.",
                severity=Severity.ITEM,
            ) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise MailboxError(
                f"SMTP server {where} refused the sender ({exc.smtp_code})",
                user_text=f"The mail server refused the sender address {exc.sender}.",
                severity=Severity.ITEM,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise Throttled(
                    f"SMTP server {where} answered {exc.smtp_code} (temporary)",
                    user_text=f"The SMTP server {s.host} is busy; sending again later.",
                ) from exc
            raise MailboxError(
                f"SMTP server {where} answered {exc.smtp_code}",
                user_text=f"The SMTP server {s.host} refused the message ({exc.smtp_code}).",
                severity=Severity.ITEM,
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise TLSFailure(
                f"certificate of {where} not trusted: {exc.verify_message}",
                user_text=f"The SMTP server {s.host} has an untrusted certificate ({exc.verify_message}).",
            ) from exc
        except ssl.SSLError as exc:
            raise TLSFailure(
                f"TLS with {where} failed: {exc.reason}",
                user_text=f"No secure connection to the SMTP server {s.host} could be made.",
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ServerUnreachable(
                f"SMTP server {where} unreachable: {type(exc).__name__}",
                user_text=f"The SMTP server {s.host} cannot be reached (port {s.port}).",
            ) from exc
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()

    def send(self, message: OutgoingMessage) -> str:
        """Send through SMTP; returns the Message-ID. POP3 has no Sent Items, so no copy is kept."""
        recipients = message.recipients()
        if not recipients:
            raise MalformedMessage("message has no recipients", user_text="The email has no recipients.")
        domain = message.sender[1].rpartition("@")[2] or "d365sync.invalid"
        mime = build_mime(message, domain=domain)
        message_id = str(mime["Message-ID"])
        with self._smtp_session() as smtp:
            smtp.send_message(mime, from_addr=message.sender[1], to_addrs=recipients)
        log.info("sent one message through SMTP (%d recipients)", len(recipients))
        return message_id

    def close(self) -> None:
        """Nothing stays open between calls."""
