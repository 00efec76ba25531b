"""XML plumbing shared by the EWS stand-in: the real namespaces, a safe parser and element helpers.

Everything is lxml, because exchangelib parses with lxml too and namespace prefixes must match the ones a
real Exchange server uses (``s:``, ``m:``, ``t:``) for the payloads to look alike in logs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lxml import etree

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
ANS = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
WSA = "http://www.w3.org/2005/08/addressing"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

NSMAP = {"s": SOAP, "m": MNS, "t": TNS}

PS_PUBLIC_STRINGS = "00020329-0000-0000-c000-000000000046"
DISTINGUISHED_SETS = {
    "publicstrings": PS_PUBLIC_STRINGS,
    "common": "00062008-0000-0000-c000-000000000046",
    "address": "00062004-0000-0000-c000-000000000046",
    "appointment": "00062002-0000-0000-c000-000000000046",
    "task": "00062003-0000-0000-c000-000000000046",
    "internetheaders": "00020386-0000-0000-c000-000000000046",
    "meeting": "6ed8da90-450b-101b-98da-00aa003f1305",
}

_PREFIXES = {"t": TNS, "m": MNS, "s": SOAP, "e": ENS, "a": ANS}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=False)

Element = Any  # lxml's _Element; kept loose so mypy needs no lxml stubs


def parse(data: bytes) -> Element:
    """Parse untrusted XML without entity expansion or network access."""
    return etree.fromstring(data, parser=_PARSER)


def to_bytes(elem: Element) -> bytes:
    return bytes(etree.tostring(elem, xml_declaration=True, encoding="utf-8"))


def to_text(elem: Element) -> str:
    return str(etree.tostring(elem, encoding="unicode"))


def t(name: str) -> str:
    return f"{{{TNS}}}{name}"


def m(name: str) -> str:
    return f"{{{MNS}}}{name}"


def local(tag: Any) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def el(
    tag: str, text: Any = None, attrs: dict[str, str] | None = None, nsmap: dict[Any, str] | None = None
) -> Element:
    """Make an element; ``tag`` as ``t:Name`` / ``m:Name`` / ``s:Name`` or Clark notation."""
    if ":" in tag and not tag.startswith("{"):
        prefix, name = tag.split(":", 1)
        tag = "{" + _PREFIXES[prefix] + "}" + name
    elem = etree.Element(tag, attrib=attrs or {}, nsmap=nsmap)
    if text is not None:
        elem.text = text if isinstance(text, str) else xml_value(text)
    return elem


def sub(parent: Element, tag: str, text: Any = None, attrs: dict[str, str] | None = None) -> Element:
    child = el(tag, text, attrs)
    parent.append(child)
    return child


def xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_dt(value)
    return str(value)


def format_dt(value: dt.datetime) -> str:
    """EWS answers in UTC with a ``Z`` suffix."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_dt(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def child(elem: Element, name: str) -> Element | None:
    """The first child in the types namespace called ``name``."""
    return elem.find(t(name))


def child_text(elem: Element, name: str) -> str | None:
    found = elem.find(t(name))
    return None if found is None else (found.text or "")


def set_child(elem: Element, name: str, value: Any) -> Element:
    """Replace (or add) the types-namespace child ``name`` with a text value."""
    for old in elem.findall(t(name)):
        elem.remove(old)
    new = el(t(name), value)
    elem.append(new)
    return new


def mailbox_elem(tag: str, name: str, address: str) -> Element:
    """``<t:From><t:Mailbox>...`` style wrapper with a single mailbox."""
    outer = el(tag)
    box = sub(outer, "t:Mailbox")
    sub(box, "t:Name", name)
    sub(box, "t:EmailAddress", address)
    sub(box, "t:RoutingType", "SMTP")
    sub(box, "t:MailboxType", "Mailbox")
    return outer


def addresses(elem: Element | None) -> list[str]:
    """All ``EmailAddress`` texts below ``elem`` (recipient lists, From, Sender, attendees)."""
    if elem is None:
        return []
    return [(e.text or "").strip() for e in elem.iter(t("EmailAddress")) if e.text]
