"""MIME and body formats in the EWS stand-in: HTML <-> text, an item's MimeContent rendered from its fields,
and a client's MimeContent read into the item's fields on CreateItem."""

from __future__ import annotations

import base64
import copy
import email
import email.policy
import email.utils
import html
import re
from email.message import EmailMessage

from wizard.sandbox.ews._soap import Element, el, format_dt, mailbox_elem, parse_dt, set_child, sub, t
from wizard.sandbox.ews.store import StoredItem


def html_to_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def text_to_html(text: str) -> str:
    body = html.escape(text).replace("\n", "<br>\n")
    head = '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    return f"<html><head>{head}</head><body>{body}</body></html>"


def mime_for(item: StoredItem) -> str:
    """A MIME rendering (base64) of an item that was not created from MIME."""
    src = item.element
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = src.findtext(t("Subject")) or ""
    for header, name in (("From", "From"), ("To", "ToRecipients"), ("Cc", "CcRecipients")):
        found = src.find(t(name))
        if found is not None:
            boxes = [
                email.utils.formataddr((b.findtext(t("Name")) or "", b.findtext(t("EmailAddress")) or ""))
                for b in found.iter(t("Mailbox"))
            ]
            if boxes:
                msg[header] = ", ".join(boxes)
    sent = parse_dt(src.findtext(t("DateTimeSent")) or src.findtext(t("DateTimeCreated")))
    if sent:
        msg["Date"] = email.utils.format_datetime(sent)
    for header, name in (
        ("Message-ID", "InternetMessageId"),
        ("In-Reply-To", "InReplyTo"),
        ("References", "References"),
    ):
        value = src.findtext(t(name))
        if value:
            msg[header] = value
    body = src.find(t("Body"))
    if body is not None and body.get("BodyType") == "HTML":
        msg.set_content(html_to_text(body.text or ""))
        msg.add_alternative(body.text or "", subtype="html")
    else:
        msg.set_content("" if body is None else body.text or "")
    return base64.b64encode(msg.as_bytes()).decode("ascii")


# -- MIME import -------------------------------------------------------------------------------------------
def apply_mime(elem: Element) -> None:
    """Fill fields of a message created from MIME (headers, addresses, ids, body) that were not given."""
    mime = elem.find(t("MimeContent"))
    if mime is None or not (mime.text or "").strip():
        return
    raw = base64.b64decode(mime.text or "")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers = el(t("InternetMessageHeaders"))
    for name, value in msg.items():
        sub(headers, "t:InternetMessageHeader", str(value), {"HeaderName": name})
    for old in elem.findall(t("InternetMessageHeaders")):
        elem.remove(old)
    elem.append(headers)

    def given(name: str) -> bool:
        return elem.find(t(name)) is not None

    if not given("Subject") and msg["Subject"] is not None:
        set_child(elem, "Subject", str(msg["Subject"]))
    for header, name in (
        ("From", "From"),
        ("Sender", "Sender"),
        ("To", "ToRecipients"),
        ("Cc", "CcRecipients"),
    ):
        if given(name) or msg[header] is None:
            continue
        pairs = email.utils.getaddresses([str(msg[header])])
        if name in ("From", "Sender"):
            elem.append(mailbox_elem(t(name), pairs[0][0], pairs[0][1]))
        else:
            holder = sub(elem, f"t:{name}")
            for display, address in pairs:
                box = sub(holder, "t:Mailbox")
                sub(box, "t:Name", display or address)
                sub(box, "t:EmailAddress", address)
                sub(box, "t:RoutingType", "SMTP")
    if not given("Sender") and given("From"):
        sender = copy.deepcopy(elem.find(t("From")))
        sender.tag = t("Sender")
        elem.append(sender)
    for header, name in (
        ("Message-ID", "InternetMessageId"),
        ("In-Reply-To", "InReplyTo"),
        ("References", "References"),
    ):
        if not given(name) and msg[header] is not None:
            set_child(elem, name, " ".join(str(msg[header]).split()))
    if not given("DateTimeSent") and msg["Date"] is not None:
        with_dt = email.utils.parsedate_to_datetime(str(msg["Date"]))
        set_child(elem, "DateTimeSent", format_dt(with_dt))
    if not given("Body"):
        part = msg.get_body(preferencelist=("html", "plain"))
        if part is not None:
            content = part.get_content()
            kind = "HTML" if part.get_content_type() == "text/html" else "Text"
            set_child(elem, "Body", content).set("BodyType", kind)
