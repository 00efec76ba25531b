"""Regenerates the message corpus (every file here was made by this script, none copied from real mail).

Run ``python tests/corpus/make_corpus.py`` from the repository root; the output is deterministic.
Each case imitates a real-world oddity; README.md lists what each file is meant to exercise.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def tiny_png() -> bytes:
    """A valid 1x1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def b64(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return b"\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def pseudo_random(n: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:n])


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


CASES: dict[str, bytes] = {}

CASES["plain_ascii.eml"] = b"""Return-Path: <anna@contoso.example>
Received: from mx.contoso.example by mail.fabrikam.example; Mon, 03 Jun 2024 09:15:02 +0200
From: Anna Schmidt <anna@contoso.example>
To: Bernd Weber <bernd@fabrikam.example>
Subject: Meeting next week
Date: Mon, 03 Jun 2024 09:15:00 +0200
Message-ID: <plain-1@contoso.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Bernd,

can we meet on Tuesday?

Anna
"""

CASES["rfc2047_umlauts.eml"] = crlf(
    b"""From: =?utf-8?q?M=C3=BCller=2C_J=C3=BCrgen?= <juergen.mueller@contoso.example>
To: "Weber, Bernd" <bernd@fabrikam.example>, =?iso-8859-1?q?Fran=E7oise_B=E9rard?= <fb@fabrikam.example>
Cc: =?UTF-8?B?w5ZzdGVycmVpY2ggQsO8cm8=?= <wien@fabrikam.example>
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?= und =?ISO-8859-1?Q?=DCbersicht?=
 =?UTF-8?B?IGbDvHIgZGllIFdvY2hl?=
Date: Tue, 04 Jun 2024 10:00:00 +0200
Message-ID: <umlauts-2@contoso.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Sch=C3=B6ne Gr=C3=BC=C3=9Fe!
"""
)

CASES["latin1_declared_utf8.eml"] = b"""From: Hans <hans@contoso.example>
To: bernd@fabrikam.example
Subject: Charset lie
Date: Wed, 05 Jun 2024 08:00:00 +0000
Message-ID: <lie-3@contoso.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

""" + "Größe: 5 m², Preis: 10 €\n".encode()

CASES["unknown_charset.eml"] = b"""From: Old Mailer <old@contoso.example>
To: bernd@fabrikam.example
Subject: =?x-mystery-8?q?Gr=FC=DFe?= from nowhere
Date: Thu, 06 Jun 2024 08:00:00 +0000
Message-ID: <unknown-4@contoso.example>
MIME-Version: 1.0
Content-Type: text/plain; charset="x-mystery-8"
Content-Transfer-Encoding: 8bit

""" + "Grüße aus Köln\n".encode("latin-1")

CASES["undeclared_8bit.eml"] = (
    b"From: =?utf-8?q?Ren=C3=A9?= <rene@contoso.example>\n"
    b"To: bernd@fabrikam.example\n"
    + "Subject: Bestätigung Ihrer Anfrage\n".encode()
    + b"""Date: Fri, 07 Jun 2024 08:00:00 +0000
Message-ID: <undeclared-5@contoso.example>

"""
    + "Vielen Dank für Ihre Anfrage. Grüße\n".encode("latin-1")
)

CASES["multipart_alternative.eml"] = crlf(
    b"""From: Anna Schmidt <anna@contoso.example>
To: bernd@fabrikam.example
Subject: Newsletter June
Date: Mon, 10 Jun 2024 12:00:00 +0200
Message-ID: <alt-6@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="ALT-BOUNDARY"

This is a multi-part message in MIME format.

--ALT-BOUNDARY
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Plain version: K=C3=A4se
--ALT-BOUNDARY
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body><p>HTML version: <b>K=C3=A4se</b></p></body></html>
--ALT-BOUNDARY--
"""
)

_png = tiny_png()
CASES["related_inline_image.eml"] = crlf(
    b"""From: Anna Schmidt <anna@contoso.example>
To: bernd@fabrikam.example
Subject: Logo inline
Date: Mon, 10 Jun 2024 13:00:00 +0200
Message-ID: <related-7@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="outer"

--outer
Content-Type: text/plain; charset=us-ascii

See our logo.
--outer
Content-Type: multipart/related; boundary="inner"; type="text/html"

--inner
Content-Type: text/html; charset=us-ascii

<html><body>See our logo: <img src="cid:logo@contoso.example"></body></html>
--inner
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <logo@contoso.example>
Content-Disposition: inline; filename="logo.png"

"""
    + b64(_png)
    + b"""
--inner--

--outer--
"""
)

CASES["attachment_rfc2231.eml"] = crlf(
    b"""From: Anna Schmidt <anna@contoso.example>
To: bernd@fabrikam.example
Subject: Unterlagen
Date: Tue, 11 Jun 2024 09:00:00 +0200
Message-ID: <rfc2231-8@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MIX"

--MIX
Content-Type: text/plain; charset=utf-8

Anbei die Unterlagen.
--MIX
Content-Type: application/pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
 filename*=UTF-8''%C3%9Cbersicht%20M%C3%A4rz.pdf

"""
    + b64(b"%PDF-1.4\n% fake pdf for tests\n")
    + b"""
--MIX
Content-Type: text/plain; name="=?UTF-8?B?UHJlaXNsaXN0ZSBHcsO2w59lbi50eHQ=?="
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="=?UTF-8?B?UHJlaXNsaXN0ZSBHcsO2w59lbi50eHQ=?="

"""
    + b64("Größe;Preis\nS;10\n".encode())
    + b"""
--MIX
Content-Type: application/octet-stream
Content-Disposition: attachment;
 filename*0*=iso-8859-1''Kosten%FC;
 filename*1*=bersicht.xlsx

AAAA
--MIX--
"""
)

CASES["winmail_dat.eml"] = crlf(
    b"""From: Outlook User <outlook@contoso.example>
To: bernd@fabrikam.example
Subject: Rich text from Outlook
Date: Wed, 12 Jun 2024 09:00:00 +0200
Message-ID: <tnef-9@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="TNEF"

--TNEF
Content-Type: text/plain; charset=us-ascii

The real content is in winmail.dat.
--TNEF
Content-Type: application/ms-tnef; name="winmail.dat"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="winmail.dat"

"""
    + b64(b"\x78\x9f\x3e\x22" + pseudo_random(200))
    + b"""
--TNEF--
"""
)

CASES["missing_message_id.eml"] = b"""From: Script <cron@contoso.example>
To: bernd@fabrikam.example
Subject: Nightly report
Date: Thu, 13 Jun 2024 02:00:00 +0000

All jobs ran.
"""

CASES["duplicate_headers.eml"] = b"""From: First Sender <first@contoso.example>
From: Second Sender <second@contoso.example>
To: bernd@fabrikam.example
Subject: First subject
Subject: Second subject
Date: Fri, 14 Jun 2024 08:00:00 +0000
Message-ID: <dup-first@contoso.example>
Message-ID: <dup-second@contoso.example>

Two of everything.
"""

CASES["oversized.eml"] = crlf(
    b"""From: Anna Schmidt <anna@contoso.example>
To: bernd@fabrikam.example
Subject: Big scan
Date: Mon, 17 Jun 2024 08:00:00 +0000
Message-ID: <big-12@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BIG"

--BIG
Content-Type: text/plain; charset=utf-8

The scan is attached (about 300 KB).
--BIG
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="scan.tif"

"""
    + b64(pseudo_random(300_000))
    + b"""
--BIG--
"""
)

CASES["broken_boundary.eml"] = b"""From: Broken Mailer <broken@contoso.example>
To: bernd@fabrikam.example
Subject: Broken MIME
Date: Tue, 18 Jun 2024 08:00:00 +0000
Message-ID: <broken-13@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="DECLARED"

--SOMETHING-ELSE
Content-Type: text/plain

The boundary in the header does not match the one used here.
--SOMETHING-ELSE
Content-Type: application/pdf; name="lost.pdf"

%PDF
"""

CASES["header_garbage.eml"] = (
    b"From: Garbage <garbage@contoso.example>\n"
    b"To: bernd@fabrikam.example, , <>, not an address\n"
    b"Subject: Header garbage\n"
    b"\x01\x02binary junk line without colon\n"
    b"X-Weird: \xff\xfe\xfa\n"
    b"Date: yesterday at noon\n"
    b"Message-ID: <garbage-14@contoso.example>\n"
    b"\n"
    b"Body survives.\n"
)

CASES["reply_thread.eml"] = crlf(
    b"""From: Bernd Weber <bernd@fabrikam.example>
To: Anna Schmidt <anna@contoso.example>
Subject: RE: Meeting next week CRM:0001001
Date: Mon, 03 Jun 2024 11:00:00 +0200
Message-ID: <reply-15@fabrikam.example>
In-Reply-To: <plain-1@contoso.example>
References: <root-0@contoso.example>
 <plain-1@contoso.example>
Thread-Topic: Meeting next week
Thread-Index: AdqghXo1T5ptZxJdQeCVbm8pTFRx2Q==
Keywords: Tracked to Dynamics 365, Customer
Importance: high
Content-Type: text/plain; charset=us-ascii

Tuesday works.
"""
)

_inner = crlf(
    b"""From: Carla <carla@contoso.example>
To: anna@contoso.example
Subject: Original offer
Date: Sun, 02 Jun 2024 10:00:00 +0200
Message-ID: <inner-16@contoso.example>

Offer inside.
"""
)
CASES["forwarded_rfc822.eml"] = (
    crlf(
        b"""From: Anna Schmidt <anna@contoso.example>
To: bernd@fabrikam.example
Subject: Fwd: Original offer
Date: Mon, 03 Jun 2024 12:00:00 +0200
Message-ID: <fwd-16@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="FWD"

--FWD
Content-Type: text/plain; charset=us-ascii

See the forwarded message.
--FWD
Content-Type: message/rfc822

"""
    )
    + _inner
    + b"\r\n--FWD--\r\n"
)

CASES["long_lines.eml"] = crlf(
    b"""From: Marketing <news@contoso.example>
To: bernd@fabrikam.example
Subject: One very long HTML line
Date: Tue, 18 Jun 2024 10:00:00 +0000
Message-ID: <long-17@contoso.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<html><body>"""
    + b"<span>x</span>" * 700
    + b"""</body></html>
"""
)

CASES["bad_base64.eml"] = crlf(
    b"""From: Anna Schmidt <anna@contoso.example>
To: bernd@fabrikam.example
Subject: Damaged attachment
Date: Wed, 19 Jun 2024 10:00:00 +0000
Message-ID: <badb64-18@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B64"

--B64
Content-Type: text/plain; charset=utf-8

The attachment's base64 is damaged.
--B64
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="damaged.bin"

SGVsbG8gV29ybGQ!!!*
--B64--
"""
)


def main() -> None:
    for name, data in CASES.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(CASES)} files to {HERE}")


if __name__ == "__main__":
    main()
