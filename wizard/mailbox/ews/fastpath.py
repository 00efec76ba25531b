"""The bulk hot path without exchangelib's per-item object model: CreateItem / UpdateItem bodies written
with lxml straight from the product's items, and lean answers (ids and change keys) for them and for
SyncFolderItems.

The request bodies are the XML exchangelib 5 sends for the same items (field order, defaults it adds on
``clean()``, the time zone elements of calendar items, its sequence of SetItemField / DeleteItemField for
indexed fields); ``tests/unit/test_ews_fastpath.py`` compares the two field by field. The bodies are posted
through exchangelib's own service classes (``get_payload`` and ``_elem_to_obj`` overridden), so the
session pool, auth, version negotiation, retries, back-off and error mapping stay exchangelib's.
Recurrence patterns are the long tail and are still serialized by exchangelib's ``Recurrence.to_xml``.
Exchange 2007 (MeetingTimeZone instead of Start/EndTimeZone) is not covered: :func:`supports_fast_path` says so
and the store keeps exchangelib's path for it.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from exchangelib import EWSTimeZone
from exchangelib.services import SyncFolderItems
from exchangelib.services.common import folder_ids_element
from exchangelib.util import safe_xml_value
from exchangelib.version import EXCHANGE_2010, EXCHANGE_2013_SP1
from lxml import etree

from wizard.errors import Severity
from wizard.mailbox.base import (
    AppointmentItem,
    ContactItem,
    Item,
    MailboxError,
    NamedProps,
    PhysicalAddress,
    TaskItem,
    TaskStatus,
)
from wizard.mailbox.ews.convert import EMAIL_LABELS, IMPORTANCE, PHONE_LABELS, SHOW_AS, TASK_STATUS
from wizard.mailbox.ews.errors import BatchCreateItem, BatchUpdateItem
from wizard.mailbox.ews.recurrence import recurrence_to_ews

TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
_T = f"{{{TNS}}}"
_M = f"{{{MNS}}}"
PS_PUBLIC_STRINGS_LOWER = "00020329-0000-0000-c000-000000000046"

#: the crm* properties in the order exchangelib writes them (each registration is inserted after the same
#: field, so the last registered comes first)
_EXTENDED = (
    ("crmownersystemuserid", "String"),
    ("crmregardingobjecttypecode", "Integer"),
    ("crmregardingobjectid", "String"),
    ("crmorgid", "String"),
    ("crmlinkstate", "Integer"),
    ("crmid", "String"),
)
#: every label exchangelib knows for the indexed fields, in its order (it deletes the ones not sent)
_EMAIL_ALL = ("EmailAddress1", "EmailAddress2", "EmailAddress3")
_PHONE_ALL = (
    "AssistantPhone",
    "BusinessFax",
    "BusinessPhone",
    "BusinessPhone2",
    "Callback",
    "CarPhone",
    "CompanyMainPhone",
    "HomeFax",
    "HomePhone",
    "HomePhone2",
    "Isdn",
    "MobilePhone",
    "OtherFax",
    "OtherTelephone",
    "Pager",
    "PrimaryPhone",
    "RadioPhone",
    "Telex",
    "TtyTddPhone",
)
_ADDRESS_ALL = ("Business", "Home", "Other")
#: PhysicalAddress sub-fields: (attribute of PhysicalAddress, element / FieldURI suffix), exchangelib's order
_ADDRESS_PARTS = (
    ("street", "Street"),
    ("city", "City"),
    ("state", "State"),
    ("country", "CountryOrRegion"),
    ("postal_code", "PostalCode"),
)

# A field value as the fast path carries it: one of these tagged tuples, or None (= not set / delete).
#   ("text", str) ("bool", bool) ("int", int|Decimal) ("body", str) ("strings", [str]) ("dt", str)
#   ("ext", (name, type, str)) ("emails", [(label, str)]) ("phones", [(label, str)])
#   ("addresses", [(label, PhysicalAddress)]) ("attendees", [(name, address)]) ("tz", ms_id)
#   ("recurrence", exchangelib Recurrence: serialized by exchangelib)
Value = tuple[str, Any] | None
#: (element tag, FieldURI or ("ext", name, type) or ("indexed", base uri), value)
Field = tuple[str, Any, Value]


def supports_fast_path(version: Any) -> bool:
    """True when the fast path writes what exchangelib would for this server version (Exchange 2010+)."""
    return bool(version.build >= EXCHANGE_2010)


def _reject(text: str) -> MailboxError:
    return MailboxError(
        f"item rejected before sending: {text}",
        user_text=f"An item could not be written to the mailbox: {text}",
        severity=Severity.ITEM,
    )


# --------------------------------------------------------------------------------------------------
# Values


def _text(value: str) -> Value:
    return ("text", value) if value else None


#: exchangelib's limit for its CharFields (subject, given name, surname, each category, an attendee's address)
MAX_CHARS = 255


def _short(name: str, value: str) -> str:
    """``value`` if exchangelib's ``clean()`` would accept it for a CharField; otherwise the item is rejected."""
    if value and len(value) > MAX_CHARS:
        raise _reject(f"{name!r} value {value[:40]!r}… exceeds length {MAX_CHARS}")
    return value


def _short_all(name: str, values: Sequence[str]) -> list[str]:
    return [_short(name, v) for v in values]


def _ews_datetime(value: dt.datetime) -> str:
    """exchangelib's ewsformat: ``Z`` for UTC, the offset otherwise."""
    if value.utcoffset() == dt.timedelta(0) and getattr(value.tzinfo, "key", "UTC") == "UTC":
        fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond else "%Y-%m-%dT%H:%M:%SZ"
        return value.strftime(fmt)
    return value.isoformat()


def _date_at(value: dt.date, hour: int, minute: int) -> Value:
    return ("dt", f"{value.isoformat()}T{hour:02d}:{minute:02d}:00Z")


@functools.lru_cache(maxsize=64)
def _ms_zone(key: str) -> str:
    """The Windows zone id exchangelib sends for an IANA zone."""
    return str(EWSTimeZone(key).ms_id)


def _props(props: NamedProps) -> list[Field]:
    out: list[Field] = []
    for name, kind in _EXTENDED:
        value = getattr(props, name)
        encoded: Value = None
        if value is not None and value != "":
            text = str(int(value)) if kind == "Integer" else str(value)
            encoded = ("ext", (name, kind, text))
        out.append(("ExtendedProperty", ("ext", name, kind), encoded))
    return out


def _item_head(subject: str | None, body: str, categories: Sequence[str]) -> list[Field]:
    head: list[Field] = []
    if subject is not None:
        head.append(("Subject", "item:Subject", _text(_short("subject", subject))))
    head.append(("Body", "item:Body", ("body", body) if body else None))
    strings = _short_all("categories", categories)
    head.append(("Categories", "item:Categories", ("strings", strings) if strings else None))
    return head


def contact_fields(item: ContactItem) -> tuple[list[Field], list[Field]]:
    """(fields written on update, the same with the defaults exchangelib adds on create), in its order."""
    display = (
        item.display_name
        or " ".join(p for p in (item.given_name, item.surname) if p)
        or item.company
        or (item.emails[0] if item.emails else "")
        or "-"
    )
    emails = [(label, e) for label, e in zip(EMAIL_LABELS, item.emails, strict=False) if e]
    phones = [(PHONE_LABELS[k], n) for k, n in item.phones.items() if k in PHONE_LABELS and n]
    addresses = [
        (label, a)
        for label, a in (("Business", item.business_address), ("Home", item.home_address))
        if a is not None
    ]
    head = _item_head(None, item.notes, item.categories)
    props = _props(item.props)
    tail: list[Field] = [
        ("DisplayName", "contacts:DisplayName", _text(display)),
        ("GivenName", "contacts:GivenName", _text(_short("given_name", item.given_name))),
        ("CompanyName", "contacts:CompanyName", _text(item.company)),
        ("EmailAddresses", ("indexed", "contacts:EmailAddress"), ("emails", emails) if emails else None),
        (
            "PhysicalAddresses",
            ("indexed", "contacts:PhysicalAddress"),
            ("addresses", addresses) if addresses else None,
        ),
        ("PhoneNumbers", ("indexed", "contacts:PhoneNumber"), ("phones", phones) if phones else None),
        ("Birthday", "contacts:Birthday", _date_at(item.birthday, 11, 59) if item.birthday else None),
        ("BusinessHomePage", "contacts:BusinessHomePage", _text(item.web_page)),
        ("Department", "contacts:Department", _text(item.department)),
        ("JobTitle", "contacts:JobTitle", _text(item.job_title)),
    ]
    surname: list[Field] = [("Surname", "contacts:Surname", _text(_short("surname", item.surname)))]
    update = head + props + tail + surname
    create = [
        ("Sensitivity", None, ("text", "Normal")),
        *head,
        *_defaults(reminder=None),
        *props,
        *tail,
        ("PostalAddressIndex", None, ("text", "None")),
        *surname,
    ]
    return update, create


def _defaults(reminder: int | None, importance: str = "Normal") -> list[Field]:
    return [
        ("Importance", "item:Importance", ("text", importance)),
        ("ReminderIsSet", "item:ReminderIsSet", ("bool", reminder is not None)),
        ("ReminderMinutesBeforeStart", "item:ReminderMinutesBeforeStart", ("int", reminder or 0)),
    ]


def task_fields(item: TaskItem) -> tuple[list[Field], list[Field]]:
    start, due = item.start, item.due
    if start and due and due < start:
        due = start  # exchangelib's clean(): a due date before the start is moved to the start
    percent = Decimal(100 if item.status is TaskStatus.COMPLETED else item.percent_complete)
    if item.status is TaskStatus.NOT_STARTED:
        percent = Decimal(0)  # exchangelib's clean(): a task not started is 0 % done
    if not 0 <= percent <= 100:
        raise _reject(f"percent complete {percent} is not between 0 and 100")
    head = _item_head(item.subject, item.body, item.categories)
    importance = IMPORTANCE.get(item.importance, "Normal")
    props = _props(item.props)
    tail: list[Field] = [
        ("DueDate", "task:DueDate", _date_at(due, 0, 0) if due else None),
        ("PercentComplete", "task:PercentComplete", ("int", percent)),
        ("StartDate", "task:StartDate", _date_at(start, 0, 0) if start else None),
        ("Status", "task:Status", ("text", TASK_STATUS[item.status])),
    ]
    imp: Field = ("Importance", "item:Importance", ("text", importance))
    update = [*head[:3], imp, *props, *tail]
    create = [head[0], ("Sensitivity", None, ("text", "Normal")), *head[1:3]]
    create += _defaults(None, importance) + props + tail
    return update, create


def appointment_fields(item: AppointmentItem, tz: Any) -> tuple[list[Field], list[Field]]:
    """Times in the mailbox zone ``tz`` (an exchangelib EWSTimeZone), as exchangelib writes them."""
    if item.start is None or item.end is None:
        raise MailboxError(
            "appointment without start or end",
            user_text=f"The appointment {item.subject!r} has no start or end time.",
            severity=Severity.ITEM,
        )
    if item.start.tzinfo is None or item.end.tzinfo is None:
        raise MailboxError(
            "naive appointment time",
            user_text="An appointment time had no time zone.",
            severity=Severity.ITEM,
        )
    start, end = item.start.astimezone(tz), item.end.astimezone(tz)
    if item.is_all_day:
        day0 = dt.datetime(start.year, start.month, start.day, tzinfo=tz)
        day1 = dt.datetime(end.year, end.month, end.day, tzinfo=tz) + dt.timedelta(days=1)
        if day1.date() < day0.date() + dt.timedelta(days=1):
            raise _reject(f"'end' must be greater than 'start' ({start.date()} -> {end.date()})")
        start, end = day0, day1
    elif end < start:
        raise _reject(f"'end' must be greater than 'start' ({start} -> {end})")
    for _name, address in (*item.required_attendees, *item.optional_attendees):
        _short("email_address", address)
    zone: Value = ("tz", _ms_zone(tz.key))
    head = _item_head(item.subject, item.body, item.categories)
    reminder = item.reminder_minutes
    reminders: list[Field] = [
        ("ReminderIsSet", "item:ReminderIsSet", ("bool", reminder is not None)),
        ("ReminderMinutesBeforeStart", "item:ReminderMinutesBeforeStart", ("int", reminder or 0)),
    ]
    props = _props(item.props)
    recurrence: Value = None
    if item.recurrence:
        recurrence = ("recurrence", recurrence_to_ews(item.recurrence))
    tail: list[Field] = [
        ("Start", "calendar:Start", ("dt", _ews_datetime(start))),
        ("End", "calendar:End", ("dt", _ews_datetime(end))),
        ("IsAllDayEvent", "calendar:IsAllDayEvent", ("bool", item.is_all_day)),
        (
            "LegacyFreeBusyStatus",
            "calendar:LegacyFreeBusyStatus",
            ("text", SHOW_AS[item.show_as] if 0 <= item.show_as < 4 else "Busy"),
        ),
        ("Location", "calendar:Location", _text(item.location)),
        (
            "RequiredAttendees",
            "calendar:RequiredAttendees",
            ("attendees", list(item.required_attendees)) if item.required_attendees else None,
        ),
        (
            "OptionalAttendees",
            "calendar:OptionalAttendees",
            ("attendees", list(item.optional_attendees)) if item.optional_attendees else None,
        ),
        ("Recurrence", "calendar:Recurrence", recurrence),
        ("StartTimeZone", "calendar:StartTimeZone", zone),
        ("EndTimeZone", "calendar:EndTimeZone", zone),
    ]
    update = [*head, *reminders, *props, *tail]
    create = [head[0], ("Sensitivity", None, ("text", "Normal")), *head[1:]]
    create += _defaults(reminder) + props + tail
    return update, create


# --------------------------------------------------------------------------------------------------
# Elements


def _sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    el = etree.SubElement(parent, _T + tag, attrs or None)
    if text is not None:
        el.text = text
    return el


def _ext_uri(parent: Any, name: str, kind: str) -> None:
    _sub(
        parent,
        "ExtendedFieldURI",
        PropertySetId=PS_PUBLIC_STRINGS_LOWER,
        PropertyName=name,
        PropertyType=kind,
    )


def _write(parent: Any, tag: str, value: tuple[str, Any], version: Any) -> None:
    """One field's element under ``parent``, as exchangelib serializes it."""
    kind, v = value
    if kind == "text":
        _sub(parent, tag, safe_xml_value(v))
    elif kind == "bool":
        _sub(parent, tag, "1" if v else "0")
    elif kind in ("int", "dt"):
        _sub(parent, tag, str(v))
    elif kind == "body":
        _sub(parent, tag, safe_xml_value(v), BodyType="Text")
    elif kind == "strings":
        el = _sub(parent, tag)
        for s in v:
            _sub(el, "String", safe_xml_value(s))
    elif kind == "tz":
        _sub(parent, tag, Id=v)
    elif kind == "ext":
        name, ptype, text = v
        el = _sub(parent, "ExtendedProperty")
        _ext_uri(el, name, ptype)
        _sub(el, "Value", safe_xml_value(text))
    elif kind in ("emails", "phones"):
        el = _sub(parent, tag)
        for label, text in v:
            _sub(el, "Entry", safe_xml_value(text), Key=label)
    elif kind == "addresses":
        el = _sub(parent, tag)
        for label, address in v:
            entry = _sub(el, "Entry", Key=label)
            for attr, part in _ADDRESS_PARTS:
                text = getattr(address, attr)
                if text:
                    _sub(entry, part, safe_xml_value(text))
    elif kind == "attendees":
        el = _sub(parent, tag)
        for name, address in v:
            attendee = _sub(el, "Attendee")
            mailbox = _sub(attendee, "Mailbox")
            if name:
                _sub(mailbox, "Name", safe_xml_value(name))
            _sub(mailbox, "EmailAddress", safe_xml_value(address))
            _sub(mailbox, "RoutingType", "SMTP")
            _sub(mailbox, "MailboxType", "Mailbox")
            _sub(attendee, "ResponseType", "Unknown")
    elif kind == "recurrence":
        parent.append(v.to_xml(version=version))
    else:  # pragma: no cover - a programming error
        raise AssertionError(kind)


def item_element(item_tag: str, fields: Sequence[Field], version: Any) -> Any:
    """``<t:Contact>`` (or Task, CalendarItem) carrying the set fields, for CreateItem."""
    el = etree.Element(_T + item_tag, nsmap={"t": TNS})
    for tag, _uri, value in fields:
        if value is not None:
            _write(el, tag, value, version)
    return el


def _field_uri(parent: Any, uri: str) -> None:
    _sub(parent, "FieldURI", FieldURI=uri)


def _delete(updates: Any, uri_writer: Callable[[Any], None]) -> None:
    uri_writer(_sub(updates, "DeleteItemField"))


@functools.lru_cache(maxsize=256)
def _delete_index_template(uri: str, index: str) -> Any:
    el = etree.Element(_T + "DeleteItemField", nsmap={"t": TNS})
    _indexed_uri(el, uri=uri, index=index)
    return el


def _delete_index(updates: Any, uri: str, index: str) -> None:
    """DeleteItemField of one label (copied from a template: an update deletes dozens of them)."""
    updates.append(copy.copy(_delete_index_template(uri, index)))


def _set(updates: Any, item_tag: str, uri_writer: Callable[[Any], None]) -> Any:
    set_field = _sub(updates, "SetItemField")
    uri_writer(set_field)
    return _sub(set_field, item_tag)


def _indexed(updates: Any, item_tag: str, tag: str, base: str, value: tuple[str, Any], version: Any) -> None:
    """exchangelib's sequence for an indexed field: each entry's sub-fields set (or deleted when empty),
    then, after each entry, every label not seen so far deleted."""
    kind, entries = value
    all_labels = {"emails": _EMAIL_ALL, "phones": _PHONE_ALL, "addresses": _ADDRESS_ALL}[kind]
    seen: set[str] = set()
    for label, entry in entries:
        seen.add(label)
        if kind == "addresses":
            for attr, part in _ADDRESS_PARTS:
                text = getattr(entry, attr)
                if not text:
                    _delete_index(updates, f"{base}:{part}", label)
                else:
                    uri = functools.partial(_indexed_uri, uri=f"{base}:{part}", index=label)
                    one = PhysicalAddress(**{attr: text})
                    _write(_set(updates, item_tag, uri), tag, ("addresses", [(label, one)]), version)
        else:
            uri = functools.partial(_indexed_uri, uri=base, index=label)
            _write(_set(updates, item_tag, uri), tag, (kind, [(label, entry)]), version)
        for other in all_labels:
            if other in seen:
                continue
            if kind == "addresses":
                for _attr, part in _ADDRESS_PARTS:
                    _delete_index(updates, f"{base}:{part}", other)
            else:
                _delete_index(updates, base, other)


def _indexed_uri(parent: Any, *, uri: str, index: str) -> None:
    _sub(parent, "IndexedFieldURI", FieldURI=uri, FieldIndex=index)


def _delete_indexed(updates: Any, kind_base: str) -> None:
    """Every label (and sub-field) of an indexed field deleted, as exchangelib does for an empty list."""
    if kind_base == "contacts:PhysicalAddress":
        for label in _ADDRESS_ALL:
            for _attr, part in _ADDRESS_PARTS:
                _delete_index(updates, f"{kind_base}:{part}", label)
        return
    labels = _EMAIL_ALL if kind_base == "contacts:EmailAddress" else _PHONE_ALL
    for label in labels:
        _delete_index(updates, kind_base, label)


def change_element(
    item_tag: str, item_id: str, change_key: str | None, fields: Sequence[Field], version: Any
) -> Any:
    """``<t:ItemChange>`` setting every field that has a value and deleting the others."""
    change = etree.Element(_T + "ItemChange", nsmap={"t": TNS})
    ids = {"Id": item_id} if not change_key else {"Id": item_id, "ChangeKey": change_key}
    _sub(change, "ItemId", **ids)
    updates = _sub(change, "Updates")
    for tag, uri, value in fields:
        if isinstance(uri, tuple) and uri[0] == "ext":
            ext = functools.partial(_ext_uri_of, name=uri[1], kind=uri[2])
            if value is None:
                _delete(updates, ext)
            else:
                _write(_set(updates, item_tag, ext), tag, value, version)
        elif isinstance(uri, tuple):  # indexed
            if value is None:
                _delete_indexed(updates, uri[1])
            else:
                _indexed(updates, item_tag, tag, uri[1], value, version)
        else:
            plain = functools.partial(_field_uri, uri=uri)
            if value is None:
                _delete(updates, plain)
            else:
                _write(_set(updates, item_tag, plain), tag, value, version)
    return change


def _ext_uri_of(parent: Any, *, name: str, kind: str) -> None:
    _ext_uri(parent, name, kind)


def stamp_fields(props: NamedProps) -> list[Field]:
    """The crm* properties alone (set or deleted), for stamping any kind of item."""
    return _props(props)


# --------------------------------------------------------------------------------------------------
# Services: exchangelib's, with the payload and the answers replaced


class FastCreateItem(BatchCreateItem):  # type: ignore[misc]
    """CreateItem over pre-built ``<t:Item>`` elements; answers ``(id, change_key)`` or the item's error."""

    def fast_call(self, elements: Sequence[Any], folder: Any, send_invitations: str) -> Iterator[Any]:
        return self._elems_to_objs(  # type: ignore[no-any-return]
            self._chunked_get_elements(
                self._fast_payload, items=elements, folder=folder, send_invitations=send_invitations
            )
        )

    def _fast_payload(self, elements: Sequence[Any], folder: Any, send_invitations: str) -> Any:
        payload = etree.Element(
            _M + self.SERVICE_NAME,
            {"MessageDisposition": "SaveOnly", "SendMeetingInvitations": send_invitations},
            nsmap={"m": MNS},
        )
        if folder is not None:
            payload.append(
                folder_ids_element(folders=[folder], version=self.account.version, tag="m:SavedItemFolderId")
            )
        items = etree.SubElement(payload, _M + "Items")
        items.extend(elements)
        return payload

    def _elem_to_obj(self, elem: Any) -> Any:
        if isinstance(elem, bool):
            return elem
        found = elem.find(_T + "ItemId")
        if found is None:
            return None, None
        return found.get("Id"), found.get("ChangeKey")


class FastUpdateItem(BatchUpdateItem):  # type: ignore[misc]
    """UpdateItem over pre-built ``<t:ItemChange>`` elements; answers ``(id, change_key)`` or an error."""

    def fast_call(self, changes: Sequence[Any], conflict_resolution: str) -> Iterator[Any]:
        return self._elems_to_objs(  # type: ignore[no-any-return]
            self._chunked_get_elements(
                self._fast_payload, items=changes, conflict_resolution=conflict_resolution
            )
        )

    def _fast_payload(self, changes: Sequence[Any], conflict_resolution: str) -> Any:
        attrs = {
            "ConflictResolution": conflict_resolution,
            "MessageDisposition": "SaveOnly",
            "SendMeetingInvitationsOrCancellations": "SendToNone",
        }
        if self.account.version.build >= EXCHANGE_2013_SP1:
            attrs["SuppressReadReceipts"] = "true"
        payload = etree.Element(_M + self.SERVICE_NAME, attrs, nsmap={"m": MNS})
        holder = etree.SubElement(payload, _M + "ItemChanges")
        holder.extend(changes)
        return payload

    def _elem_to_obj(self, elem: Any) -> Any:
        found = elem.find(_T + "ItemId")
        if found is None:
            return None, None
        return found.get("Id"), found.get("ChangeKey")


class IdSyncFolderItems(SyncFolderItems):  # type: ignore[misc]
    """SyncFolderItems answering ``(change_type, (id, change_key))`` without building exchangelib items."""

    def _elem_to_obj(self, elem: Any) -> Any:
        change_type = self.change_types_map[elem.tag]
        if change_type in (self.READ_FLAG_CHANGE, self.DELETE):
            found = elem.find(_T + "ItemId")
        else:
            found = elem[0].find(_T + "ItemId") if len(elem) else None
        if found is None:
            return change_type, (None, None)
        return change_type, (found.get("Id"), found.get("ChangeKey"))


def fields_for(item: Item, tz: Any) -> tuple[str, list[Field], list[Field]]:
    """(item element tag, update fields, create fields) for a contact, task or appointment."""
    if isinstance(item, ContactItem):
        return ("Contact", *contact_fields(item))
    if isinstance(item, TaskItem):
        return ("Task", *task_fields(item))
    if isinstance(item, AppointmentItem):
        return ("CalendarItem", *appointment_fields(item, tz))
    raise _reject(f"a {type(item).__name__} has no fast path")
