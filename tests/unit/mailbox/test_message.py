"""message.py: charset guessing, header decoding, the error contract, and building outgoing MIME."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.errors import D365SyncError, Severity
from wizard.mailbox.base import Attachment, MailItem, MalformedMessage, OutgoingMessage
from wizard.mailbox.message import (
    build_mime,
    decode_bytes,
    decode_header_text,
    parse_addresses,
    parse_message,
    render,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


# ---- decoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "charset", "text", "defect"),
    [
        (b"plain", None, "plain", None),
        ("Grüße".encode(), "utf-8", "Grüße", None),
        ("Grüße".encode("latin-1"), "iso-8859-1", "Grüße", None),
        ("Grüße".encode(), "iso-8859-1", "Grüße", "but the text is UTF-8"),
        ("Grüße".encode(), "windows-1252", "Grüße", "but the text is UTF-8"),
        ("Grüße".encode(), None, "Grüße", "undeclared 8-bit text read as UTF-8"),
        ("Grüße".encode("latin-1"), None, "Grüße", "Windows-1252"),
        ("Grüße".encode("latin-1"), "us-ascii", "Grüße", "Windows-1252"),
        ("Grüße".encode(), "x-unknown", "Grüße", "unknown charset"),
        ("Grüße".encode("latin-1"), "x-unknown", "Grüße", "unknown charset"),
        ("Grüße".encode("latin-1"), "utf-8", "Gr\ufffd\ufffde", "not valid"),
        ("日本語".encode("shift_jis"), "x-sjis", "日本語", None),
        (b"\x80abc", '"UTF-8"', "\ufffdabc", "not valid"),
    ],
)
def test_decode_bytes(data: bytes, charset: str | None, text: str, defect: str | None) -> None:
    defects: list[str] = []
    assert decode_bytes(data, charset, defects) == text
    if defect is None:
        assert defects == []
    else:
        assert any(defect in d for d in defects), defects


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "Grüße"),
        ("=?utf-8?b?R3LDvMOfZQ==?= und =?iso-8859-1?q?K=F6ln?=", "Grüße und Köln"),
        ("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab"),  # adjacent encoded words join without space
        ("=?x-unknown?q?Gr=FC=DFe?=", "Grüße"),
        ("=?utf-8?q?broken", "=?utf-8?q?broken"),
        ("Gr\udcc3\udcbc\udcc3\udc9fe", "Grüße"),  # raw 8-bit UTF-8, as the parser hands it over
        ("Gr\udcfc\udcdfe", "Grüße"),  # raw 8-bit Latin-1
        ("folded\r\n line", "folded line"),
    ],
)
def test_decode_header_text(raw: str, text: str) -> None:
    assert decode_header_text(raw) == text


def test_parse_addresses_keeps_encoded_commas_together() -> None:
    value = '=?utf-8?q?M=C3=BCller=2C_Hans?= <h@x.example>, "Doe, Jane" <j@x.example>, bare@x.example'
    assert parse_addresses(value) == [
        ("Müller, Hans", "h@x.example"),
        ("Doe, Jane", "j@x.example"),
        ("", "bare@x.example"),
    ]


# ---- the error contract --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n  ", b"\n"])
def test_unusable_input_raises_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedMessage) as caught:
        parse_message(raw)
    assert isinstance(caught.value, D365SyncError)
    assert caught.value.severity is Severity.ITEM


def test_headerless_text_is_still_a_message() -> None:
    item = parse_message(b"just some text\nwithout headers\n")
    assert "no readable sender" in item.defects
    assert item.message_id_synthetic
    assert item.subject == ""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=2000))
def test_random_bytes_never_crash(raw: bytes) -> None:
    try:
        item = parse_message(raw)
    except MalformedMessage:
        return
    assert isinstance(item, MailItem)


def _mutations(seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    out = []
    for path in sorted(CORPUS.glob("*.eml")):
        raw = bytearray(path.read_bytes()[:20_000])
        for _ in range(max(1, len(raw) // 200)):
            pos = rng.randrange(len(raw))
            raw[pos] = rng.choice([0, 10, 13, 32, 45, 58, 61, 63, 0xFF, rng.randrange(256)])
        cut = rng.randrange(1, len(raw) + 1)
        out.append((path.name, bytes(raw)))
        out.append((path.name + " cut", bytes(raw[:cut])))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_damaged_corpus_never_crashes(seed: int) -> None:
    for name, raw in _mutations(seed):
        try:
            item = parse_message(raw, size_limit=8192)
        except MalformedMessage:
            continue
        assert isinstance(item, MailItem), name
        for att in item.attachments:
            assert isinstance(att.data(), bytes)


# ---- building ------------------------------------------------------------------------------------


def _outgoing(**overrides: object) -> OutgoingMessage:
    values: dict[str, object] = {
        "sender": ("Jürgen Müller", "juergen@contoso.example"),
        "to": [("Weber, Bernd", "bernd@fabrikam.example")],
        "cc": [("Françoise", "fb@fabrikam.example")],
        "bcc": [("", "audit@contoso.example")],
        "subject": "Grüße zum Angebot für Köln",
        "body_text": "Hallo Bernd,\nanbei das Angebot.",
        "body_html": '<p>Hallo Bernd,</p><img src="cid:logo@contoso.example">',
        "in_reply_to": "<parent@fabrikam.example>",
        "references": ["<root@fabrikam.example>", "<parent@fabrikam.example>"],
        "date": datetime(2024, 6, 3, 9, 15, tzinfo=UTC),
        "attachments": [
            Attachment(name="Übersicht März.pdf", content_type="application/pdf", content=b"%PDF-1.4"),
            Attachment(
                name="logo.png",
                content_type="image/png",
                content=b"\x89PNG\r\n",
                content_id="<logo@contoso.example>",
                is_inline=True,
            ),
        ],
        "categories": ["Tracked to Dynamics 365"],
        "importance": "high",
        "extra_headers": [("X-D365Sync-ActivityId", "0b5b2c1e-0000-0000-0000-000000000001")],
    }
    values.update(overrides)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


def test_build_and_parse_round_trip() -> None:
    outgoing = _outgoing()
    mime = build_mime(outgoing, domain="contoso.example")
    raw = render(mime)
    assert raw.isascii(), "umlauts must be encoded (RFC 2047 / 2231) for any SMTP server"
    assert b"\r\n" in raw and b"Bcc" not in raw
    item = parse_message(raw)
    assert item.defects == []
    assert item.subject == outgoing.subject
    assert item.sender == outgoing.sender
    assert item.to == outgoing.to and item.cc == outgoing.cc and item.bcc == []
    assert item.message_id == str(mime["Message-ID"])
    assert item.message_id.endswith("@contoso.example>")
    assert item.in_reply_to == "<parent@fabrikam.example>"
    assert item.references == outgoing.references
    assert item.body_text == "Hallo Bernd,\nanbei das Angebot.\n"
    assert item.body_html is not None and "cid:logo@contoso.example" in item.body_html
    names = {a.name: a for a in item.attachments}
    assert names["Übersicht März.pdf"].data() == b"%PDF-1.4"
    assert names["logo.png"].is_inline and names["logo.png"].content_id == "<logo@contoso.example>"
    assert item.categories == ["Tracked to Dynamics 365"]
    assert item.importance == "high"
    assert item.header("X-D365Sync-ActivityId") == "0b5b2c1e-0000-0000-0000-000000000001"
    assert item.sent == datetime(2024, 6, 3, 9, 15, tzinfo=UTC)


def test_build_structure() -> None:
    mime = build_mime(_outgoing())
    assert mime.get_content_type() == "multipart/mixed"
    body = mime.get_body(("related",))
    assert body is not None
    parsed = BytesParser(policy=policy.default).parsebytes(render(mime))
    assert isinstance(parsed, EmailMessage)
    alternative = parsed.get_payload(0)
    assert isinstance(alternative, EmailMessage)
    assert alternative.get_content_type() == "multipart/alternative"


def test_build_keeps_a_given_message_id() -> None:
    mime = build_mime(_outgoing(message_id="<fixed@contoso.example>"))
    assert mime["Message-ID"] == "<fixed@contoso.example>"


@pytest.mark.parametrize(
    ("text", "html", "content_type"),
    [("only text", None, "text/plain"), (None, "<p>only html</p>", "text/html"), (None, None, "text/plain")],
)
def test_build_single_body(text: str | None, html: str | None, content_type: str) -> None:
    mime = build_mime(_outgoing(body_text=text, body_html=html, attachments=[]))
    assert mime.get_content_type() == content_type


def test_build_refuses_bad_input() -> None:
    with pytest.raises(MalformedMessage):
        build_mime(_outgoing(to=[("x", "not an address <")]))
    with pytest.raises(MalformedMessage):
        build_mime(_outgoing(extra_headers=[("Subject", "sneaky")]))


# ---- the synthetic Message-ID (issue 11 item 8) ---------------------------------------------------------


def _headers_only_equal(body: bytes) -> bytes:
    return b"From: a@contoso.example\r\nTo: b@contoso.example\r\nSubject: Form letter\r\n\r\n" + body


def test_synthetic_id_covers_the_whole_message() -> None:
    one, two = (
        parse_message(_headers_only_equal(b"Dear Anna")),
        parse_message(_headers_only_equal(b"Dear Bob")),
    )
    assert one.message_id_synthetic and two.message_id_synthetic
    assert one.message_id != two.message_id
    # line ends do not matter, nor a size limit applied to the full message
    again = _headers_only_equal(b"Dear Anna").replace(b"\r\n", b"\n")
    assert parse_message(again).message_id == one.message_id
    assert parse_message(_headers_only_equal(b"Dear Anna"), size_limit=60).message_id == one.message_id


def test_a_partial_download_uses_the_headers_and_the_uidl() -> None:
    """POP3 TOP of a message over the size limit: the body is not at hand, the UIDL tells messages apart."""
    head = _headers_only_equal(b"")
    first = parse_message(head, item_id="UIDL-1", truncated=True)
    second = parse_message(head, item_id="UIDL-2", truncated=True)
    assert first.message_id != second.message_id
    assert parse_message(head, item_id="UIDL-1", truncated=True).message_id == first.message_id


def test_the_servers_internet_message_id_wins() -> None:
    raw = _headers_only_equal(b"Dear Anna")
    item = parse_message(raw, item_id="AAMk1", internet_message_id="<server-1@contoso.example>")
    assert item.message_id == "<server-1@contoso.example>" and not item.message_id_synthetic
    assert parse_message(raw, internet_message_id="  ").message_id_synthetic
