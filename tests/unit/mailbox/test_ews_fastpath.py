"""The fast path's CreateItem / UpdateItem bodies equal exchangelib's, field by field, for every kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from exchangelib.items import ALWAYS_OVERWRITE, NEVER_OVERWRITE, SAVE_ONLY, SEND_TO_NONE
from lxml import etree

from wizard.mailbox.base import (
    AppointmentItem,
    ContactItem,
    FolderKind,
    Item,
    LinkState,
    MailboxError,
    NamedProps,
    PhysicalAddress,
    Recurrence,
    RecurrencePattern,
    TaskItem,
    TaskStatus,
)
from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore, fastpath
from wizard.mailbox.ews.connection import Opened
from wizard.mailbox.ews.errors import BatchCreateItem, BatchUpdateItem

BERLIN = ZoneInfo("Europe/Berlin")
PROPS = NamedProps(
    crmid="0b0e-1", crmlinkstate=LinkState.TRACKED, crmorgid="org", crmregardingobjecttypecode=2
)

CONTACTS = [
    ContactItem(
        id="",
        given_name="Anna & <B>",
        surname="Schmidt",
        display_name="",
        company="Contoso",
        department="Sales",
        job_title="Lead",
        emails=["a@x.com", "b@x.com", "c@x.com"],
        phones={"business": "+49 1", "business2": "+49 3", "mobile": "+49 2", "home": "4", "fax": "5"},
        business_address=PhysicalAddress(
            street="Hauptstr. 1", city="Berlin", state="BE", postal_code="10115", country="DE"
        ),
        home_address=PhysicalAddress(city="Bonn"),
        web_page="http://x",
        birthday=dt.date(1980, 2, 3),
        notes="hi\nthere \x01",
        categories=["A", "B"],
        props=PROPS,
    ),
    ContactItem(id="", company="Only Company"),
    ContactItem(id="", emails=["", "second@x.com"], phones={"mobile": "1", "pager": "2"}),
    ContactItem(id="", display_name="Shown", home_address=PhysicalAddress(), props=NamedProps(crmid="x")),
]
TASKS = [
    TaskItem(
        id="",
        subject="Do",
        body="b",
        start=dt.date(2026, 1, 2),
        due=dt.date(2026, 1, 5),
        status=TaskStatus.IN_PROGRESS,
        percent_complete=50,
        importance="high",
        categories=["X"],
        props=PROPS,
    ),
    TaskItem(id="", subject="Done", status=TaskStatus.COMPLETED, percent_complete=10, importance="low"),
    TaskItem(id="", subject="Later", start=dt.date(2026, 3, 2), due=dt.date(2026, 3, 1), percent_complete=30),
    TaskItem(id="", subject="", status=TaskStatus.WAITING, importance="odd"),
]


def _appointments() -> list[AppointmentItem]:
    ten = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    return [
        AppointmentItem(
            id="",
            subject="Meet",
            start=ten,
            end=ten + dt.timedelta(hours=1),
            location="R1",
            body="B",
            required_attendees=[("Bob", "bob@x.com"), ("", "eve@x.com")],
            optional_attendees=[("Carl", "carl@x.com")],
            reminder_minutes=15,
            show_as=1,
            categories=["C"],
            props=PROPS,
        ),
        AppointmentItem(  # an offset that is not the mailbox's, and microseconds
            id="",
            subject="Offset",
            start=dt.datetime(2026, 7, 1, 9, 30, 0, 500, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            end=dt.datetime(2026, 7, 1, 11, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            show_as=7,
            reminder_minutes=0,
        ),
        AppointmentItem(
            id="",
            subject="All day",
            start=dt.datetime(2026, 5, 4, tzinfo=BERLIN),
            end=dt.datetime(2026, 5, 5, tzinfo=BERLIN),
            is_all_day=True,
        ),
        AppointmentItem(
            id="",
            subject="Weekly",
            start=dt.datetime(2026, 1, 5, 9, tzinfo=BERLIN),
            end=dt.datetime(2026, 1, 5, 10, tzinfo=BERLIN),
            recurrence=Recurrence(
                pattern=RecurrencePattern.WEEKLY,
                start_date=dt.date(2026, 1, 5),
                interval=2,
                weekdays=(0, 3),
                occurrences=10,
            ),
        ),
        AppointmentItem(
            id="",
            subject="Monthly",
            start=dt.datetime(2026, 1, 15, 9, tzinfo=BERLIN),
            end=dt.datetime(2026, 1, 15, 10, tzinfo=BERLIN),
            recurrence=Recurrence(
                pattern=RecurrencePattern.ABSOLUTE_MONTHLY,
                start_date=dt.date(2026, 1, 15),
                day_of_month=15,
                end_date=dt.date(2026, 12, 31),
            ),
        ),
    ]


KINDS: dict[FolderKind, list[Any]] = {
    FolderKind.CONTACTS: CONTACTS,
    FolderKind.TASKS: TASKS,
    FolderKind.CALENDAR: _appointments(),
}


@pytest.fixture
def offline() -> Iterator[tuple[EwsStore, Opened]]:
    """A store connected without the network (endpoint and build given), in the Berlin zone."""
    store = EwsStore(
        EwsSettings(
            address="anna@contoso.com",
            ews_url="https://mail.contoso.com/EWS/Exchange.asmx",
            auth=EwsAuth.BASIC,
            server_build=(15, 2, 2562, 17),
            timezone="Europe/Berlin",
        ),
        password="unused",
    )
    yield store, store._connect()
    store.close()


def _lines(element: Any) -> list[str]:
    return [f"{el.tag} {sorted(el.attrib.items())} {el.text!r}" for el in element.iter()]


def _canonical(element: Any) -> list[str]:
    """The body as one line per element (tag, attributes, text), for a field-by-field comparison.

    exchangelib deletes the unused labels of an indexed field (phone numbers, addresses) in the order of a
    set, which differs between processes; a run of consecutive DeleteItemFields is compared as a set.
    """
    root = etree.fromstring(etree.tostring(element))
    out: list[str] = []
    for el in root.iter():
        if el.getparent() is not None and el.getparent().tag.endswith("}Updates"):
            continue  # written with its Updates parent below
        if any(p.tag.endswith("}Updates") for p in el.iterancestors()):
            continue
        out.append(f"{el.tag} {sorted(el.attrib.items())} {el.text!r}")
        if el.tag.endswith("}Updates"):
            run: list[str] = []
            for op in el:
                text = "|".join(_lines(op))
                if op.tag.endswith("}DeleteItemField"):
                    run.append(text)
                    continue
                out.extend(sorted(run))
                run = []
                out.append(text)
            out.extend(sorted(run))
    return out


def _exchangelib_create(store: EwsStore, opened: Opened, kind: FolderKind, items: list[Item]) -> Any:
    xs = [store._build_x(opened, kind, item)[0] for item in items]
    svc = BatchCreateItem(account=opened.account)
    return svc.get_payload(
        items=xs,
        folder=store._folder_obj(opened, kind),
        message_disposition=SAVE_ONLY,
        send_meeting_invitations=SEND_TO_NONE,
    )


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.value)
def test_create_body_equals_exchangelibs(offline: tuple[EwsStore, Opened], kind: FolderKind) -> None:
    store, opened = offline
    items = KINDS[kind]
    expected = _canonical(_exchangelib_create(store, opened, kind, items))
    got = _canonical(store._fast_create_payload(opened, kind, items))
    assert got == expected


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.value)
@pytest.mark.parametrize("resolution", [NEVER_OVERWRITE, ALWAYS_OVERWRITE])
def test_update_body_equals_exchangelibs(
    offline: tuple[EwsStore, Opened], kind: FolderKind, resolution: str
) -> None:
    store, opened = offline
    items = [replace(item, id=f"ID{n}", change_key=f"CK{n}") for n, item in enumerate(KINDS[kind])]
    pairs = [store._build_x(opened, kind, item) for item in items]
    svc = BatchUpdateItem(account=opened.account)
    expected = svc.get_payload(
        items=pairs,
        conflict_resolution=resolution,
        message_disposition=SAVE_ONLY,
        send_meeting_invitations_or_cancellations=SEND_TO_NONE,
        suppress_read_receipts=True,
    )
    got = store._fast_update_payload(opened, kind, items, resolution)
    assert _canonical(got) == _canonical(expected)


def test_update_without_recurrence_field(offline: tuple[EwsStore, Opened]) -> None:
    """A series whose pattern is unchanged is updated without its Recurrence (its exceptions stay)."""
    store, opened = offline
    item = replace(_appointments()[3], id="ID", change_key="CK")
    xitem, fields = store._build_x(opened, FolderKind.CALENDAR, item)
    svc = BatchUpdateItem(account=opened.account)
    expected = svc.get_payload(
        items=[(xitem, [f for f in fields if f != "recurrence"])],
        conflict_resolution=NEVER_OVERWRITE,
        message_disposition=SAVE_ONLY,
        send_meeting_invitations_or_cancellations=SEND_TO_NONE,
        suppress_read_receipts=True,
    )
    got = store._fast_update_payload(
        opened, FolderKind.CALENDAR, [item], NEVER_OVERWRITE, keep_recurrence={"ID"}
    )
    assert _canonical(got) == _canonical(expected)


def test_stamp_body_equals_exchangelibs(offline: tuple[EwsStore, Opened]) -> None:
    _store, opened = offline
    from exchangelib import Contact

    from wizard.mailbox.ews.props import props_to_fields

    values = props_to_fields(PROPS)
    xitem = Contact(account=opened.account, id="ID", changekey=None, **values)
    svc = BatchUpdateItem(account=opened.account)
    expected = svc.get_payload(
        items=[(xitem, list(values))],
        conflict_resolution=ALWAYS_OVERWRITE,
        message_disposition=SAVE_ONLY,
        send_meeting_invitations_or_cancellations=SEND_TO_NONE,
        suppress_read_receipts=True,
    )
    change = fastpath.change_element(
        "Contact", "ID", None, fastpath.stamp_fields(PROPS), opened.account.version
    )
    got = fastpath.FastUpdateItem(account=opened.account)._fast_payload([change], ALWAYS_OVERWRITE)
    assert _canonical(got) == _canonical(expected)


def test_rejects_end_before_start(offline: tuple[EwsStore, Opened]) -> None:
    _store, opened = offline
    ten = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    bad = AppointmentItem(id="", subject="x", start=ten, end=ten - dt.timedelta(hours=1))
    with pytest.raises(MailboxError, match="end"):
        fastpath.fields_for(bad, opened.account.default_timezone)


_ANSWER = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
<s:Body><m:{op}Response xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
 xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>
<m:{op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>
<m:Items><t:Contact><t:ItemId Id="A1" ChangeKey="K1"/></t:Contact></m:Items></m:{op}ResponseMessage>
<m:{op}ResponseMessage ResponseClass="Error"><m:MessageText>x</m:MessageText>
<m:ResponseCode>ErrorIrresolvableConflict</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>
<m:Items/></m:{op}ResponseMessage>
<m:{op}ResponseMessage ResponseClass="Error"><m:MessageText>x</m:MessageText>
<m:ResponseCode>ErrorItemNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>
<m:Items/></m:{op}ResponseMessage>
</m:ResponseMessages></m:{op}Response></s:Body></s:Envelope>"""


@pytest.mark.parametrize("service", [fastpath.FastCreateItem, fastpath.FastUpdateItem])
def test_answers_are_ids_or_the_same_product_errors(
    offline: tuple[EwsStore, Opened], service: type[Any]
) -> None:
    """The lean answers: (id, change key) per item; an item's error maps as exchangelib's path maps it."""
    from wizard.mailbox.base import Conflict, ItemNotFound
    from wizard.mailbox.ews.errors import item_error

    _store, opened = offline
    svc = service(account=opened.account)
    answers = list(svc.parse(_ANSWER.format(op=svc.SERVICE_NAME).encode()))
    assert answers[0] == ("A1", "K1")
    assert isinstance(item_error(answers[1]), Conflict)
    assert isinstance(item_error(answers[2]), ItemNotFound)


def test_sync_listing_is_ids_and_change_keys(offline: tuple[EwsStore, Opened]) -> None:
    _store, opened = offline
    answer = b"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
 xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>
<m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>
<m:SyncState>S2</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes>
<t:Create><t:Contact><t:ItemId Id="C1" ChangeKey="K1"/></t:Contact></t:Create>
<t:Update><t:CalendarItem><t:ItemId Id="C2" ChangeKey="K2"/></t:CalendarItem></t:Update>
<t:Delete><t:ItemId Id="C3"/></t:Delete>
<t:ReadFlagChange><t:ItemId Id="C4" ChangeKey="K4"/><t:IsRead>true</t:IsRead></t:ReadFlagChange>
</m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>
</s:Body></s:Envelope>"""
    svc = fastpath.IdSyncFolderItems(account=opened.account)
    assert list(svc.parse(answer)) == [
        ("create", ("C1", "K1")),
        ("update", ("C2", "K2")),
        ("delete", ("C3", None)),
        ("read_flag_change", ("C4", "K4")),
    ]
    assert svc.sync_state == "S2"
    assert svc.includes_last_item_in_range is True


def test_exchange_2007_keeps_exchangelibs_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exchange 2007 writes a MeetingTimeZone the fast path does not: its creates and updates go the old way."""
    from types import SimpleNamespace

    from exchangelib import Build, Version

    assert fastpath.supports_fast_path(Version(Build(14, 0, 639, 21)))
    assert not fastpath.supports_fast_path(Version(Build(8, 3, 348, 2)))
    store = EwsStore(
        EwsSettings(
            address="anna@contoso.com",
            ews_url="https://mail.contoso.com/EWS/Exchange.asmx",
            auth=EwsAuth.BASIC,
            server_build=(8, 3, 348, 2),
            timezone="Europe/Berlin",
        ),
        password="unused",
    )
    sent: list[tuple[str, list[Any]]] = []

    def call_batch(opened: Opened, service: type[Any], *, items: list[Any], **kwargs: Any) -> list[Any]:
        sent.append((service.__name__, list(items)))
        return [SimpleNamespace(id=f"N{n}", changekey=f"K{n}") for n in range(len(items))]

    def update(opened: Opened, pairs: list[Any], resolution: str) -> list[Any]:
        sent.append(("update", list(pairs)))
        return [(f"U{n}", f"V{n}") for n in range(len(pairs))]

    monkeypatch.setattr(store, "_call_batch", call_batch)
    monkeypatch.setattr(store, "_update", update)
    with store:
        created = store.create_many(FolderKind.CONTACTS, CONTACTS[:2])
        updated = store.update_many(FolderKind.TASKS, [replace(TASKS[0], id="T", change_key="C")])
    assert [(r.id, r.value.change_key) for r in created if r.value] == [("N0", "K0"), ("N1", "K1")]
    assert [(r.id, r.value.change_key) for r in updated if r.value] == [("U0", "V0")]
    assert [name for name, _ in sent] == ["BatchCreateItem", "update"]
    assert type(sent[0][1][0]).__name__ == "Contact"  # exchangelib's item objects


@pytest.mark.parametrize(
    "item",
    [
        ContactItem(id="", given_name="g" * 256),
        ContactItem(id="", surname="s" * 256),
        TaskItem(id="", subject="t" * 256),
        TaskItem(id="", subject="ok", categories=["c" * 256]),
        AppointmentItem(
            id="",
            subject="ok",
            start=dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC),
            end=dt.datetime(2026, 3, 1, 11, tzinfo=dt.UTC),
            required_attendees=[("", "a" * 250 + "@x.com")],
        ),
    ],
    ids=["given_name", "surname", "subject", "category", "attendee"],
)
def test_rejects_what_exchangelib_rejects(offline: tuple[EwsStore, Opened], item: Item) -> None:
    """Too long for exchangelib's CharFields: rejected before sending, as exchangelib's clean() did."""
    store, opened = offline
    kind = {ContactItem: FolderKind.CONTACTS, TaskItem: FolderKind.TASKS}.get(type(item), FolderKind.CALENDAR)
    with pytest.raises(MailboxError, match="before sending"):
        store._build_x(opened, kind, item)
    with pytest.raises(MailboxError, match="before sending"):
        fastpath.fields_for(item, opened.account.default_timezone)
