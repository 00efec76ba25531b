"""POP3/SMTP backend against a real Dovecot and a real aiosmtpd: the mailbox contract plus POP3 specifics."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.contract.mailbox_contract import MailboxContract, drain, make_message, ok_values
from tests.support.dovecot import DovecotMailbox, dovecot, dovecot_server  # noqa: F401 (fixtures)
from tests.support.smtp import SMTP_WARNING_FILTER, SmtpServer, smtp_server  # noqa: F401 (fixtures)
from wizard.errors import Severity
from wizard.mailbox.base import (
    AuthenticationFailed,
    FolderKind,
    MailboxError,
    MailItem,
    NotSupported,
    OutgoingMessage,
    ServerUnreachable,
    TLSFailure,
)
from wizard.mailbox.pop3 import (
    Pop3Store,
    TransportSecurity,
    decode_cursor,
    encode_cursor,
)

pytestmark = [pytest.mark.dovecot, SMTP_WARNING_FILTER]

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@dataclass
class Pop3Harness:
    mailbox: DovecotMailbox
    smtp: SmtpServer
    store: Pop3Store

    def __post_init__(self) -> None:
        self._files: dict[str, str] = {}

    def deliver(self, raw: bytes) -> None:
        from wizard.mailbox.message import parse_message

        name = self.mailbox.deliver(raw)
        self._files[parse_message(raw).message_id] = name

    def delete_on_server(self, message_id: str) -> None:
        self.mailbox.remove(self._files.pop(message_id))

    def sent_messages(self) -> list[bytes]:
        return [m.data for m in self.smtp.messages]


class TestPop3Contract(MailboxContract):
    @pytest.fixture
    def harness(self, dovecot: DovecotMailbox, smtp_server: SmtpServer) -> Pop3Harness:  # noqa: F811
        store = Pop3Store(dovecot.settings(), smtp_server.settings())
        return Pop3Harness(mailbox=dovecot, smtp=smtp_server, store=store)


# ---- transports and failures ---------------------------------------------------------------------


@pytest.mark.parametrize("security", list(TransportSecurity))
def test_every_transport_reads_mail(dovecot: DovecotMailbox, security: TransportSecurity) -> None:  # noqa: F811
    dovecot.deliver(make_message("über TLS")[0])
    store = Pop3Store(dovecot.settings(security))
    found = drain(store, FolderKind.INBOX, None)
    (item,) = ok_values(store.get_many(FolderKind.INBOX, found.created))
    assert isinstance(item, MailItem) and item.subject == "über TLS"
    store.check()


def test_wrong_password(dovecot: DovecotMailbox) -> None:  # noqa: F811
    store = Pop3Store(dovecot.settings(password="wrong-secret-123"))
    with pytest.raises(AuthenticationFailed) as caught:
        store.check()
    assert not caught.value.retriable
    assert caught.value.severity is Severity.ACCOUNT
    assert "wrong-secret-123" not in str(caught.value) + caught.value.user_text


def test_unreachable_port(dovecot: DovecotMailbox) -> None:  # noqa: F811
    with socket.socket() as sock:  # a port that is bound but not listening: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        store = Pop3Store(dovecot.settings(port=port, timeout=2))
        with pytest.raises(ServerUnreachable) as caught:
            store.check()
    assert caught.value.retriable


def test_untrusted_certificate(dovecot: DovecotMailbox, tmp_path: Path) -> None:  # noqa: F811
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    for security in (TransportSecurity.SSL, TransportSecurity.STARTTLS):
        store = Pop3Store(dovecot.settings(security, ca_file=str(other_ca)))
        with pytest.raises(TLSFailure) as caught:
            store.check()
        assert "certificate" in caught.value.user_text


def test_tls_to_a_plain_port_fails_cleanly(dovecot: DovecotMailbox) -> None:  # noqa: F811
    # implicit TLS spoken to the plain-text port: the handshake fails, it must not hang or crash
    store = Pop3Store(dovecot.settings(TransportSecurity.SSL, port=dovecot.server.pop3_port, timeout=3))
    with pytest.raises((TLSFailure, ServerUnreachable)):
        store.check()


def test_plain_text_login_refused_off_loopback() -> None:
    from wizard.mailbox.pop3 import Pop3Settings, SmtpSettings

    settings = Pop3Settings(
        host="pop.example.com", port=110, username="u", password="p", security=TransportSecurity.PLAIN
    )
    with pytest.raises(TLSFailure):
        Pop3Store(settings).check()  # refused before any connection is made
    smtp = SmtpSettings(host="smtp.example.com", security=TransportSecurity.PLAIN, username="u", password="p")
    loopback = Pop3Settings(host="127.0.0.1", port=1, username="u", password="p")
    with pytest.raises(TLSFailure):
        Pop3Store(loopback, smtp).send(
            OutgoingMessage(sender=("", "a@b.example"), to=[("", "c@d.example")], subject="x", body_text="y")
        )


def test_secrets_stay_out_of_reprs_and_logs(
    dovecot: DovecotMailbox,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="wizard")
    store = Pop3Store(dovecot.settings(), smtp_server.settings())
    dovecot.deliver(make_message("x")[0])
    store.get_many(FolderKind.INBOX, drain(store, FolderKind.INBOX, None).created)
    store.send(OutgoingMessage(sender=("", "a@contoso.example"), to=[("", "b@x.example")], subject="s"))
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("wizard"))
    assert "POP3 session open" in ours  # the log was captured at all
    for text in (repr(store), repr(dovecot.settings()), repr(smtp_server.settings()), ours):
        assert dovecot.password not in text
        assert smtp_server.password not in text


def test_mail_stays_on_the_server(dovecot: DovecotMailbox) -> None:  # noqa: F811
    for number in range(3):
        dovecot.deliver(make_message(f"m{number}")[0])
    store = Pop3Store(dovecot.settings())
    ids = drain(store, FolderKind.INBOX, None).created
    ok_values(store.get_many(FolderKind.INBOX, ids))
    assert len(dovecot.message_files()) == 3
    # Dovecot's own count of DELEs in our two sessions (listing, then reading)
    logouts = dovecot.logouts(2)
    assert len(logouts) == 2 and all("del=0/3" in line for line in logouts)


def test_oversized_message_is_read_partially(dovecot: DovecotMailbox) -> None:  # noqa: F811
    raw = (CORPUS / "oversized.eml").read_bytes()
    dovecot.deliver(raw)
    store = Pop3Store(dovecot.settings(size_limit=64 * 1024))
    ids = drain(store, FolderKind.INBOX, None).created
    (item,) = ok_values(store.get_many(FolderKind.INBOX, ids))
    assert isinstance(item, MailItem)
    assert item.truncated and item.attachments_omitted and item.attachments == []
    assert item.subject == "Big scan"
    assert item.body_text is not None and "scan is attached" in item.body_text
    assert item.size is not None and item.size > 400_000
    # Dovecot logs bytes sent per command: TOP sent far less than the whole message, RETR nothing
    listing, reading = dovecot.logouts(2)
    assert "top=0/0, retr=0/0" in listing
    assert "retr=0/0" in reading
    top_bytes = int(reading.split("top=1/", 1)[1].split(",", 1)[0])
    assert top_bytes <= 64 * 1024 + 1024


def test_whole_corpus_over_pop3(dovecot: DovecotMailbox) -> None:  # noqa: F811
    files = sorted(CORPUS.glob("*.eml"))
    for path in files:
        dovecot.deliver(path.read_bytes())
    store = Pop3Store(dovecot.settings(size_limit=128 * 1024))
    ids = drain(store, FolderKind.INBOX, None, page_size=7).created
    items = ok_values(store.get_many(FolderKind.INBOX, ids))
    assert len(items) == len(files)
    subjects = {i.subject for i in items if isinstance(i, MailItem)}
    assert "One very long HTML line" in subjects  # a 10 KB line: poplib's default limit would refuse it
    assert "Grüße aus München und Übersicht für die Woche" in subjects


def test_cursor_round_trip_and_damage() -> None:
    uids = {f"{n:08X}6b070641" for n in range(1000)}
    cursor = encode_cursor(uids)
    assert decode_cursor(cursor) == uids
    assert len(cursor) < 12_000
    assert decode_cursor("pop3:v1:!!!") is None
    assert decode_cursor("ews:whatever") is None
    assert decode_cursor(encode_cursor(set())) == set()


def test_not_supported_is_a_kind_level_error(dovecot: DovecotMailbox) -> None:  # noqa: F811
    store = Pop3Store(dovecot.settings())
    assert not store.capabilities.can_send
    with pytest.raises(NotSupported) as caught:
        list(store.changes(FolderKind.CONTACTS, None))
    assert caught.value.severity is Severity.KIND
    with pytest.raises(NotSupported):
        store.send(OutgoingMessage(sender=("", "a@b.example"), to=[("", "c@d.example")], subject="x"))


# ---- SMTP ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", [TransportSecurity.STARTTLS, TransportSecurity.SSL])
def test_smtp_send_over_tls(
    dovecot: DovecotMailbox,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    security: TransportSecurity,
) -> None:
    store = Pop3Store(dovecot.settings(), smtp_server.settings(security))
    message_id = store.send(
        OutgoingMessage(
            sender=("Jürgen Müller", "juergen@contoso.example"),
            to=[("Bernd", "bernd@fabrikam.example")],
            bcc=[("", "audit@contoso.example")],
            subject="Grüße",
            body_text="Hallo",
        )
    )
    (mail,) = smtp_server.messages
    assert mail.tls and mail.login == smtp_server.username
    assert sorted(mail.rcpt_tos) == ["audit@contoso.example", "bernd@fabrikam.example"]
    assert mail.mail_from == "juergen@contoso.example"
    parsed = mail.parsed()
    assert parsed["Message-ID"] == message_id
    assert message_id.endswith("@contoso.example>")
    assert parsed["Subject"] == "Grüße"


def test_smtp_wrong_password(dovecot: DovecotMailbox, smtp_server: SmtpServer) -> None:  # noqa: F811
    store = Pop3Store(dovecot.settings(), smtp_server.settings(password="nope-nope"))
    with pytest.raises(AuthenticationFailed) as caught:
        store.check()
    assert "nope-nope" not in str(caught.value)
    assert smtp_server.messages == []


def test_smtp_without_starttls_is_refused(dovecot: DovecotMailbox, smtp_server: SmtpServer) -> None:  # noqa: F811
    settings = smtp_server.settings(TransportSecurity.STARTTLS, port=smtp_server.plain_port)
    store = Pop3Store(dovecot.settings(), settings)
    with pytest.raises(TLSFailure):
        store.send(OutgoingMessage(sender=("", "a@contoso.example"), to=[("", "b@x.example")], subject="s"))
    assert smtp_server.messages == []


def test_smtp_untrusted_certificate(
    dovecot: DovecotMailbox,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    other_ca = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    store = Pop3Store(dovecot.settings(), smtp_server.settings(ca_file=str(other_ca)))
    with pytest.raises(TLSFailure):
        store.check()


def test_smtp_unreachable(dovecot: DovecotMailbox, smtp_server: SmtpServer) -> None:  # noqa: F811
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        store = Pop3Store(dovecot.settings(), smtp_server.settings(port=sock.getsockname()[1], timeout=2))
        with pytest.raises(ServerUnreachable):
            store.send(
                OutgoingMessage(sender=("", "a@contoso.example"), to=[("", "b@x.example")], subject="s")
            )


def test_smtp_refused_recipient_is_an_item_error(
    dovecot: DovecotMailbox,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    store = Pop3Store(dovecot.settings(), smtp_server.settings())
    with pytest.raises(MailboxError) as caught:
        store.send(OutgoingMessage(sender=("", "a@contoso.example"), to=[], subject="no one"))
    assert caught.value.severity is Severity.ITEM


def test_overlong_line_is_cut_not_fatal(dovecot: DovecotMailbox, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from wizard.mailbox import pop3

    monkeypatch.setattr(pop3._POP3, "max_line", 2048)
    dovecot.deliver((CORPUS / "long_lines.eml").read_bytes())  # one 10 KB line
    dovecot.deliver(make_message("danach")[0])
    store = Pop3Store(dovecot.settings())
    ids = drain(store, FolderKind.INBOX, None).created
    long_item, next_item = ok_values(store.get_many(FolderKind.INBOX, ids))
    assert isinstance(long_item, MailItem) and isinstance(next_item, MailItem)
    assert long_item.subject == "One very long HTML line" and long_item.truncated
    assert long_item.body_html is not None and 2000 < len(long_item.body_html) < 2100
    assert next_item.subject == "danach" and not next_item.truncated
