"""message.parse_message over the whole real-world corpus (tests/corpus): nothing crashes, and each file
gives the subject, sender, attachment names and defects it is there for."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wizard.mailbox.message import SYNTHETIC_DOMAIN, parse_message

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@dataclass
class Expected:
    subject: str
    sender: tuple[str, str] | None
    attachments: list[str] = field(default_factory=list)
    #: substrings that must each appear in one of the defects; [] = no defects at all
    defects: list[str] = field(default_factory=list)
    body_contains: str | None = None
    html_contains: str | None = None
    size_limit: int | None = None


EXPECTED: dict[str, Expected] = {
    "plain_ascii.eml": Expected(
        "Meeting next week", ("Anna Schmidt", "anna@contoso.example"), body_contains="can we meet on Tuesday?"
    ),
    "rfc2047_umlauts.eml": Expected(
        "Grüße aus München und Übersicht für die Woche",
        ("Müller, Jürgen", "juergen.mueller@contoso.example"),
        body_contains="Schöne Grüße!",
    ),
    "latin1_declared_utf8.eml": Expected(
        "Charset lie",
        ("Hans", "hans@contoso.example"),
        defects=["declared 'iso-8859-1' but the text is UTF-8"],
        body_contains="Größe: 5 m², Preis: 10 €",
    ),
    "unknown_charset.eml": Expected(
        "Grüße from nowhere",
        ("Old Mailer", "old@contoso.example"),
        defects=["unknown charset 'x-mystery-8'"],
        body_contains="Grüße aus Köln",
    ),
    "undeclared_8bit.eml": Expected(
        "Bestätigung Ihrer Anfrage",
        ("René", "rene@contoso.example"),
        defects=["undeclared 8-bit text read as Windows-1252"],
        body_contains="Vielen Dank für Ihre Anfrage. Grüße",
    ),
    "multipart_alternative.eml": Expected(
        "Newsletter June",
        ("Anna Schmidt", "anna@contoso.example"),
        body_contains="Plain version: Käse",
        html_contains="<b>Käse</b>",
    ),
    "related_inline_image.eml": Expected(
        "Logo inline",
        ("Anna Schmidt", "anna@contoso.example"),
        attachments=["logo.png"],
        body_contains="See our logo.",
        html_contains='src="cid:logo@contoso.example"',
    ),
    "attachment_rfc2231.eml": Expected(
        "Unterlagen",
        ("Anna Schmidt", "anna@contoso.example"),
        attachments=["Übersicht März.pdf", "Preisliste Größen.txt", "Kostenübersicht.xlsx"],
        body_contains="Anbei die Unterlagen.",
    ),
    "winmail_dat.eml": Expected(
        "Rich text from Outlook",
        ("Outlook User", "outlook@contoso.example"),
        attachments=["winmail.dat"],
        body_contains="winmail.dat",
    ),
    "missing_message_id.eml": Expected(
        "Nightly report", ("Script", "cron@contoso.example"), body_contains="All jobs ran."
    ),
    "duplicate_headers.eml": Expected(
        "First subject",
        ("First Sender", "first@contoso.example"),
        defects=["duplicate subject", "duplicate from", "duplicate message-id"],
    ),
    "oversized.eml": Expected(
        "Big scan",
        ("Anna Schmidt", "anna@contoso.example"),
        defects=[
            "attachments omitted (size limit): scan.tif",
            "message cut at 65536",
            "CloseBoundaryNotFound",
        ],
        body_contains="The scan is attached",
        size_limit=64 * 1024,
    ),
    "broken_boundary.eml": Expected(
        "Broken MIME",
        ("Broken Mailer", "broken@contoso.example"),
        attachments=["lost.pdf"],
        defects=["MIME boundary did not match", "StartBoundaryNotFoundDefect"],
        body_contains="does not match the one used here",
    ),
    "header_garbage.eml": Expected(
        "Header garbage",
        ("Garbage", "garbage@contoso.example"),
        defects=["unreadable line(s) in the header section", "unreadable date", "not an email address"],
        body_contains="Body survives.",
    ),
    "reply_thread.eml": Expected(
        "RE: Meeting next week CRM:0001001",
        ("Bernd Weber", "bernd@fabrikam.example"),
        body_contains="Tuesday works.",
    ),
    "forwarded_rfc822.eml": Expected(
        "Fwd: Original offer",
        ("Anna Schmidt", "anna@contoso.example"),
        attachments=["Original offer.eml"],
        body_contains="See the forwarded message.",
    ),
    "long_lines.eml": Expected(
        "One very long HTML line", ("Marketing", "news@contoso.example"), html_contains="<span>x</span>" * 50
    ),
    "bad_base64.eml": Expected(
        "Damaged attachment",
        ("Anna Schmidt", "anna@contoso.example"),
        attachments=["damaged.bin"],
        defects=["InvalidBase64"],
    ),
}


def test_every_corpus_file_has_expectations() -> None:
    files = {p.name for p in CORPUS.glob("*.eml")}
    assert files == set(EXPECTED), "add expectations for new corpus files (and files for new expectations)"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str) -> None:
    expected = EXPECTED[name]
    raw = (CORPUS / name).read_bytes()
    item = parse_message(raw, item_id="uid-1", size_limit=expected.size_limit)
    assert item.id == "uid-1"
    assert item.subject == expected.subject
    assert item.sender == expected.sender
    assert [a.name for a in item.attachments] == expected.attachments
    if expected.defects:
        for wanted in expected.defects:
            assert any(wanted in d for d in item.defects), (wanted, item.defects)
    else:
        assert item.defects == []
    if expected.body_contains is not None:
        assert item.body_text is not None and expected.body_contains in item.body_text
    if expected.html_contains is not None:
        assert item.body_html is not None and expected.html_contains in item.body_html
    assert item.size == len(raw)
    assert item.message_id.startswith("<") and item.message_id.endswith(">")
    for att in item.attachments:
        assert att.size == len(att.data())
    assert "\r" not in (item.body_text or "")


def test_umlaut_recipients() -> None:
    item = parse_message((CORPUS / "rfc2047_umlauts.eml").read_bytes())
    assert item.to == [
        ("Weber, Bernd", "bernd@fabrikam.example"),
        ("Françoise Bérard", "fb@fabrikam.example"),
    ]
    assert item.cc == [("Österreich Büro", "wien@fabrikam.example")]


def test_threading_headers() -> None:
    item = parse_message((CORPUS / "reply_thread.eml").read_bytes())
    assert item.message_id == "<reply-15@fabrikam.example>"
    assert item.in_reply_to == "<plain-1@contoso.example>"
    assert item.references == ["<root-0@contoso.example>", "<plain-1@contoso.example>"]
    assert item.conversation_index == "AdqghXo1T5ptZxJdQeCVbm8pTFRx2Q=="
    assert item.conversation_topic == "Meeting next week"
    assert item.categories == ["Tracked to Dynamics 365", "Customer"]
    assert item.importance == "high"


def test_missing_message_id_is_synthetic_and_stable() -> None:
    raw = (CORPUS / "missing_message_id.eml").read_bytes()
    first = parse_message(raw)
    assert first.message_id_synthetic
    assert first.message_id.endswith(f"@{SYNTHETIC_DOMAIN}>")
    assert parse_message(raw).message_id == first.message_id
    # same mail over POP3 (CRLF), cut by a size limit: same id
    crlf = raw.replace(b"\n", b"\r\n")
    assert parse_message(crlf, size_limit=len(crlf) - 5).message_id == first.message_id
    other = raw.replace(b"Nightly report", b"Weekly report")
    assert parse_message(other).message_id != first.message_id


def test_duplicate_headers_first_wins_everywhere() -> None:
    item = parse_message((CORPUS / "duplicate_headers.eml").read_bytes())
    assert item.message_id == "<dup-first@contoso.example>"
    assert item.header("subject") == "First subject"
    assert [v for k, v in item.headers if k == "Subject"] == ["First subject", "Second subject"]


def test_inline_image_is_marked_inline() -> None:
    item = parse_message((CORPUS / "related_inline_image.eml").read_bytes())
    (logo,) = item.attachments
    assert logo.is_inline and logo.content_id == "<logo@contoso.example>"
    assert logo.content_type == "image/png"
    assert logo.data().startswith(b"\x89PNG")


def test_forwarded_message_is_kept_whole() -> None:
    item = parse_message((CORPUS / "forwarded_rfc822.eml").read_bytes())
    (forwarded,) = item.attachments
    inner = parse_message(forwarded.data())
    assert inner.subject == "Original offer"
    assert inner.message_id == "<inner-16@contoso.example>"
    assert item.body_text is not None and "Offer inside" not in item.body_text


def test_oversized_loads_no_attachment_bytes() -> None:
    raw = (CORPUS / "oversized.eml").read_bytes()
    item = parse_message(raw, size_limit=64 * 1024)
    assert item.truncated and item.attachments_omitted and item.attachments == []
    assert item.size == len(raw)
    whole = parse_message(raw)
    assert not whole.truncated and [a.name for a in whole.attachments] == ["scan.tif"]
    assert whole.attachments[0].size == 300_000
