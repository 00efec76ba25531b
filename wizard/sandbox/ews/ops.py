"""The EWS operations of the stand-in: SOAP body in, SOAP body out, against a :class:`MailboxStore`.

Shapes follow what exchangelib 5.6 sends (IdOnly + AdditionalProperties, IndexedPageItemView, SetItemField
with a ``<t:Contact>`` wrapper, ...) and what Exchange answers; errors are per-item ResponseMessages with the
documented ResponseCodes, so exchangelib raises the same exception classes it would against a real server.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from wizard.sandbox.ews._soap import (
    DISTINGUISHED_SETS,
    MNS,
    TNS,
    Element,
    addresses,
    el,
    format_dt,
    local,
    m,
    mailbox_elem,
    parse_dt,
    set_child,
    sub,
    t,
)
from wizard.sandbox.ews.occurrences import (
    EXCEPTIONS,
    Occurrence,
    SeriesError,
    delete_occurrence,
    first_last,
    occurrence_at,
    occurrence_element,
    occurrence_id,
    occurrences,
    parse_occurrence_id,
    refresh_ids,
    reset_exceptions,
    store_exception,
)
from wizard.sandbox.ews.store import (
    DISTINGUISHED_FOLDERS,
    HIDDEN_FOLDERS,
    MailboxStore,
    StoredFolder,
    StoredItem,
    changekey_seq,
    utcnow,
)


class EwsError(Exception):
    """A ResponseCode answered for one item/folder of a request (ResponseClass="Error")."""

    def __init__(self, code: str, text: str = "") -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text or code


@dataclass(frozen=True)
class Mailbox:
    """Who is calling: the authenticated user's mailbox."""

    address: str  # primary SMTP, lower case
    display_name: str
    aliases: frozenset[str] = frozenset()


# -- property paths --------------------------------------------------------------------------------------
INDEXED_CONTAINERS = {
    "contacts:EmailAddress": "EmailAddresses",
    "contacts:PhoneNumber": "PhoneNumbers",
    "contacts:ImAddress": "ImAddresses",
    "contacts:PhysicalAddress": "PhysicalAddresses",
}

DEFAULT_ITEM_CLASS = {
    "Message": "IPM.Note",
    "CalendarItem": "IPM.Appointment",
    "Contact": "IPM.Contact",
    "Task": "IPM.Task",
    "DistributionList": "IPM.DistList",
    "PostItem": "IPM.Post",
    "MeetingRequest": "IPM.Schedule.Meeting.Request",
}

DEFAULT_FOLDER_FOR = {
    "CalendarItem": "calendar",
    "Contact": "contacts",
    "DistributionList": "contacts",
    "Task": "tasks",
}

RECURRENCE_PATTERNS = {
    "RelativeYearlyRecurrence",
    "AbsoluteYearlyRecurrence",
    "RelativeMonthlyRecurrence",
    "AbsoluteMonthlyRecurrence",
    "WeeklyRecurrence",
    "DailyRecurrence",
    "DailyRegeneration",
    "WeeklyRegeneration",
    "MonthlyRegeneration",
    "YearlyRegeneration",
}
RECURRENCE_RANGES = {"NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence"}


@dataclass(frozen=True)
class PropPath:
    kind: str  # field | indexed | ext
    uri: str  # FieldURI; for ext the normalized key
    index: str | None = None
    source: Element | None = field(default=None, compare=False, hash=False)

    @property
    def name(self) -> str:
        """The element that holds the value in an item."""
        if self.kind == "ext":
            return "ExtendedProperty"
        for prefix, container in INDEXED_CONTAINERS.items():
            if self.uri == prefix or self.uri.startswith(prefix + ":"):
                return container
        return self.uri.rsplit(":", 1)[-1] if self.uri.count(":") == 1 else self.uri.split(":")[1]

    @property
    def subfield(self) -> str | None:
        parts = self.uri.split(":")
        return parts[2] if self.kind == "indexed" and len(parts) == 3 else None

    @property
    def key(self) -> str:
        return self.uri if self.kind == "ext" else self.name + (f":{self.index}" if self.index else "")


def ext_key(uri: Element) -> str:
    """Normalize an ExtendedFieldURI: DistinguishedPropertySetId and PropertySetId name the same set."""
    set_id = (uri.get("PropertySetId") or "").strip("{}").lower()
    dist = uri.get("DistinguishedPropertySetId")
    if dist:
        set_id = DISTINGUISHED_SETS.get(dist.lower(), dist.lower())
    tag = uri.get("PropertyTag")
    tag_norm = str(int(tag, 0)) if tag else ""
    return "|".join((set_id, tag_norm, uri.get("PropertyName") or "", uri.get("PropertyId") or ""))


def parse_path(elem: Element) -> PropPath:
    name = local(elem.tag)
    if name == "FieldURI":
        return PropPath("field", elem.get("FieldURI") or "")
    if name == "IndexedFieldURI":
        return PropPath("indexed", elem.get("FieldURI") or "", elem.get("FieldIndex"))
    if name == "ExtendedFieldURI":
        return PropPath("ext", ext_key(elem), source=elem)
    raise EwsError("ErrorInvalidPropertyRequest", f"Unknown property path {name}.")


def values_of(elem: Element, path: PropPath) -> list[str]:
    """Texts a restriction or sort compares for ``path`` (multi-valued fields give several)."""
    if path.kind == "ext":
        for prop in elem.findall(t("ExtendedProperty")):
            uri = prop.find(t("ExtendedFieldURI"))
            if uri is not None and ext_key(uri) == path.uri:
                values = prop.find(t("Values"))
                if values is not None:
                    return [v.text or "" for v in values]
                value = prop.find(t("Value"))
                return [] if value is None else [value.text or ""]
        return []
    if path.kind == "indexed":
        container = elem.find(t(path.name))
        if container is None:
            return []
        for entry in container:
            if entry.get("Key") == path.index:
                if path.subfield:
                    sub_elem = entry.find(t(path.subfield))
                    return [] if sub_elem is None else [sub_elem.text or ""]
                return [entry.text or ""]
        return []
    out: list[str] = []
    for found in elem.findall(t(path.name)):
        if len(found) == 0:
            out.append(found.text or "")
        else:
            out.extend(e.text or "" for e in found.iter() if len(e) == 0 and e.text)
    return out


def _typed(value: str) -> tuple[int, Any]:
    text = value.strip()
    if len(text) >= 10 and text[4:5] == "-" and (parsed := parse_dt(text)) is not None:
        return (0, parsed.timestamp())
    try:
        return (1, float(text))
    except ValueError:
        pass
    if text.lower() in ("true", "false"):
        return (1, 1.0 if text.lower() == "true" else 0.0)
    return (2, text.casefold())


def compare(left: str, right: str) -> int:
    a, b = _typed(left), _typed(right)
    if a[0] != b[0]:
        a, b = (2, left.strip().casefold()), (2, right.strip().casefold())
    return int(a[1] > b[1]) - int(a[1] < b[1])


COMPARISONS: dict[str, Callable[[int], bool]] = {
    "IsEqualTo": lambda c: c == 0,
    "IsNotEqualTo": lambda c: c != 0,
    "IsGreaterThan": lambda c: c > 0,
    "IsGreaterThanOrEqualTo": lambda c: c >= 0,
    "IsLessThan": lambda c: c < 0,
    "IsLessThanOrEqualTo": lambda c: c <= 0,
}


def matches(elem: Element, cond: Element) -> bool:
    """Evaluate a ``<m:Restriction>`` search expression on a stored item element."""
    name = local(cond.tag)
    if name == "Restriction":
        return all(matches(elem, c) for c in cond)
    if name == "And":
        return all(matches(elem, c) for c in cond)
    if name == "Or":
        return any(matches(elem, c) for c in cond)
    if name == "Not":
        return not matches(elem, cond[0])
    if name == "Exists":
        path = parse_path(cond[0])
        return bool(values_of(elem, path)) or (elem.find(t(path.name)) is not None and path.kind == "field")
    if name in COMPARISONS:
        path = parse_path(cond[0])
        constant = cond.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
        if constant is None:
            raise EwsError("ErrorUnsupportedQueryFilter", "Only constants can be compared.")
        wanted = constant.get("Value") or ""
        values = values_of(elem, path)
        if name == "IsNotEqualTo":
            return all(compare(v, wanted) != 0 for v in values)
        return any(COMPARISONS[name](compare(v, wanted)) for v in values)
    if name == "Contains":
        path = parse_path(cond[0])
        constant = cond.find(t("Constant"))
        wanted = "" if constant is None else constant.get("Value") or ""
        mode = cond.get("ContainmentMode", "Substring")
        exact = cond.get("ContainmentComparison", "IgnoreCase") == "Exact"
        for value in values_of(elem, path):
            a, b = (value, wanted) if exact else (value.casefold(), wanted.casefold())
            if (
                (mode == "FullString" and a == b)
                or (mode == "Prefixed" and a.startswith(b))
                or (mode in ("Substring", "PrefixOnWords", "ExactPhrase") and b in a)
            ):
                return True
        return False
    raise EwsError("ErrorUnsupportedQueryFilter", f"The restriction {name} is not supported.")


# -- shapes ---------------------------------------------------------------------------------------------
@dataclass
class Shape:
    base: str = "Default"
    include_mime: bool = False
    body_type: str | None = None
    paths: list[PropPath] = field(default_factory=list)

    @classmethod
    def parse(cls, elem: Element | None) -> Shape:
        if elem is None:
            return cls()
        shape = cls(base=(elem.findtext(t("BaseShape")) or "Default").strip())
        shape.include_mime = (elem.findtext(t("IncludeMimeContent")) or "").strip() == "true"
        shape.body_type = elem.findtext(t("BodyType"))
        extra = elem.find(t("AdditionalProperties"))
        if extra is not None:
            shape.paths = [parse_path(p) for p in extra]
        return shape

    @property
    def names(self) -> set[str]:
        return {p.name for p in self.paths if p.kind != "ext"}


NEVER_BY_DEFAULT = {
    "MimeContent",
    "ExtendedProperty",
    "TextBody",
    "UniqueBody",
    "NormalizedBody",
    EXCEPTIONS,  # the stand-in's own store of exceptions, never shown
}


def html_to_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def text_to_html(text: str) -> str:
    body = html.escape(text).replace("\n", "<br>\n")
    head = '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    return f"<html><head>{head}</head><body>{body}</body></html>"


def convert_body(body: Element, wanted: str | None) -> Element:
    out = copy.deepcopy(body)
    kind = body.get("BodyType", "Text")
    if wanted == "Text" and kind == "HTML":
        out.text, out.attrib["BodyType"] = html_to_text(body.text or ""), "Text"
    elif wanted == "HTML" and kind == "Text":
        out.text, out.attrib["BodyType"] = text_to_html(body.text or ""), "HTML"
    return out


def render_item(item: StoredItem, shape: Shape, store: MailboxStore) -> Element:
    """The item as GetItem/FindItem/SyncFolderItems answer it for ``shape``."""
    src = item.element
    out = el(t(item.tag))
    names = shape.names
    everything = shape.base in ("Default", "AllProperties")
    for child in src:
        name = local(child.tag)
        if name == "ItemId":
            out.append(copy.deepcopy(child))
        elif name in NEVER_BY_DEFAULT:
            if name == "MimeContent" and (shape.include_mime or name in names):
                out.append(copy.deepcopy(child))
        elif everything or name in names:
            if name == "Body":
                out.append(convert_body(child, shape.body_type))
            elif name == "Attachments":
                atts = copy.deepcopy(child)
                for att in atts:
                    for content in att.findall(t("Content")):
                        att.remove(content)
                out.append(atts)
            else:
                out.append(copy.deepcopy(child))
    if "TextBody" in names:
        body = src.find(t("Body"))
        if body is not None:
            text_body = convert_body(body, "Text")
            text_body.tag = t("TextBody")
            out.append(text_body)
    if (shape.include_mime or "MimeContent" in names) and out.find(t("MimeContent")) is None:
        out.append(el(t("MimeContent"), mime_for(item), {"CharacterSet": "UTF-8"}))
    if item.tag == "CalendarItem" and src.find(t("Recurrence")) is not None:
        _render_master_extras(item, out, names, everything)
    for path in shape.paths:
        if path.kind != "ext":
            continue
        for prop in src.findall(t("ExtendedProperty")):
            uri = prop.find(t("ExtendedFieldURI"))
            if uri is not None and ext_key(uri) == path.uri:
                out.append(copy.deepcopy(prop))
    return out


def _render_master_extras(item: StoredItem, out: Element, names: set[str], everything: bool) -> None:
    """A master's computed occurrence fields: First/LastOccurrence, ModifiedOccurrences with current ids."""
    for old in out.findall(t("ModifiedOccurrences")):
        out.remove(old)
    if everything or "ModifiedOccurrences" in names:
        fresh = copy.deepcopy(item.element)
        refresh_ids(fresh, item.id, item.changekey)
        for node in fresh.findall(t("ModifiedOccurrences")):
            out.append(node)
    if everything or names & {"FirstOccurrence", "LastOccurrence"}:
        for node in first_last(item.element, item.id, item.changekey):
            if everything or local(node.tag) in names:
                out.append(node)


def occurrence_item(master: StoredItem, occ: Occurrence) -> StoredItem:
    """A transient item for one occurrence of ``master`` (rendered like any item, never stored)."""
    elem = occurrence_element(master.element, master.id, master.changekey, occ)
    return StoredItem(
        id=elem.find(t("ItemId")).get("Id"),
        mailbox=master.mailbox,
        folder_id=master.folder_id,
        tag="CalendarItem",
        element=elem,
        changekey=master.changekey,
        seq=master.seq,
        created_seq=master.created_seq,
        content_seq=master.content_seq,
        position=master.position,
    )


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


def render_folder(folder: StoredFolder, shape: Shape, store: MailboxStore) -> Element:
    out = el(t(folder.tag))
    sub(out, "t:FolderId", attrs={"Id": folder.id, "ChangeKey": folder.changekey})
    if shape.base == "IdOnly" and not shape.paths:
        return out
    names = shape.names
    everything = shape.base != "IdOnly"
    parent = store.folder_by_id(folder.parent_id) if folder.parent_id else None
    if parent is not None and (everything or "ParentFolderId" in names):
        sub(out, "t:ParentFolderId", attrs={"Id": parent.id, "ChangeKey": parent.changekey})
    if folder.folder_class and (everything or "FolderClass" in names):
        sub(out, "t:FolderClass", folder.folder_class)
    if everything or "DisplayName" in names:
        sub(out, "t:DisplayName", folder.name)
    if everything or "TotalCount" in names:
        sub(out, "t:TotalCount", str(store.count_in(folder.id)))
    if everything or "ChildFolderCount" in names:
        sub(out, "t:ChildFolderCount", str(len(visible_children(store, folder))))
    if folder.tag not in ("ContactsFolder", "CalendarFolder") and (everything or "UnreadCount" in names):
        unread = sum(1 for i in store.items_in(folder.id) if i.element.findtext(t("IsRead")) == "false")
        sub(out, "t:UnreadCount", str(unread))
    for path in shape.paths:
        if path.kind == "ext":
            for prop in folder.extended:
                if ext_key(prop.find(t("ExtendedFieldURI"))) == path.uri:
                    out.append(copy.deepcopy(prop))
    return out


def visible_children(store: MailboxStore, folder: StoredFolder) -> list[StoredFolder]:
    return [f for f in store.child_folders(folder.id) if f.distinguished not in HIDDEN_FOLDERS]


# -- conversation threading --------------------------------------------------------------------------------
def subject_topic(subject: str) -> str:
    return re.sub(r"^\s*((re|aw|fw|fwd|wg|antw)\s*:\s*)+", "", subject, flags=re.IGNORECASE).strip()


def conversation_fields(elem: Element) -> None:
    """ConversationId/-Index/-Topic from the thread headers, the way Exchange derives them."""
    refs = (elem.findtext(t("References")) or "").split()
    parent = elem.findtext(t("InReplyTo")) or (refs[-1] if refs else None)
    root = refs[0] if refs else parent or elem.findtext(t("InternetMessageId")) or ""
    if elem.find(t("ConversationId")) is None:
        digest = hashlib.sha256(root.strip().lower().encode()).digest()
        sub(elem, "t:ConversationId", attrs={"Id": base64.b64encode(b"AAQk" + digest[:20]).decode()})
    if elem.find(t("ConversationIndex")) is None:
        head = b"\x01" + hashlib.sha256(root.strip().lower().encode()).digest()[:21]
        depth = max(len(refs), 1 if parent else 0)
        tail = b"".join(hashlib.sha256(f"{root}#{n}".encode()).digest()[:5] for n in range(depth))
        sub(elem, "t:ConversationIndex", base64.b64encode(head + tail).decode())
    if elem.find(t("ConversationTopic")) is None:
        sub(elem, "t:ConversationTopic", subject_topic(elem.findtext(t("Subject")) or ""))


def _display_names(elem: Element | None) -> str:
    if elem is None:
        return ""
    return "; ".join(
        (b.findtext(t("Name")) or b.findtext(t("EmailAddress")) or "") for b in elem.iter(t("Mailbox"))
    )


BOOLEAN_NAME = re.compile(r"^(Is|Has|Allow)[A-Z]|IsSet$|Requested$")


def normalize_booleans(elem: Element) -> None:
    """Clients may send xs:boolean as 0/1; Exchange always answers true/false."""
    for node in elem.iter():
        text = (node.text or "").strip()
        if text not in ("0", "1") or len(node):
            continue
        name = local(node.tag)
        if BOOLEAN_NAME.search(name):
            node.text = "true" if text == "1" else "false"
        elif name == "Value" and node.getparent() is not None:
            uri = node.getparent().find(t("ExtendedFieldURI"))
            if uri is not None and uri.get("PropertyType") == "Boolean":
                node.text = "true" if text == "1" else "false"


def refresh_computed(elem: Element, tag: str) -> None:
    """Server-computed fields that follow from others (kept in the stored element)."""
    normalize_booleans(elem)
    for date_elem in elem.iterfind(f"{t('Recurrence')}/*/*"):
        # Exchange answers recurrence dates with a zone designator ("2026-12-01Z"), not as bare dates.
        if local(date_elem.tag) in ("StartDate", "EndDate") and len((date_elem.text or "").strip()) == 10:
            date_elem.text = date_elem.text.strip() + "Z"
    atts = elem.find(t("Attachments"))
    set_child(elem, "HasAttachments", atts is not None and len(atts) > 0)
    if tag in ("Message", "MeetingRequest"):
        set_child(elem, "DisplayTo", _display_names(elem.find(t("ToRecipients"))))
        set_child(elem, "DisplayCc", _display_names(elem.find(t("CcRecipients"))))
    if tag == "CalendarItem":
        recurring = elem.find(t("Recurrence")) is not None
        set_child(elem, "CalendarItemType", "RecurringMaster" if recurring else "Single")
        set_child(elem, "IsRecurring", recurring)
        attendees = any(
            elem.find(t(n)) is not None for n in ("RequiredAttendees", "OptionalAttendees", "Resources")
        )
        set_child(elem, "IsMeeting", attendees)
    if tag == "Task":
        status = elem.findtext(t("Status")) or "NotStarted"
        set_child(elem, "IsComplete", status == "Completed")
        if elem.find(t("Recurrence")) is not None:
            set_child(elem, "IsRecurring", True)
    if tag == "Contact" and elem.find(t("DisplayName")) is None:
        name = " ".join(filter(None, (elem.findtext(t("GivenName")), elem.findtext(t("Surname")))))
        if name:
            set_child(elem, "DisplayName", name)
    size = len(base64.b64encode(json.dumps([e.text for e in elem.iter()], default=str).encode()))
    set_child(elem, "Size", size)


def validate_recurrence(elem: Element) -> None:
    rec = elem.find(t("Recurrence"))
    if rec is None:
        return
    kinds = [local(c.tag) for c in rec]
    if not any(k in RECURRENCE_PATTERNS for k in kinds) or not any(k in RECURRENCE_RANGES for k in kinds):
        raise EwsError(
            "ErrorCalendarInvalidRecurrence", "The recurrence pattern or range is missing or unknown."
        )
    start = rec.find(f"*/{t('StartDate')}")
    end = rec.find(f"{t('EndDateRecurrence')}/{t('EndDate')}")
    if start is not None and end is not None and (start.text or "")[:10] > (end.text or "")[:10]:
        raise EwsError("ErrorCalendarInvalidRecurrence", "The recurrence ends before it starts.")


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


# -- the service -------------------------------------------------------------------------------------------
def response_message(op: str, error: EwsError | None = None) -> Element:
    msg = el(m(f"{op}ResponseMessage"), attrs={"ResponseClass": "Error" if error else "Success"})
    if error is not None:
        sub(msg, "m:MessageText", error.text)
        sub(msg, "m:ResponseCode", error.code)
        sub(msg, "m:DescriptiveLinkKey", "0")
    else:
        sub(msg, "m:ResponseCode", "NoError")
    return msg


class EwsOperations:
    """Dispatches one SOAP body element to the operation method named after it."""

    def __init__(self, store: MailboxStore, resolve_mailbox: Callable[[str], Mailbox | None]) -> None:
        self.store = store
        self.resolve_mailbox = resolve_mailbox  # address -> sandbox mailbox (for delivery and ResolveNames)
        #: meeting requests and cancellations put into sandbox inboxes (tests check SendToNone with it)
        self.invitations_sent = 0

    def handle(self, caller: Mailbox, request: Element) -> Element:
        op = local(request.tag)
        method = getattr(self, f"op_{op}", None)
        if method is None:
            raise EwsError("ErrorInvalidRequest", f"The operation {op} is not supported by the sandbox.")
        response = el(
            m(f"{op}Response"),
            nsmap={
                "m": MNS,
                "t": TNS,
            },
        )
        messages = sub(response, "m:ResponseMessages")
        with self.store.transaction():
            for msg in method(caller, request):
                messages.append(msg)
        return response

    # -- lookups ----------------------------------------------------------------------------------------
    def _folder(self, caller: Mailbox, ref: Element) -> StoredFolder:
        name = local(ref.tag)
        if name == "DistinguishedFolderId":
            owner = ref.findtext(f"{t('Mailbox')}/{t('EmailAddress')}")
            mailbox = caller.address
            if owner and owner.strip().lower() not in caller.aliases | {caller.address}:
                other = self.resolve_mailbox(owner)
                if other is None:
                    raise EwsError("ErrorNonExistentMailbox", f"No mailbox with such guid. ({owner})")
                raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            folder = self.store.folder(mailbox, ref.get("Id") or "")
            if folder is None:
                raise EwsError("ErrorFolderNotFound", "The specified folder could not be found in the store.")
            return folder
        if name == "FolderId":
            folder = self.store.folder_by_id(ref.get("Id") or "")
            if folder is None:
                raise EwsError(
                    "ErrorInvalidIdMalformed" if not _looks_like_id(ref.get("Id")) else "ErrorFolderNotFound",
                    "The specified folder could not be found in the store.",
                )
            if folder.mailbox != caller.address:
                raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            return folder
        raise EwsError("ErrorInvalidRequest", f"Unsupported folder id {name}.")

    def _item(self, caller: Mailbox, ref: Element) -> StoredItem:
        if local(ref.tag) not in ("ItemId", "ParentItemId"):
            raise EwsError("ErrorInvalidOperation", f"{local(ref.tag)} is not supported by the sandbox.")
        item_id = ref.get("Id") or ""
        item = self.store.get(item_id)
        if item is None:
            if not _looks_like_id(item_id):
                raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
            raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")
        if item.mailbox != caller.address:
            raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return item

    def _target(self, caller: Mailbox, ref: Element) -> tuple[StoredItem, Occurrence | None]:
        """An item, or (master, occurrence) for an occurrence's ItemId / OccurrenceItemId.

        A ``RecurringMasterItemId`` names the master of the occurrence it carries.
        """
        name = local(ref.tag)
        try:
            if name == "OccurrenceItemId":
                master = self._item(caller, el(t("ItemId"), attrs={"Id": ref.get("RecurringMasterId") or ""}))
                index = int(ref.get("InstanceIndex") or "0")
                return master, occurrence_at(master.element, index)
            if name == "RecurringMasterItemId":
                parsed = parse_occurrence_id(ref.get("OccurrenceId") or "")
                master_id = parsed[0] if parsed else ref.get("OccurrenceId") or ""
                return self._item(caller, el(t("ItemId"), attrs={"Id": master_id})), None
            if name == "ItemId" and self.store.get(ref.get("Id") or "") is None:
                parsed = parse_occurrence_id(ref.get("Id") or "")
                if parsed is not None:
                    master = self._item(caller, el(t("ItemId"), attrs={"Id": parsed[0]}))
                    return master, occurrence_at(master.element, parsed[1])
        except SeriesError as exc:
            raise EwsError(exc.code, exc.text) from None
        except ValueError:
            raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.") from None
        return self._item(caller, ref), None

    def _per_item(
        self, op: str, refs: list[Element], work: Callable[[Element], Element | None]
    ) -> list[Element]:
        out = []
        for ref in refs:
            try:
                payload = work(ref)
            except EwsError as exc:
                out.append(response_message(op, exc))
                continue
            msg = response_message(op)
            if payload is not None:
                msg.append(payload)
            out.append(msg)
        return out

    # -- version probing and names -------------------------------------------------------------------------
    def op_ConvertId(self, caller: Mailbox, request: Element) -> list[Element]:
        def convert(alt: Element) -> Element:
            item_id = alt.get("Id") or ""
            if self.store.get(item_id) is None and self.store.folder_by_id(item_id) is None:
                raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
            wrapper = el(m("AlternateId"))
            wrapper.append(
                el(
                    t("AlternateId"),
                    attrs={
                        "Format": request.get("DestinationFormat", "EwsId"),
                        "Id": item_id,
                        "Mailbox": caller.address,
                    },
                )
            )
            return wrapper[0]

        return self._per_item("ConvertId", list(request.find(m("SourceIds"))), convert)

    def op_ResolveNames(self, caller: Mailbox, request: Element) -> list[Element]:
        wanted = (request.findtext(m("UnresolvedEntry")) or "").strip().lower().removeprefix("smtp:")
        found = self.resolve_mailbox(wanted) if "@" in wanted else None
        if found is None:
            return [
                response_message(
                    "ResolveNames", EwsError("ErrorNameResolutionNoResults", "No results were found.")
                )
            ]
        msg = response_message("ResolveNames")
        res_set = sub(
            msg, "m:ResolutionSet", attrs={"TotalItemsInView": "1", "IncludesLastItemInRange": "true"}
        )
        resolution = sub(res_set, "t:Resolution")
        box = mailbox_elem(t("Mailbox"), found.display_name, found.address)[0]
        resolution.append(box)
        return [msg]

    # -- folders ------------------------------------------------------------------------------------------
    def op_GetFolder(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("FolderShape")))

        def get(ref: Element) -> Element:
            holder = el(m("Folders"))
            holder.append(render_folder(self._folder(caller, ref), shape, self.store))
            return holder

        return self._per_item("GetFolder", list(request.find(m("FolderIds"))), get)

    def op_FindFolder(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("FolderShape")))
        deep = request.get("Traversal", "Shallow") == "Deep"
        view = request.find(m("IndexedPageFolderView"))

        def find(ref: Element) -> Element:
            parent = self._folder(caller, ref)
            found: list[StoredFolder] = []
            queue = [parent]
            while queue:
                current = queue.pop(0)
                children = visible_children(self.store, current)
                found.extend(children)
                if deep:
                    queue.extend(children)
            restriction = request.find(m("Restriction"))
            if restriction is not None:
                found = [
                    f
                    for f in found
                    if matches(render_folder(f, Shape("AllProperties"), self.store), restriction)
                ]
            return _paged(found, view, lambda f: render_folder(f, shape, self.store), "Folders")

        return self._per_item("FindFolder", list(request.find(m("ParentFolderIds"))), find)

    def op_UpdateFolder(self, caller: Mailbox, request: Element) -> list[Element]:
        def update(change: Element) -> Element:
            folder = self._folder(caller, change[0])
            for upd in change.find(t("Updates")):
                path = parse_path(upd[0])
                kind = local(upd.tag)
                if path.kind == "ext":
                    folder.extended = [
                        p for p in folder.extended if ext_key(p.find(t("ExtendedFieldURI"))) != path.uri
                    ]
                    if kind != "DeleteFolderField":
                        for source in upd[1].findall(t("ExtendedProperty")):
                            prop = copy.deepcopy(source)
                            normalize_booleans(prop)
                            folder.extended.append(prop)
                elif path.name == "DisplayName" and kind == "SetFolderField":
                    if folder.distinguished:
                        raise EwsError(
                            "ErrorCannotRenameOrMoveDistinguishedFolder", "Cannot rename a default folder."
                        )
                    folder.name = upd[1].findtext(t("DisplayName")) or folder.name
                else:
                    raise EwsError("ErrorInvalidPropertySet", f"{path.uri} cannot be updated in the sandbox.")
            self.store.touch_folder(folder)
            holder = el(m("Folders"))
            holder.append(render_folder(folder, Shape("IdOnly"), self.store))
            return holder

        return self._per_item("UpdateFolder", list(request.find(m("FolderChanges"))), update)

    def op_SyncFolderHierarchy(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("FolderShape")))
        try:
            sync_ref = request.find(m("SyncFolderId"))
            top = (
                self._folder(caller, sync_ref[0])
                if sync_ref is not None
                else self.store.folder(caller.address, "msgfolderroot")
            )
            assert top is not None
            since = _decode_state(request.findtext(m("SyncState")), "h", top.id)
        except EwsError as exc:
            return [_sync_error("SyncFolderHierarchy", exc, "IncludesLastFolderInRange")]
        folders: list[StoredFolder] = []
        queue = [top]
        while queue:
            children = visible_children(self.store, queue.pop(0))
            folders.extend(children)
            queue.extend(children)
        msg = response_message("SyncFolderHierarchy")
        sub(msg, "m:SyncState", _encode_state("h", top.id, self.store.current_seq))
        sub(msg, "m:IncludesLastFolderInRange", "true")
        changes = sub(msg, "m:Changes")
        for folder in sorted(folders, key=lambda f: f.seq):
            if folder.seq <= since:
                continue
            change = sub(changes, "t:Create" if folder.created_seq > since else "t:Update")
            change.append(render_folder(folder, shape, self.store))
        return [msg]

    # -- finding and reading items -------------------------------------------------------------------------
    def op_FindItem(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("ItemShape")))
        restriction = request.find(m("Restriction"))
        sort = request.find(m("SortOrder"))
        view = request.find(m("IndexedPageItemView"))
        calendar = request.find(m("CalendarView"))
        if request.get("Traversal", "Shallow") not in ("Shallow", "SoftDeleted", "Associated"):
            return [response_message("FindItem", EwsError("ErrorInvalidRequest", "Traversal is not valid."))]

        def find(ref: Element) -> Element:
            folder = self._folder(caller, ref)
            traversal = request.get("Traversal", "Shallow")
            items: list[StoredItem] = []
            if traversal == "Shallow":
                items = self.store.items_in(folder.id)
            if restriction is not None:
                items = [i for i in items if matches(i.element, restriction)]
            if calendar is not None:
                start, end = parse_dt(calendar.get("StartDate")), parse_dt(calendar.get("EndDate"))
                # a CalendarView lists single items and the occurrences of masters, never a master itself
                expanded: list[StoredItem] = []
                for i in items:
                    if i.tag == "CalendarItem" and i.element.find(t("Recurrence")) is not None:
                        expanded.extend(
                            occurrence_item(i, occ)
                            for occ in occurrences(i.element, until=end)
                            if not occ.deleted
                            and (end is None or occ.start < end)
                            and (start is None or occ.end > start)
                        )
                    elif _overlaps(i.element, start, end):
                        expanded.append(i)
                items = expanded
                items.sort(key=lambda i: i.element.findtext(t("Start")) or "")
                limit = int(calendar.get("MaxEntriesReturned") or 0)
                if limit and len(items) > limit:
                    raise EwsError(
                        "ErrorExceededFindCountLimit", "The number of calendar entries exceeds the limit."
                    )
            if sort is not None:
                for order in reversed(list(sort)):
                    path = parse_path(order[0])

                    def sort_key(item: StoredItem, path: PropPath = path) -> tuple[int, Any]:
                        return _sort_key(values_of(item.element, path))

                    items.sort(key=sort_key, reverse=order.get("Order", "Ascending") == "Descending")
            return _paged(items, view, lambda i: render_item(i, shape, self.store), "Items")

        return self._per_item("FindItem", list(request.find(m("ParentFolderIds"))), find)

    def op_GetItem(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("ItemShape")))

        def get(ref: Element) -> Element:
            holder = el(m("Items"))
            item, occ = self._target(caller, ref)
            shown = occurrence_item(item, occ) if occ is not None else item
            holder.append(render_item(shown, shape, self.store))
            return holder

        return self._per_item("GetItem", list(request.find(m("ItemIds"))), get)

    def op_SyncFolderItems(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("ItemShape")))
        try:
            folder = self._folder(caller, request.find(m("SyncFolderId"))[0])
            since = _decode_state(request.findtext(m("SyncState")), "i", folder.id)
            limit = int(request.findtext(m("MaxChangesReturned")) or "100")
            if not 1 <= limit <= 512:
                raise EwsError("ErrorInvalidArgument", "MaxChangesReturned must be between 1 and 512.")
        except EwsError as exc:
            return [_sync_error("SyncFolderItems", exc, "IncludesLastItemInRange")]
        ignore_elem = request.find(m("Ignore"))
        ignore = {ref.get("Id") for ref in ignore_elem} if ignore_elem is not None else set()
        changes = [c for c in self.store.changes_since(folder.id, since) if _change_id(c) not in ignore]
        page, complete = changes[:limit], len(changes) <= limit
        new_seq = page[-1][0] if page and not complete else self.store.current_seq
        msg = response_message("SyncFolderItems")
        sub(msg, "m:SyncState", _encode_state("i", folder.id, new_seq))
        sub(msg, "m:IncludesLastItemInRange", complete)
        holder = sub(msg, "m:Changes")
        for _seq, kind, obj in page:
            if kind == "delete":
                sub(sub(holder, "t:Delete"), "t:ItemId", attrs={"Id": obj.item_id, "ChangeKey": ""})
            elif kind == "read_flag_change":
                change = sub(holder, "t:ReadFlagChange")
                sub(change, "t:ItemId", attrs={"Id": obj.id, "ChangeKey": obj.changekey})
                sub(change, "t:IsRead", obj.element.findtext(t("IsRead")) or "false")
            else:
                change = sub(holder, "t:Create" if kind == "create" else "t:Update")
                change.append(render_item(obj, shape, self.store))
        return [msg]

    # -- writing items --------------------------------------------------------------------------------------
    def op_CreateItem(self, caller: Mailbox, request: Element) -> list[Element]:
        disposition = request.get("MessageDisposition")
        invitations = request.get("SendMeetingInvitations")
        saved = request.find(m("SavedItemFolderId"))

        def create(source: Element) -> Element | None:
            tag = local(source.tag)
            elem = copy.deepcopy(source)
            if tag == "Message" and not disposition:
                raise EwsError(
                    "ErrorMessageDispositionRequired", "MessageDisposition is required for messages."
                )
            if tag == "CalendarItem" and not invitations:
                raise EwsError("ErrorSendMeetingInvitationsRequired", "SendMeetingInvitations is required.")
            if saved is not None:
                folder = self._folder(caller, saved[0])
            elif tag == "Message":
                folder = self._dist(caller, "sentitems" if disposition == "SendAndSaveCopy" else "drafts")
            else:
                folder = self._dist(caller, DEFAULT_FOLDER_FOR.get(tag, "drafts"))
            sending = tag == "Message" and disposition in ("SendOnly", "SendAndSaveCopy")
            self._prepare(caller, elem, tag, sending=sending)
            if sending:
                self._deliver(caller, elem)
                if disposition == "SendOnly":
                    return el(m("Items"))
            if tag == "CalendarItem" and invitations in ("SendOnlyToAll", "SendToAllAndSaveCopy"):
                self._invite(caller, elem)
            item = self.store.insert(caller.address, folder.id, elem)
            holder = el(m("Items"))
            holder.append(_id_echo(item))
            return holder

        return self._per_item("CreateItem", list(request.find(m("Items"))), create)

    def _dist(self, caller: Mailbox, name: str) -> StoredFolder:
        folder = self.store.folder(caller.address, name)
        if folder is None:
            raise EwsError("ErrorFolderNotFound", "The specified folder could not be found in the store.")
        return folder

    def _prepare(self, caller: Mailbox, elem: Element, tag: str, *, sending: bool) -> None:
        """Set the fields the server owns on a new item."""
        now = format_dt(utcnow())
        for owned in ("ItemId", "ParentFolderId", "DateTimeCreated", "LastModifiedTime", "Size"):
            for old in elem.findall(t(owned)):
                elem.remove(old)
        if elem.find(t("ItemClass")) is None:
            set_child(elem, "ItemClass", DEFAULT_ITEM_CLASS.get(tag, "IPM.Note"))
        if tag == "Message":
            apply_mime(elem)
            if sending:
                for name in ("From", "Sender"):
                    for old in elem.findall(t(name)):
                        elem.remove(old)
                    elem.append(mailbox_elem(t(name), caller.display_name, caller.address))
            if elem.find(t("IsRead")) is None:
                set_child(elem, "IsRead", True)
            set_child(elem, "IsDraft", not sending and elem.find(t("MimeContent")) is None)
            if elem.find(t("InternetMessageId")) is None:
                domain = caller.address.split("@")[-1]
                digest = hashlib.sha256(f"{caller.address}|{now}|{id(elem)}".encode()).hexdigest()[:24]
                set_child(elem, "InternetMessageId", f"<{digest.upper()}@{domain}>")
            if sending or elem.find(t("DateTimeSent")) is None:
                set_child(elem, "DateTimeSent", now)
            conversation_fields(elem)
        if elem.find(t("DateTimeReceived")) is None:
            set_child(elem, "DateTimeReceived", now)
        if tag == "CalendarItem":
            validate_recurrence(elem)
            if elem.find(t("UID")) is None:
                set_child(
                    elem,
                    "UID",
                    hashlib.sha256(f"{caller.address}|{now}|{id(elem)}".encode()).hexdigest().upper(),
                )
            if elem.find(t("Organizer")) is None:
                elem.append(mailbox_elem(t("Organizer"), caller.display_name, caller.address))
            set_child(elem, "MyResponseType", "Organizer")
            if elem.find(t("IsCancelled")) is None:
                set_child(elem, "IsCancelled", False)
            if elem.find(t("LegacyFreeBusyStatus")) is None:
                set_child(elem, "LegacyFreeBusyStatus", "Busy")
        if tag == "Task":
            validate_recurrence(elem)
            if elem.find(t("Status")) is None:
                set_child(elem, "Status", "NotStarted")
            if elem.find(t("PercentComplete")) is None:
                set_child(elem, "PercentComplete", 0)
        atts = elem.find(t("Attachments"))
        if atts is not None:
            for att in atts:
                self._stamp_attachment(caller, att)
        refresh_computed(elem, tag)

    def _stamp_attachment(self, caller: Mailbox, att: Element) -> None:
        for old in att.findall(t("AttachmentId")):
            att.remove(old)
        att.insert(0, el(t("AttachmentId"), attrs={"Id": self.store.new_id(caller.address, b"A")}))
        content = att.findtext(t("Content")) or ""
        if att.find(t("Size")) is None:
            set_child(att, "Size", len(base64.b64decode(content)) if content else 0)
        if att.find(t("LastModifiedTime")) is None:
            set_child(att, "LastModifiedTime", format_dt(utcnow()))
        if att.find(t("IsInline")) is None:
            set_child(att, "IsInline", False)

    def _deliver(self, caller: Mailbox, elem: Element) -> None:
        """Put a received copy into the Inbox of every recipient that is a sandbox mailbox."""
        seen: set[str] = set()
        for name in ("ToRecipients", "CcRecipients", "BccRecipients"):
            for address in addresses(elem.find(t(name))):
                target = self.resolve_mailbox(address)
                if target is None or target.address in seen:
                    continue
                seen.add(target.address)
                inbox = self.store.folder(target.address, "inbox")
                if inbox is None:
                    continue
                copy_elem = copy.deepcopy(elem)
                for strip in (
                    "BccRecipients",
                    "ExtendedProperty",
                    "ItemId",
                    "ParentFolderId",
                    "DateTimeReceived",
                ):
                    for old in copy_elem.findall(t(strip)):
                        copy_elem.remove(old)
                set_child(copy_elem, "IsRead", False)
                set_child(copy_elem, "IsDraft", False)
                set_child(copy_elem, "DateTimeReceived", format_dt(utcnow()))
                atts = copy_elem.find(t("Attachments"))
                if atts is not None:
                    for att in atts:
                        self._stamp_attachment(Mailbox(target.address, target.display_name), att)
                refresh_computed(copy_elem, "Message")
                self.store.insert(target.address, inbox.id, copy_elem)

    def _invite(self, caller: Mailbox, elem: Element, tag: str = "MeetingRequest") -> None:
        """A meeting request (or cancellation) in each attendee's Inbox; counted in ``invitations_sent``."""
        attendee_addrs: list[str] = []
        for name in ("RequiredAttendees", "OptionalAttendees"):
            attendee_addrs.extend(addresses(elem.find(t(name))))
        for address in dict.fromkeys(attendee_addrs):
            target = self.resolve_mailbox(address)
            inbox = self.store.folder(target.address, "inbox") if target else None
            if target is None or inbox is None:
                continue
            request = el(t(tag))
            for name in ("Subject", "Body", "Start", "End", "Location", "UID", "Recurrence", "IsAllDayEvent"):
                found = elem.find(t(name))
                if found is not None:
                    request.append(copy.deepcopy(found))
            set_child(
                request,
                "ItemClass",
                "IPM.Schedule.Meeting.Canceled"
                if tag == "MeetingCancellation"
                else "IPM.Schedule.Meeting.Request",
            )
            self.invitations_sent += 1
            request.append(mailbox_elem(t("From"), caller.display_name, caller.address))
            request.append(mailbox_elem(t("Organizer"), caller.display_name, caller.address))
            set_child(request, "IsRead", False)
            set_child(request, "DateTimeReceived", format_dt(utcnow()))
            refresh_computed(request, tag)
            self.store.insert(target.address, inbox.id, request)

    def op_UpdateItem(self, caller: Mailbox, request: Element) -> list[Element]:
        resolution = request.get("ConflictResolution", "AutoResolve")
        disposition = request.get("MessageDisposition")
        invitations = request.get("SendMeetingInvitationsOrCancellations")

        def update(change: Element) -> Element:
            ref = change[0]
            item, occ = self._target(caller, ref)
            if occ is not None:
                return self._update_occurrence(caller, item, occ, change, invitations)
            working = copy.deepcopy(item.element)
            changed: set[str] = set()
            for upd in change.find(t("Updates")):
                changed.add(apply_update(working, upd))
            if item.tag == "CalendarItem" and "Recurrence" in changed:
                reset_exceptions(working)  # setting the pattern drops exceptions and deleted occurrences
            given = ref.get("ChangeKey")
            if given and given != item.changekey and resolution != "AlwaysOverwrite":
                since = changekey_seq(given)
                if since is None:
                    raise EwsError("ErrorInvalidChangeKey", "The change key is invalid.")
                if resolution == "NeverOverwrite" or any(
                    item.field_seqs.get(k, item.created_seq) > since for k in changed
                ):
                    raise EwsError(
                        "ErrorIrresolvableConflict",
                        "The send or update operation could not be performed because the change key passed "
                        "in the request does not match the current change key for the item.",
                    )
            if item.tag in ("CalendarItem", "Task"):
                validate_recurrence(working)
            atts = working.find(t("Attachments"))
            if atts is not None:
                for att in atts:
                    if att.find(t("AttachmentId")) is None:
                        self._stamp_attachment(caller, att)
            refresh_computed(working, item.tag)
            item.element = working
            self.store.save(item, changed, read_flag_only=changed == {"IsRead"})
            if item.tag == "CalendarItem" and invitations in SENDING_INVITATIONS:
                self._invite(caller, working)
            if item.tag == "Message" and disposition in ("SendOnly", "SendAndSaveCopy"):
                self._send(caller, item, save=disposition == "SendAndSaveCopy", saved=None)
            holder = el(m("Items"))
            holder.append(_id_echo(item))
            return holder

        out = self._per_item("UpdateItem", list(request.find(m("ItemChanges"))), update)
        for msg in out:
            if msg.get("ResponseClass") == "Success":
                sub(sub(msg, "m:ConflictResults"), "t:Count", "0")
        return out

    def _update_occurrence(
        self,
        caller: Mailbox,
        master: StoredItem,
        occ: Occurrence,
        change: Element,
        invitations: str | None,
    ) -> Element:
        """Updating one occurrence makes (or changes) an exception; the master gets a new ChangeKey."""
        working = occurrence_element(master.element, master.id, master.changekey, occ)
        for upd in change.find(t("Updates")):
            name = parse_path(upd[0]).name
            if name in ("Recurrence", "ItemId"):
                raise EwsError("ErrorInvalidPropertySet", f"{name} cannot be set on an occurrence.")
            apply_update(working, upd)
        start, end = parse_dt(working.findtext(t("Start"))), parse_dt(working.findtext(t("End")))
        if start is not None and end is not None and end < start:
            raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate")
        refresh_computed(working, "CalendarItem")
        set_child(working, "CalendarItemType", "Exception")
        elem = copy.deepcopy(master.element)
        store_exception(elem, master.id, master.changekey, occ, working)
        master.element = elem
        self.store.save(master, {"ModifiedOccurrences"})
        if invitations in SENDING_INVITATIONS:
            self._invite(caller, working)
        holder = el(m("Items"))
        echo = sub(holder, "t:CalendarItem")
        sub(
            echo,
            "t:ItemId",
            attrs={"Id": occurrence_id(master.id, occ.index), "ChangeKey": master.changekey},
        )
        return holder

    def _cancel(self, caller: Mailbox, elem: Element) -> None:
        """A meeting cancellation in each sandbox attendee's Inbox (a delete that does not say SendToNone)."""
        if elem.find(t("RequiredAttendees")) is None and elem.find(t("OptionalAttendees")) is None:
            return
        request = copy.deepcopy(elem)
        for name in ("ItemId", "ParentFolderId", "ExtendedProperty", EXCEPTIONS):
            for old in request.findall(t(name)):
                request.remove(old)
        self._invite(caller, request, tag="MeetingCancellation")

    def _send(self, caller: Mailbox, item: StoredItem, *, save: bool, saved: StoredFolder | None) -> None:
        elem = item.element
        for name in ("From", "Sender"):
            for old in elem.findall(t(name)):
                elem.remove(old)
            elem.append(mailbox_elem(t(name), caller.display_name, caller.address))
        set_child(elem, "IsDraft", False)
        set_child(elem, "DateTimeSent", format_dt(utcnow()))
        self._deliver(caller, elem)
        if save:
            target = saved or self._dist(caller, "sentitems")
            self.store.save(item, {"IsDraft", "From", "Sender", "DateTimeSent"})
            if target.id != item.folder_id:
                self.store.move(item, target.id)
        else:
            self.store.delete(item)

    def op_SendItem(self, caller: Mailbox, request: Element) -> list[Element]:
        save = request.get("SaveItemToFolder", "true") == "true"
        saved_ref = request.find(m("SavedItemFolderId"))

        def send(ref: Element) -> None:
            item = self._item(caller, ref)
            if item.tag != "Message":
                raise EwsError("ErrorInvalidItemForOperationSendItem", "Only messages can be sent.")
            if ref.get("ChangeKey") and ref.get("ChangeKey") != item.changekey:
                raise EwsError("ErrorStaleObject", "The item has been changed since it was read.")
            saved = self._folder(caller, saved_ref[0]) if saved_ref is not None else None
            self._send(caller, item, save=save, saved=saved)
            return None

        return self._per_item("SendItem", list(request.find(m("ItemIds"))), send)

    def op_DeleteItem(self, caller: Mailbox, request: Element) -> list[Element]:
        delete_type = request.get("DeleteType", "HardDelete")
        cancellations = request.get("SendMeetingCancellations")

        def delete(ref: Element) -> None:
            item, occ = self._target(caller, ref)
            if item.tag == "CalendarItem" and cancellations in SENDING_INVITATIONS:
                shown = (
                    occurrence_element(item.element, item.id, item.changekey, occ) if occ else item.element
                )
                self._cancel(caller, shown)
            if occ is not None:  # one occurrence: the master records it as deleted
                elem = copy.deepcopy(item.element)
                delete_occurrence(elem, item.id, item.changekey, occ)
                item.element = elem
                self.store.save(item, {"DeletedOccurrences"})
                return None
            if delete_type == "MoveToDeletedItems":
                trash = self._dist(caller, "deleteditems")
                if item.folder_id != trash.id:
                    self.store.move(item, trash.id)
                    return None
                delete_kind = "SoftDelete"
            else:
                delete_kind = delete_type
            if delete_kind == "SoftDelete":
                self.store.move(item, self._dist(caller, "recoverableitemsdeletions").id)
            else:
                self.store.delete(item)
            return None

        return self._per_item("DeleteItem", list(request.find(m("ItemIds"))), delete)

    def op_MoveItem(self, caller: Mailbox, request: Element) -> list[Element]:
        return self._move_or_copy("MoveItem", caller, request, move=True)

    def op_CopyItem(self, caller: Mailbox, request: Element) -> list[Element]:
        return self._move_or_copy("CopyItem", caller, request, move=False)

    def _move_or_copy(self, op: str, caller: Mailbox, request: Element, *, move: bool) -> list[Element]:
        to_ref = request.find(m("ToFolderId"))

        def work(ref: Element) -> Element:
            target = self._folder(caller, to_ref[0])
            item = self._item(caller, ref)
            if move:
                result = self.store.move(item, target.id)
            else:
                result = self.store.insert(caller.address, target.id, copy.deepcopy(item.element))
            holder = el(m("Items"))
            holder.append(_id_echo(result))
            return holder

        return self._per_item(op, list(request.find(m("ItemIds"))), work)

    # -- attachments ----------------------------------------------------------------------------------
    def op_CreateAttachment(self, caller: Mailbox, request: Element) -> list[Element]:
        try:
            item = self._item(caller, request.find(m("ParentItemId")))
        except EwsError as exc:
            return [response_message("CreateAttachment", exc)]
        out = []
        for source in request.find(m("Attachments")):
            att = copy.deepcopy(source)
            self._stamp_attachment(caller, att)
            holder = item.element.find(t("Attachments"))
            if holder is None:
                holder = sub(item.element, "t:Attachments")
            holder.append(att)
            refresh_computed(item.element, item.tag)
            self.store.save(item, {"Attachments"})
            msg = response_message("CreateAttachment")
            echo = el(att.tag)
            sub(
                echo,
                "t:AttachmentId",
                attrs={
                    "Id": att.find(t("AttachmentId")).get("Id"),
                    "RootItemId": item.id,
                    "RootItemChangeKey": item.changekey,
                },
            )
            sub(msg, "m:Attachments").append(echo)
            out.append(msg)
        return out

    def _find_attachment(self, caller: Mailbox, att_id: str) -> tuple[StoredItem, Element]:
        for item in self.store.items_of(caller.address):
            holder = item.element.find(t("Attachments"))
            if holder is None:
                continue
            for att in holder:
                ident = att.find(t("AttachmentId"))
                if ident is not None and ident.get("Id") == att_id:
                    return item, att
        raise EwsError("ErrorInvalidAttachmentId", "The attachment id is invalid.")

    def op_GetAttachment(self, caller: Mailbox, request: Element) -> list[Element]:
        def get(ref: Element) -> Element:
            _item, att = self._find_attachment(caller, ref.get("Id") or "")
            holder = el(m("Attachments"))
            holder.append(copy.deepcopy(att))
            return holder

        return self._per_item("GetAttachment", list(request.find(m("AttachmentIds"))), get)

    def op_DeleteAttachment(self, caller: Mailbox, request: Element) -> list[Element]:
        def delete(ref: Element) -> Element:
            item, att = self._find_attachment(caller, ref.get("Id") or "")
            att.getparent().remove(att)
            holder = item.element.find(t("Attachments"))
            if holder is not None and len(holder) == 0:
                item.element.remove(holder)
            refresh_computed(item.element, item.tag)
            self.store.save(item, {"Attachments"})
            return el(m("RootItemId"), attrs={"RootItemId": item.id, "RootItemChangeKey": item.changekey})

        return self._per_item("DeleteAttachment", list(request.find(m("AttachmentIds"))), delete)


# -- helpers ----------------------------------------------------------------------------------------------
SENDING_INVITATIONS = {
    "SendOnlyToAll",
    "SendToAllAndSaveCopy",
    "SendOnlyToChanged",
    "SendToChangedAndSaveCopy",
}


def _sync_error(op: str, error: EwsError, last_name: str) -> Element:
    """Sync errors still carry an empty SyncState and the in-range flag (as in the documented sample)."""
    msg = response_message(op, error)
    sub(msg, "m:SyncState")
    sub(msg, f"m:{last_name}", "true")
    return msg


def _looks_like_id(value: str | None) -> bool:
    if not value:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) >= 16
    except ValueError:
        return False


def _id_echo(item: StoredItem) -> Element:
    echo = el(t(item.tag))
    sub(echo, "t:ItemId", attrs={"Id": item.id, "ChangeKey": item.changekey})
    atts = item.element.find(t("Attachments"))
    if atts is not None:
        holder = sub(echo, "t:Attachments")
        for att in atts:
            wrapper = sub(holder, f"t:{local(att.tag)}")
            wrapper.append(copy.deepcopy(att.find(t("AttachmentId"))))
    return echo


def _paged(
    rows: list[Any], view: Element | None, render: Callable[[Any], Element], container: str
) -> Element:
    total = len(rows)
    offset = int(view.get("Offset", "0")) if view is not None else 0
    limit = int(view.get("MaxEntriesReturned", "0") or 0) if view is not None else 0
    if view is not None and view.get("BasePoint") == "End":
        offset = max(total - offset - (limit or total), 0)
    page = rows[offset : offset + limit] if limit else rows[offset:]
    end = offset + len(page)
    root = el(
        m("RootFolder"),
        attrs={
            "IndexedPagingOffset": str(end),
            "TotalItemsInView": str(total),
            "IncludesLastItemInRange": "true" if end >= total else "false",
        },
    )
    holder = sub(root, f"t:{container}")
    for row in page:
        holder.append(render(row))
    return root


def _sort_key(values: list[str]) -> tuple[int, Any]:
    if not values:
        return (-1, 0)
    kind, value = _typed(values[0])
    return (kind, value) if kind != 2 else (2, value)


def _overlaps(elem: Element, start: dt.datetime | None, end: dt.datetime | None) -> bool:
    item_start = parse_dt(elem.findtext(t("Start")))
    item_end = parse_dt(elem.findtext(t("End"))) or item_start
    if item_start is None or item_end is None:
        return False
    return (end is None or item_start < end) and (start is None or item_end > start)


def _change_id(change: tuple[int, str, Any]) -> str:
    obj = change[2]
    return str(obj.item_id if change[1] == "delete" else obj.id)


def _encode_state(kind: str, folder_id: str, seq: int) -> str:
    raw = json.dumps({"k": kind, "f": folder_id, "s": seq}, separators=(",", ":")).encode()
    mac = hashlib.sha256(b"ews-sandbox-syncstate|" + raw).digest()[:8]
    return base64.b64encode(b"H4sI" + mac + raw).decode()


def _decode_state(state: str | None, kind: str, folder_id: str) -> int:
    """The sequence a sync state stands for; garbage or other-folder states: ErrorInvalidSyncStateData."""
    if not state or not state.strip():
        return 0
    bad = EwsError("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.")
    try:
        blob = base64.b64decode(state.strip(), validate=True)
    except ValueError:
        raise bad from None
    if len(blob) < 12 or not blob.startswith(b"H4sI"):
        raise bad
    mac, raw = blob[4:12], blob[12:]
    if hashlib.sha256(b"ews-sandbox-syncstate|" + raw).digest()[:8] != mac:
        raise bad
    try:
        data = json.loads(raw)
    except ValueError:
        raise bad from None
    if data.get("k") != kind or data.get("f") != folder_id or not isinstance(data.get("s"), int):
        raise bad
    return int(data["s"])


def apply_update(elem: Element, upd: Element) -> str:
    """Apply one Set/Append/DeleteItemField to an item element; returns the changed field's key."""
    kind = local(upd.tag).replace("Item", "").replace("Folder", "")  # SetField / AppendToField / DeleteField
    path = parse_path(upd[0])
    payload = upd[1] if len(upd) > 1 else None
    if path.kind == "ext":
        new_props = [] if payload is None else payload.findall(t("ExtendedProperty"))
        for prop in elem.findall(t("ExtendedProperty")):
            if ext_key(prop.find(t("ExtendedFieldURI"))) == path.uri:
                elem.remove(prop)
        if kind != "DeleteField":
            for prop in new_props:
                elem.append(copy.deepcopy(prop))
        return path.key
    name = path.name
    if path.kind == "indexed":
        container = elem.find(t(name))
        if kind == "DeleteField":
            if container is not None:
                for entry in list(container):
                    if entry.get("Key") != path.index:
                        continue
                    if path.subfield:
                        for part in entry.findall(t(path.subfield)):
                            entry.remove(part)
                        if len(entry) == 0:
                            container.remove(entry)
                    else:
                        container.remove(entry)
                if len(container) == 0:
                    elem.remove(container)
            return path.key
        if payload is None or payload.find(t(name)) is None:
            raise EwsError("ErrorInvalidPropertySet", f"No value for {path.uri}.")
        new_entry = payload.find(t(name))[0]
        if container is None:
            container = sub(elem, f"t:{name}")
        existing = next((e for e in container if e.get("Key") == path.index), None)
        if path.subfield:
            if existing is None:
                existing = sub(container, "t:Entry", attrs={"Key": path.index or ""})
            for part in existing.findall(t(path.subfield)):
                existing.remove(part)
            for part in new_entry.findall(t(path.subfield)):
                existing.append(copy.deepcopy(part))
        else:
            if existing is not None:
                container.remove(existing)
            container.append(copy.deepcopy(new_entry))
        return path.key
    if kind == "DeleteField":
        for old in elem.findall(t(name)):
            elem.remove(old)
        return path.key
    new_values = [] if payload is None else payload.findall(t(name))
    if not new_values:
        raise EwsError("ErrorInvalidPropertySet", f"No value for {path.uri}.")
    if kind == "AppendToField":
        existing_elem = elem.find(t(name))
        if existing_elem is not None:
            for value in new_values:
                if len(value):
                    existing_elem.extend(copy.deepcopy(c) for c in value)
                else:
                    existing_elem.text = (existing_elem.text or "") + (value.text or "")
            return path.key
    for old in elem.findall(t(name)):
        elem.remove(old)
    for value in new_values:
        elem.append(copy.deepcopy(value))
    return path.key


def distinguished_names() -> list[str]:
    return list(DISTINGUISHED_FOLDERS)
