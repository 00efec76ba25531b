"""Field mappings: directions, both views, payloads, mailbox apply; time zones, all-day, parties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wizard.mailbox.base import (
    TRACKED_CATEGORY,
    AppointmentItem,
    ContactItem,
    LinkState,
    NamedProps,
    PhysicalAddress,
    Recurrence,
    RecurrencePattern,
    TaskItem,
    TaskStatus,
)
from wizard.settings.enums import Kind
from wizard.sync import mapping as m
from wizard.sync.mapping.specs import ADDRESS_PARTS
from wizard.sync.model import KINDS, Direction, Fields, content_hash

ME = "11111111-1111-1111-1111-111111111111"
OTHER_USER = "22222222-2222-2222-2222-222222222222"
ACCOUNT = "33333333-3333-3333-3333-333333333333"
CONTACT = "44444444-4444-4444-4444-444444444444"
ORG = "99999999-9999-9999-9999-999999999999"
MY_MAIL = "me@contoso.example"


def make_ctx(tz: str = "Europe/Berlin", **overrides: Any) -> m.MappingContext:
    values: dict[str, Any] = {
        "user_id": ME,
        "org_id": ORG,
        "mailbox_tz": tz,
        "sync_contact_company": True,
        "all_addresses": False,
        "account_names": {ACCOUNT: "Contoso Ltd"},
        "now": datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
        "mailbox_address": MY_MAIL,
    }
    values.update(overrides)
    return m.MappingContext(**values)


def synced(fields: Fields) -> Fields:
    return {k: v for k, v in fields.items() if not k.startswith("@")}


# --------------------------------------------------------------------------------------------------
# Specs and directions


def test_every_kind_has_specs_with_consistent_locks() -> None:
    for kind in KINDS:
        specs = m.field_specs(kind, all_addresses=True)
        names = [s.name for s in specs]
        assert len(names) == len(set(names)), kind
        for spec in specs:
            assert spec.default in spec.allowed, spec.name
            assert spec.crm, spec.name
            assert spec.label, spec.name
            if spec.locked:
                assert spec.allowed == frozenset({spec.default}), spec.name


def test_address2_only_with_all_addresses() -> None:
    mailing = {s.name for s in m.field_specs(Kind.CONTACTS)}
    every = {s.name for s in m.field_specs(Kind.CONTACTS, all_addresses=True)}
    assert "address1_city" in mailing and "address2_city" not in mailing
    assert every - mailing == {f"address2_{p}" for p, _a, _l in ADDRESS_PARTS}


def test_default_directions_follow_synchronization_fields() -> None:
    contacts = m.directions(Kind.CONTACTS)
    assert contacts["firstname"] is Direction.BOTH
    assert contacts["company"] is Direction.TO_MAILBOX
    assert contacts["telephone1"] is Direction.BOTH
    assert m.directions(Kind.TASKS)["status"] is Direction.BOTH
    assert all(d is Direction.BOTH for n, d in m.directions(Kind.APPOINTMENTS).items())


def test_directions_apply_overrides() -> None:
    result = m.directions(Kind.CONTACTS, {"description": 0, "jobtitle": 1, "telephone2": 2, "company": 0})
    assert result["description"] is Direction.NONE
    assert result["jobtitle"] is Direction.TO_MAILBOX
    assert result["telephone2"] is Direction.TO_CRM
    assert result["company"] is Direction.NONE
    # a group name sets all its members; a locked field may be "set" to its own default
    grouped = m.directions(Kind.CONTACTS, {"address1": 1, "firstname": 3}, all_addresses=True)
    assert {grouped[f"address1_{p}"] for p, _a, _l in ADDRESS_PARTS} == {Direction.TO_MAILBOX}
    assert grouped["address2_city"] is Direction.BOTH
    # Home address overrides are kept in the profile but ignored while only the mailing address syncs
    assert "address2_city" not in m.directions(Kind.CONTACTS, {"address2_city": 0})


@pytest.mark.parametrize(
    ("kind", "overrides", "message"),
    [
        ("contacts", {"firstname": 1}, "locked"),
        ("contacts", {"fullname": 0}, "locked"),
        ("appointments", {"scheduledstart": 0}, "locked"),
        ("appointments", {"attendees": 2}, "locked"),
        ("tasks", {"status": 1}, "locked"),
        ("tasks", {"prioritycode": 0}, "locked"),
        ("contacts", {"company": 2}, "not allowed"),
        ("contacts", {"company": 3}, "not allowed"),
        ("contacts", {"nosuchfield": 1}, "no such"),
        ("tasks", {"subject": 4}, "must be 0"),
        ("tasks", {"subject": -1}, "must be 0"),
        ("tasks", {"subject": True}, "must be 0"),
        ("tasks", {"subject": "3"}, "must be 0"),
    ],
)
def test_directions_refuse_bad_overrides(kind: Any, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        m.directions(kind, overrides)


def test_crm_select_matches_the_sandbox_schema() -> None:
    """Every column we $select exists on the Dataverse stand-in (which refuses unknown ones)."""
    from wizard.sandbox.dataverse.schema import entity_by_set

    cases = [
        ("contacts", m.crm_select(Kind.CONTACTS, all_addresses=True)),
        ("appointments", m.crm_select(Kind.APPOINTMENTS)),
        ("tasks", m.crm_select(Kind.TASKS)),
        ("recurringappointmentmasters", m.crm_master_select()),
        ("activityparties", m.crm_party_select()),
    ]
    # Known gap of the stand-in (reported): its activity tables lack the standard "modifiedon" column.
    sandbox_gaps = {
        "appointments": {"modifiedon"},
        "tasks": {"modifiedon"},
        "recurringappointmentmasters": {"modifiedon"},
    }
    for entity_set, columns in cases:
        definition = entity_by_set(entity_set)
        assert definition is not None
        readable = set(definition.readable()) | sandbox_gaps.get(entity_set, set())
        assert set(columns) <= readable, (entity_set, set(columns) - readable)
    assert "address2_city" not in m.crm_select(Kind.CONTACTS)
    assert "recurrencepatterntype" not in m.crm_select(Kind.APPOINTMENTS)
    assert (
        m.crm_expand()
        == "appointment_activity_parties($select=participationtypemask,_partyid_value,addressused)"
    )
    assert (
        m.crm_entity_set(Kind.APPOINTMENTS, {"recurrence": {"pattern": "daily"}})
        == "recurringappointmentmasters"
    )
    assert m.crm_entity_set(Kind.APPOINTMENTS, {"recurrence": None}) == "appointments"


def test_context_refuses_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        make_ctx("Mars/Olympus_Mons")


# --------------------------------------------------------------------------------------------------
# Contacts


def contact_row(**extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "contactid": CONTACT,
        "firstname": "Anna",
        "middlename": "Maria",
        "lastname": "Schmidt",
        "_parentcustomerid_value": ACCOUNT,
        "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
        "jobtitle": "Einkauf",
        "department": "Purchasing",
        "emailaddress1": "anna@fabrikam.example",
        "emailaddress2": "anna.private@example.org",
        "emailaddress3": None,
        "telephone1": "+49 30 1234",
        "telephone2": "+49 30 9876",
        "mobilephone": "+49 170 5555",
        "fax": "+49 30 1235",
        "address1_line1": "Hauptstraße 1",
        "address1_line2": "Aufgang B",
        "address1_line3": None,
        "address1_city": "Berlin",
        "address1_stateorprovince": "BE",
        "address1_postalcode": "10115",
        "address1_country": "Germany",
        "address2_line1": "Gartenweg 5",
        "address2_city": "Potsdam",
        "address2_postalcode": "14467",
        "address2_country": "Germany",
        "websiteurl": "https://fabrikam.example",
        "birthdate": "1980-05-17",
        "description": "Prefers e-mail.\nSpeaks German and English.",
        "_ownerid_value": ME,
        "statecode": 0,
        "statuscode": 1,
        "modifiedon": "2026-11-20T08:00:00Z",
    }
    row.update(extra)
    return row


def contact_item() -> ContactItem:
    return ContactItem(
        id="AAMk-contact",
        given_name="Anna",
        surname="Schmidt",
        display_name="Anna Maria Schmidt",
        company="Contoso Ltd",
        department="Purchasing",
        job_title="Einkauf",
        emails=["anna@fabrikam.example", "anna.private@example.org"],
        phones={
            "business": "+49 30 1234",
            "home": "+49 30 9876",
            "mobile": "+49 170 5555",
            "fax": "+49 30 1235",
        },
        business_address=PhysicalAddress("Hauptstraße 1\nAufgang B", "Berlin", "BE", "10115", "Germany"),
        home_address=PhysicalAddress("Gartenweg 5", "Potsdam", "", "14467", "Germany"),
        web_page="https://fabrikam.example",
        birthday=date(1980, 5, 17),
        notes="Prefers e-mail.\r\nSpeaks German and English.\r\n",
        categories=[TRACKED_CATEGORY],
        last_modified=datetime(2026, 11, 21, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        props=NamedProps(crmid=CONTACT, crmlinkstate=LinkState.TRACKED),
    )


@pytest.mark.parametrize("all_addresses", [False, True])
def test_contact_views_agree_and_hash_equal(all_addresses: bool) -> None:
    ctx = make_ctx(all_addresses=all_addresses)
    crm = m.crm_view(Kind.CONTACTS, contact_row(), ctx)
    box = m.mailbox_view(Kind.CONTACTS, contact_item(), ctx)
    assert synced(crm) == synced(box)
    assert content_hash(crm) == content_hash(box)
    assert set(synced(crm)) == {s.name for s in m.field_specs(Kind.CONTACTS, all_addresses=all_addresses)}
    assert crm["company"] == "Contoso Ltd"
    assert crm["middlename"] == "Maria"
    assert crm["address1_line2"] == "Aufgang B"
    assert crm["@owned_by_me"] is True and crm["@crmid"] == CONTACT and crm["@state"] == "open"
    assert crm["@modified"] == "2026-11-20T08:00:00Z"
    assert box["@owned_by_me"] is True and box["@crmid"] == CONTACT
    assert box["@linkstate"] == 2 and box["@tracked"] is True
    assert box["@modified"] == "2026-11-21T08:00:00Z"


def test_contact_metadata_owner_and_state() -> None:
    ctx = make_ctx()
    crm = m.crm_view(Kind.CONTACTS, contact_row(_ownerid_value=OTHER_USER, statecode=1), ctx)
    assert crm["@owned_by_me"] is False and crm["@state"] == "canceled"
    item = contact_item()
    item.categories, item.props = [], NamedProps()
    box = m.mailbox_view(Kind.CONTACTS, item, ctx)
    assert box["@tracked"] is False and box["@crmid"] is None and box["@linkstate"] is None
    item.props = NamedProps(crmlinkstate=LinkState.PENDING)
    assert m.mailbox_view(Kind.CONTACTS, item, ctx)["@tracked"] is True


def test_company_only_with_synccontactcompany() -> None:
    off = make_ctx(sync_contact_company=False)
    assert m.crm_view(Kind.CONTACTS, contact_row(), off)["company"] is None
    assert m.mailbox_view(Kind.CONTACTS, contact_item(), off)["company"] is None
    on = make_ctx(account_names={})
    formatted = contact_row(
        **{"_parentcustomerid_value@OData.Community.Display.V1.FormattedValue": "Fabrikam"}
    )
    assert m.crm_view(Kind.CONTACTS, formatted, on)["company"] == "Fabrikam"
    parent_contact = contact_row(
        **{"_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "contact"}
    )
    assert m.crm_view(Kind.CONTACTS, parent_contact, on)["company"] is None
    assert m.crm_view(Kind.CONTACTS, contact_row(_parentcustomerid_value=None), make_ctx())["company"] is None
    # never written to Dynamics 365, and only applied to the mailbox while the option is on
    assert "company" not in m.crm_payload(Kind.CONTACTS, {"company": "X"}, make_ctx(), creating=False)
    assert m.apply_to_mailbox(Kind.CONTACTS, {"company": "X"}, contact_item(), off).company == "Contoso Ltd"
    assert m.apply_to_mailbox(Kind.CONTACTS, {"company": "X"}, contact_item(), make_ctx()).company == "X"


CONTACT_ALTERNATIVES: dict[str, Any] = {
    "firstname": "Anne",
    "middlename": None,
    "lastname": "Schmitt",
    "jobtitle": "CEO",
    "department": None,
    "emailaddress1": "new@fabrikam.example",
    "emailaddress2": None,
    "emailaddress3": "third@example.net",
    "telephone1": "+49 89 1",
    "telephone2": None,
    "mobilephone": "+49 171 1",
    "fax": None,
    "address1_line1": "Neue Straße 7",
    "address1_line2": None,
    "address1_line3": "Hinterhaus",
    "address1_city": "München",
    "address1_stateorprovince": None,
    "address1_postalcode": "80331",
    "address1_country": "Deutschland",
    "address2_line1": None,
    "address2_line2": "c/o Meier",
    "address2_line3": "Etage 3",
    "address2_city": "Hamburg",
    "address2_stateorprovince": "HH",
    "address2_postalcode": None,
    "address2_country": "DE",
    "websiteurl": None,
    "birthdate": "1979-12-31",
    "description": "Line 1\nLine 2",
}


@pytest.mark.parametrize("name", sorted(CONTACT_ALTERNATIVES))
def test_contact_each_field_round_trips_both_ways(name: str) -> None:
    ctx = make_ctx(all_addresses=True)
    value = CONTACT_ALTERNATIVES[name]
    before = m.mailbox_view(Kind.CONTACTS, contact_item(), ctx)
    assert before[name] != value
    # CRM -> mailbox: only this field changes in the mailbox view
    item = m.apply_to_mailbox(Kind.CONTACTS, {name: value}, contact_item(), ctx)
    after = m.mailbox_view(Kind.CONTACTS, item, ctx)
    assert after[name] == value
    assert {k: v for k, v in synced(after).items() if k != name} == {
        k: v for k, v in synced(before).items() if k != name
    }
    # mailbox -> CRM: the payload, stored on the row, reads back as the same value
    payload = m.crm_payload(Kind.CONTACTS, {name: value}, ctx, creating=False)
    row = {**contact_row(), **payload}
    assert m.crm_view(Kind.CONTACTS, row, ctx)[name] == value


def test_contact_create_from_mailbox_and_from_crm() -> None:
    ctx = make_ctx(all_addresses=True)
    box = m.mailbox_view(Kind.CONTACTS, contact_item(), ctx)
    body = m.crm_payload(Kind.CONTACTS, box, ctx, creating=True)
    assert "company" not in body and not any(k.startswith("@") for k in body)
    assert body["birthdate"] == "1980-05-17"
    row = {**body, "contactid": CONTACT, "_parentcustomerid_value": ACCOUNT, "_ownerid_value": ME}
    assert synced(m.crm_view(Kind.CONTACTS, row, ctx)) == synced(box)
    crm = m.crm_view(Kind.CONTACTS, contact_row(), ctx)
    new = m.apply_to_mailbox(Kind.CONTACTS, crm, None, ctx)
    assert isinstance(new, ContactItem) and new.id == ""
    assert new.display_name == "Anna Maria Schmidt"
    assert (
        new.props.crmid == CONTACT
        and new.props.crmorgid == ORG
        and new.props.crmlinkstate is LinkState.TRACKED
    )
    assert synced(m.mailbox_view(Kind.CONTACTS, new, ctx)) == synced(crm)


def test_apply_does_not_modify_the_input() -> None:
    item = contact_item()
    m.apply_to_mailbox(
        Kind.CONTACTS, {"telephone1": None, "address1_city": "Bonn", "firstname": "X"}, item, make_ctx()
    )
    assert item.phones["business"] == "+49 30 1234"
    assert item.business_address is not None and item.business_address.city == "Berlin"
    assert item.given_name == "Anna"


def test_clearing_all_address_parts_removes_the_address() -> None:
    ctx = make_ctx()
    clear = {s.name: None for s in m.field_specs(Kind.CONTACTS) if s.group == "address1"}
    assert m.apply_to_mailbox(Kind.CONTACTS, clear, contact_item(), ctx).business_address is None


def test_long_street_keeps_extra_lines_in_line3() -> None:
    ctx = make_ctx()
    item = contact_item()
    item.business_address = PhysicalAddress("A\nB\nC\nD", "X")
    view = m.mailbox_view(Kind.CONTACTS, item, ctx)
    assert (view["address1_line1"], view["address1_line2"], view["address1_line3"]) == ("A", "B", "C\nD")
    back = m.apply_to_mailbox(Kind.CONTACTS, synced(view), ContactItem(id="n"), ctx)
    assert back.business_address is not None and back.business_address.street == "A\nB\nC\nD"


@pytest.mark.parametrize(
    "tz", ["Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
)
def test_birthday_is_a_date_and_never_shifts(tz: str) -> None:
    ctx = make_ctx(tz)
    assert m.crm_view(Kind.CONTACTS, contact_row(birthdate="1980-05-17"), ctx)["birthdate"] == "1980-05-17"
    item = m.apply_to_mailbox(Kind.CONTACTS, {"birthdate": "1980-05-17"}, None, ctx)
    assert isinstance(item, ContactItem) and item.birthday == date(1980, 5, 17)
    assert m.crm_payload(Kind.CONTACTS, {"birthdate": "1980-05-17"}, ctx, creating=False) == {
        "birthdate": "1980-05-17"
    }


def test_birthday_from_a_userlocal_timestamp_uses_the_local_date() -> None:
    # orgs where birthdate is UserLocal return local midnight as UTC: 22:00Z the day before in summer Berlin
    ctx = make_ctx("Europe/Berlin")
    assert (
        m.crm_view(Kind.CONTACTS, contact_row(birthdate="1980-05-16T22:00:00Z"), ctx)["birthdate"]
        == "1980-05-17"
    )


# --------------------------------------------------------------------------------------------------
# Appointments


def parties(*entries: tuple[int, str | None, str | None, str]) -> list[dict[str, Any]]:
    out = []
    for mask, party_id, address, logical in entries:
        out.append(
            {
                "participationtypemask": mask,
                "_partyid_value": party_id,
                "_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname": logical if party_id else None,
                "addressused": address,
            }
        )
    return out


PARTIES = parties(
    (7, ME, MY_MAIL, "systemuser"),
    (5, CONTACT, "Anna@Fabrikam.example", "contact"),
    (6, None, "guest@unresolved.example", ""),  # no record: kept as addressused
    (9, ME, MY_MAIL, "systemuser"),  # owner party: not an attendee
)


def appointment_row(**extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "activityid": "55555555-5555-5555-5555-555555555555",
        "subject": "Kick-off",
        "scheduledstart": "2026-11-25T09:00:00Z",
        "scheduledend": "2026-11-25T10:30:00Z",
        "isalldayevent": False,
        "location": "Room 1",
        "description": "Agenda",
        "_ownerid_value": ME,
        "statecode": 3,
        "statuscode": 5,
        "modifiedon": "2026-11-20T08:00:00Z",
    }
    row.update(extra)
    return row


def appointment_item(tz: str = "Europe/Berlin") -> AppointmentItem:
    zone = ZoneInfo(tz)
    return AppointmentItem(
        id="AAMk-appt",
        subject="Kick-off",
        start=datetime(2026, 11, 25, 9, 0, tzinfo=UTC).astimezone(zone),
        end=datetime(2026, 11, 25, 10, 30, tzinfo=UTC).astimezone(zone),
        location="Room 1",
        body="Agenda\r\n",
        organizer=("Me", MY_MAIL.upper()),
        required_attendees=[("Anna Schmidt", "anna@fabrikam.example")],
        optional_attendees=[("", "guest@unresolved.example")],
    )


def test_appointment_views_agree_and_hash_equal() -> None:
    ctx = make_ctx()
    crm = m.crm_view(Kind.APPOINTMENTS, appointment_row(), ctx, parties=PARTIES)
    box = m.mailbox_view(Kind.APPOINTMENTS, appointment_item(), ctx)
    assert synced(crm) == synced(box)
    assert content_hash(crm) == content_hash(box)
    assert crm["attendees"] == [  # sorted by (type, address); addresses lower-cased, names not compared
        {"address": "guest@unresolved.example", "name": "", "type": "optional"},
        {"address": MY_MAIL, "name": "", "type": "organizer"},
        {"address": "anna@fabrikam.example", "name": "", "type": "required"},
    ]
    assert crm["@is_organizer"] is True and box["@is_organizer"] is True
    assert crm["@end"] == "2026-11-25T10:30:00Z" == box["@end"]
    assert crm["@state"] == "open"
    # parties expanded into the row work the same
    expanded = m.crm_view(
        Kind.APPOINTMENTS, {**appointment_row(), "appointment_activity_parties": PARTIES}, ctx
    )
    assert synced(expanded) == synced(crm)


def test_organizer_metadata() -> None:
    ctx = make_ctx()
    someone_else = parties(
        (7, OTHER_USER, "boss@contoso.example", "systemuser"), (5, ME, MY_MAIL, "systemuser")
    )
    assert (
        m.crm_view(Kind.APPOINTMENTS, appointment_row(), ctx, parties=someone_else)["@is_organizer"] is False
    )
    assert m.crm_view(Kind.APPOINTMENTS, appointment_row(), ctx)["@is_organizer"] is True  # no parties: owner
    item = appointment_item()
    item.organizer = ("Boss", "boss@contoso.example")
    assert m.mailbox_view(Kind.APPOINTMENTS, item, ctx)["@is_organizer"] is False
    item.organizer = None
    assert m.mailbox_view(Kind.APPOINTMENTS, item, ctx)["@is_organizer"] is True
    item.is_cancelled = True
    assert m.mailbox_view(Kind.APPOINTMENTS, item, ctx)["@state"] == "canceled"
    assert m.crm_view(Kind.APPOINTMENTS, appointment_row(statecode=2), ctx)["@state"] == "canceled"
    assert m.crm_view(Kind.APPOINTMENTS, appointment_row(statecode=1), ctx)["@state"] == "completed"


def test_attendee_payload_binds_resolved_parties_and_keeps_unresolved_addresses() -> None:
    resolved = {"anna@fabrikam.example": ("contact", CONTACT)}
    ctx = make_ctx(resolve_party=resolved.get)
    attendees = m.crm_view(Kind.APPOINTMENTS, appointment_row(), ctx, parties=PARTIES)["attendees"]
    body = m.crm_payload(Kind.APPOINTMENTS, {"attendees": attendees}, ctx, creating=False)
    assert sorted(body["appointment_activity_parties"], key=lambda p: p["participationtypemask"]) == [
        {
            "participationtypemask": 5,
            "partyid_contact@odata.bind": f"contacts({CONTACT})",
            "addressused": "anna@fabrikam.example",
        },
        {"participationtypemask": 6, "addressused": "guest@unresolved.example"},
        {
            "participationtypemask": 7,
            "partyid_systemuser@odata.bind": f"systemusers({ME})",
            "addressused": MY_MAIL,
        },
    ]
    # without an organizer in the list, I am the organizer; a create always carries the party list
    created = m.crm_payload(Kind.APPOINTMENTS, {"subject": "x"}, make_ctx(), creating=True)
    assert created["appointment_activity_parties"] == [
        {
            "participationtypemask": 7,
            "partyid_systemuser@odata.bind": f"systemusers({ME})",
            "addressused": MY_MAIL,
        }
    ]
    with pytest.raises(ValueError, match="attendee type"):
        m.crm_payload(
            Kind.APPOINTMENTS, {"attendees": [{"address": "a@b", "type": "cc"}]}, ctx, creating=False
        )


def test_attendees_apply_to_mailbox() -> None:
    ctx = make_ctx()
    attendees = [
        {"address": "anna@fabrikam.example", "name": "Anna", "type": "required"},
        {"address": "x@y.example", "name": "", "type": "optional"},
        {"address": MY_MAIL, "name": "", "type": "organizer"},
    ]
    item = m.apply_to_mailbox(Kind.APPOINTMENTS, {"attendees": attendees}, AppointmentItem(id="1"), ctx)
    assert isinstance(item, AppointmentItem)
    assert item.required_attendees == [("Anna", "anna@fabrikam.example")]
    assert item.optional_attendees == [("", "x@y.example")]
    assert item.organizer == ("", MY_MAIL)
    assert m.mailbox_view(Kind.APPOINTMENTS, item, ctx)["attendees"] == [
        {**a, "name": ""} for a in sorted(attendees, key=lambda a: (a["type"], a["address"]))
    ]


DST_CASES = [
    # (zone, local start, local end, expected UTC start, expected UTC end)
    (
        "Europe/Berlin",
        datetime(2026, 3, 28, 10),
        datetime(2026, 3, 28, 11),
        "2026-03-28T09:00:00Z",
        "2026-03-28T10:00:00Z",
    ),
    (
        "Europe/Berlin",
        datetime(2026, 3, 30, 10),
        datetime(2026, 3, 30, 11),
        "2026-03-30T08:00:00Z",
        "2026-03-30T09:00:00Z",
    ),
    # across the March switch (02:00 -> 03:00): 01:30 CET to 03:30 CEST is one hour
    (
        "Europe/Berlin",
        datetime(2026, 3, 29, 1, 30),
        datetime(2026, 3, 29, 3, 30),
        "2026-03-29T00:30:00Z",
        "2026-03-29T01:30:00Z",
    ),
    # across the October switch (03:00 -> 02:00): 01:30 CEST to 03:30 CET is three hours
    (
        "Europe/Berlin",
        datetime(2026, 10, 25, 1, 30),
        datetime(2026, 10, 25, 3, 30),
        "2026-10-24T23:30:00Z",
        "2026-10-25T02:30:00Z",
    ),
    (
        "Europe/Berlin",
        datetime(2026, 10, 26, 10),
        datetime(2026, 10, 26, 11),
        "2026-10-26T09:00:00Z",
        "2026-10-26T10:00:00Z",
    ),
    (
        "America/New_York",
        datetime(2026, 3, 7, 9),
        datetime(2026, 3, 7, 10),
        "2026-03-07T14:00:00Z",
        "2026-03-07T15:00:00Z",
    ),
    (
        "America/New_York",
        datetime(2026, 3, 9, 9),
        datetime(2026, 3, 9, 10),
        "2026-03-09T13:00:00Z",
        "2026-03-09T14:00:00Z",
    ),
    (
        "America/New_York",
        datetime(2026, 3, 8, 1, 0),
        datetime(2026, 3, 8, 4, 0),
        "2026-03-08T06:00:00Z",
        "2026-03-08T08:00:00Z",
    ),
    (
        "America/New_York",
        datetime(2026, 10, 31, 23),
        datetime(2026, 11, 1, 3),
        "2026-11-01T03:00:00Z",
        "2026-11-01T08:00:00Z",
    ),
    (
        "America/New_York",
        datetime(2026, 11, 2, 9),
        datetime(2026, 11, 2, 10),
        "2026-11-02T14:00:00Z",
        "2026-11-02T15:00:00Z",
    ),
]


@pytest.mark.parametrize(("tz", "start", "end", "utc_start", "utc_end"), DST_CASES)
def test_appointment_times_are_dst_safe(
    tz: str, start: datetime, end: datetime, utc_start: str, utc_end: str
) -> None:
    ctx = make_ctx(tz)
    zone = ZoneInfo(tz)
    for local_start, local_end in ((start.replace(tzinfo=zone), end.replace(tzinfo=zone)), (start, end)):
        item = AppointmentItem(
            id="1", subject="s", start=local_start, end=local_end
        )  # aware and naive (wall)
        view = m.mailbox_view(Kind.APPOINTMENTS, item, ctx)
        assert (view["scheduledstart"], view["scheduledend"]) == (utc_start, utc_end)
    # CRM -> mailbox: the same wall clock in the mailbox zone, with the right offset
    crm = m.crm_view(Kind.APPOINTMENTS, appointment_row(scheduledstart=utc_start, scheduledend=utc_end), ctx)
    back = m.apply_to_mailbox(Kind.APPOINTMENTS, synced(crm), None, ctx)
    assert isinstance(back, AppointmentItem) and back.start is not None and back.end is not None
    assert back.start.tzinfo is not None
    assert back.start.replace(tzinfo=None) == start and back.end.replace(tzinfo=None) == end
    assert back.start.utcoffset() == start.replace(tzinfo=zone).utcoffset()
    assert back.end.astimezone(UTC) - back.start.astimezone(UTC) == (
        datetime.fromisoformat(utc_end) - datetime.fromisoformat(utc_start)
    )
    payload = m.crm_payload(
        Kind.APPOINTMENTS, {"scheduledstart": utc_start, "scheduledend": utc_end}, ctx, creating=False
    )
    assert (payload["scheduledstart"], payload["scheduledend"]) == (utc_start, utc_end)


ALL_DAY_CASES = [
    ("Europe/Berlin", date(2026, 11, 25), "2026-11-24T23:00:00Z", "2026-11-25T23:00:00Z"),
    ("Europe/Berlin", date(2026, 3, 29), "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),  # 23-hour day
    ("Europe/Berlin", date(2026, 10, 25), "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),  # 25-hour day
    ("America/New_York", date(2026, 11, 25), "2026-11-25T05:00:00Z", "2026-11-26T05:00:00Z"),
    ("America/New_York", date(2026, 3, 8), "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"),
    ("Pacific/Auckland", date(2026, 7, 1), "2026-06-30T12:00:00Z", "2026-07-01T12:00:00Z"),
]


@pytest.mark.parametrize(("tz", "day", "utc_start", "utc_end"), ALL_DAY_CASES)
def test_all_day_events_do_not_shift(tz: str, day: date, utc_start: str, utc_end: str) -> None:
    ctx = make_ctx(tz)
    zone = ZoneInfo(tz)
    next_day = day + timedelta(days=1)
    crm = m.crm_view(
        Kind.APPOINTMENTS,
        appointment_row(isalldayevent=True, scheduledstart=utc_start, scheduledend=utc_end),
        ctx,
    )
    assert (crm["scheduledstart"], crm["scheduledend"], crm["isalldayevent"]) == (utc_start, utc_end, True)
    item = m.apply_to_mailbox(Kind.APPOINTMENTS, synced(crm), None, ctx)
    assert isinstance(item, AppointmentItem) and item.is_all_day
    assert item.start is not None and item.end is not None
    assert (item.start.date(), item.start.hour, item.start.minute) == (day, 0, 0)
    assert (item.end.date(), item.end.hour) == (next_day, 0)
    assert (
        item.start.tzinfo is not None
        and item.start.utcoffset() == datetime.combine(day, datetime.min.time(), zone).utcoffset()
    )
    # the mailbox may report the day as local midnights (aware or naive) or - some backends - as UTC midnights
    variants = [
        (
            datetime.combine(day, datetime.min.time(), zone),
            datetime.combine(next_day, datetime.min.time(), zone),
        ),
        (datetime.combine(day, datetime.min.time()), datetime.combine(next_day, datetime.min.time())),
        (
            datetime.combine(day, datetime.min.time(), UTC),
            datetime.combine(next_day, datetime.min.time(), UTC),
        ),
    ]
    if abs(datetime.combine(day, datetime.min.time(), zone).utcoffset() or timedelta()) >= timedelta(
        hours=12
    ):
        variants.pop()  # UTC midnight is exactly half a day away: ambiguous, not supported
    for start, end in variants:
        view = m.mailbox_view(
            Kind.APPOINTMENTS, AppointmentItem(id="x", start=start, end=end, is_all_day=True), ctx
        )
        assert (view["scheduledstart"], view["scheduledend"]) == (utc_start, utc_end), (start, end)
    # a CRM value written by a user in another zone (a few hours off) still lands on the same day
    off = datetime.fromisoformat(utc_start) + timedelta(hours=5)
    shifted = m.crm_view(
        Kind.APPOINTMENTS,
        appointment_row(isalldayevent=True, scheduledstart=off.isoformat(), scheduledend=None),
        ctx,
    )
    assert (shifted["scheduledstart"], shifted["scheduledend"]) == (utc_start, utc_end)


def test_all_day_payload_and_multi_day() -> None:
    ctx = make_ctx("Europe/Berlin")
    body = m.crm_payload(
        Kind.APPOINTMENTS,
        {
            "isalldayevent": True,
            "scheduledstart": "2026-11-24T23:00:00Z",
            "scheduledend": "2026-11-27T23:00:00Z",
        },
        ctx,
        creating=False,
    )
    assert body == {
        "isalldayevent": True,
        "scheduledstart": "2026-11-24T23:00:00Z",
        "scheduledend": "2026-11-27T23:00:00Z",
    }
    # switching an existing timed meeting to all-day snaps it to whole days
    item = m.apply_to_mailbox(Kind.APPOINTMENTS, {"isalldayevent": True}, appointment_item(), ctx)
    assert isinstance(item, AppointmentItem) and item.start is not None and item.end is not None
    assert (item.start.hour, item.start.date(), item.end.date()) == (
        0,
        date(2026, 11, 25),
        date(2026, 11, 26),
    )


APPOINTMENT_ALTERNATIVES: dict[str, Any] = {
    "subject": "Review",
    "location": None,
    "description": "New agenda\nwith two lines",
    "scheduledstart": "2026-11-25T08:00:00Z",
    "scheduledend": "2026-11-25T12:00:00Z",
    "isalldayevent": True,
    "attendees": [
        {"address": "anna@fabrikam.example", "name": "", "type": "optional"},
        {"address": MY_MAIL, "name": "", "type": "organizer"},
    ],
    "recurrence": {
        "pattern": "weekly",
        "interval": 1,
        "weekdays": [2],
        "day_of_month": None,
        "week_index": None,
        "month": None,
        "first_day_of_week": 0,
        "start_date": "2026-11-25",
        "end_date": None,
        "occurrences": 8,
        "deleted": [],
        "modified": [],
    },
}


@pytest.mark.parametrize("name", sorted(APPOINTMENT_ALTERNATIVES))
def test_appointment_each_field_round_trips(name: str) -> None:
    ctx = make_ctx()
    value = APPOINTMENT_ALTERNATIVES[name]
    item = m.apply_to_mailbox(Kind.APPOINTMENTS, {name: value}, appointment_item(), ctx)
    view = m.mailbox_view(Kind.APPOINTMENTS, item, ctx)
    if name == "isalldayevent":
        assert view["isalldayevent"] is True and view["scheduledstart"] == "2026-11-24T23:00:00Z"
    else:
        assert view[name] == value
    payload = m.crm_payload(Kind.APPOINTMENTS, {name: value}, ctx, creating=False)
    row = {**appointment_row(), **payload}
    series_parties = payload.get("recurringappointmentmaster_activity_parties")
    crm_parties = payload.get("appointment_activity_parties", series_parties)
    stored = [
        {
            "participationtypemask": p["participationtypemask"],
            "addressused": p.get("addressused"),
            "_partyid_value": ME if "partyid_systemuser@odata.bind" in p else None,
        }
        for p in crm_parties or PARTIES
    ]
    crm = m.crm_view(Kind.APPOINTMENTS, row, ctx, parties=stored)
    if name == "isalldayevent":
        assert crm["isalldayevent"] is True
    else:
        assert crm[name] == value


def test_recurring_series_views_and_payload() -> None:
    ctx = make_ctx("Europe/Berlin")
    master = {
        **appointment_row(),
        "starttime": "2026-11-02T08:00:00Z",
        "endtime": "2026-11-02T09:00:00Z",
        "scheduledstart": None,
        "scheduledend": None,
        "recurrencepatterntype": 1,
        "interval": 1,
        "daysofweekmask": 2,
        "patternstartdate": "2026-11-01T23:00:00Z",
        "patternendtype": 3,
        "patternenddate": "2026-12-27T23:00:00Z",
        "isnthmonthly": False,
        "isnthyearly": False,
        "isweekdaypattern": False,
        "firstdayofweek": 1,
    }
    crm = m.crm_view(Kind.APPOINTMENTS, master, ctx, parties=PARTIES)
    assert crm["scheduledstart"] == "2026-11-02T08:00:00Z"
    assert crm["recurrence"]["pattern"] == "weekly" and crm["recurrence"]["weekdays"] == [0]
    assert crm["recurrence"]["start_date"] == "2026-11-02" and crm["recurrence"]["end_date"] == "2026-12-28"
    assert crm["@end"] == "2026-12-28T23:00:00Z"  # the end of the series, for "present/future"
    item = m.apply_to_mailbox(Kind.APPOINTMENTS, synced(crm), None, ctx)
    assert isinstance(item, AppointmentItem) and item.recurrence is not None
    assert item.recurrence.pattern is RecurrencePattern.WEEKLY and item.recurrence.weekdays == (0,)
    assert item.recurrence.end_date == date(2026, 12, 28)
    box = m.mailbox_view(Kind.APPOINTMENTS, item, ctx)
    assert synced(box) == synced(crm) and content_hash(box) == content_hash(crm)
    body = m.crm_payload(Kind.APPOINTMENTS, synced(crm), ctx, creating=True)
    assert m.crm_entity_set(Kind.APPOINTMENTS, crm) == "recurringappointmentmasters"
    assert body["starttime"] == body["scheduledstart"] == "2026-11-02T08:00:00Z"
    assert body["duration"] == 60
    assert (body["recurrencepatterntype"], body["daysofweekmask"], body["patternendtype"]) == (1, 2, 3)
    assert body["firstdayofweek"] == 1
    assert (
        "recurringappointmentmaster_activity_parties" in body and "appointment_activity_parties" not in body
    )
    # the pattern read from a separate master row gives the same view
    plain = m.crm_view(Kind.APPOINTMENTS, appointment_row(), ctx, parties=PARTIES, master=master)
    assert plain["recurrence"] == crm["recurrence"]
    # a series that never ends has no end for the rules
    never = m.crm_view(Kind.APPOINTMENTS, {**master, "patternendtype": 1}, ctx)
    assert never["recurrence"]["end_date"] is None and never["@end"] is None


def test_mailbox_recurrence_with_monthly_relative() -> None:
    ctx = make_ctx("America/New_York")
    item = appointment_item("America/New_York")
    item.recurrence = Recurrence(
        RecurrencePattern.RELATIVE_MONTHLY, date(2026, 11, 10), weekdays=(1,), week_index=1, occurrences=6
    )
    view = m.mailbox_view(Kind.APPOINTMENTS, item, ctx)
    body = m.crm_payload(Kind.APPOINTMENTS, {"recurrence": view["recurrence"]}, ctx, creating=False)
    assert (
        body["recurrencepatterntype"],
        body["instance"],
        body["daysofweekmask"],
        body["isnthmonthly"],
    ) == (
        2,
        2,
        4,
        True,
    )
    assert body["patternstartdate"] == "2026-11-10T05:00:00Z"
    assert "firstdayofweek" not in body


# --------------------------------------------------------------------------------------------------
# Tasks


def task_row(**extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "activityid": "66666666-6666-6666-6666-666666666666",
        "subject": "Send offer",
        "scheduledstart": "2026-11-23T23:00:00Z",
        "scheduledend": "2026-11-26T23:00:00Z",
        "percentcomplete": 25,
        "statecode": 0,
        "statuscode": 3,
        "prioritycode": 2,
        "description": "Offer for 20 licences",
        "_ownerid_value": ME,
        "modifiedon": "2026-11-20T08:00:00Z",
    }
    row.update(extra)
    return row


def task_item() -> TaskItem:
    return TaskItem(
        id="AAMk-task",
        subject="Send offer",
        body="Offer for 20 licences",
        start=date(2026, 11, 24),
        due=date(2026, 11, 27),
        status=TaskStatus.IN_PROGRESS,
        percent_complete=25,
        importance="high",
    )


def test_task_views_agree_and_hash_equal() -> None:
    ctx = make_ctx()
    crm = m.crm_view(Kind.TASKS, task_row(), ctx)
    box = m.mailbox_view(Kind.TASKS, task_item(), ctx)
    assert synced(crm) == synced(box)
    assert content_hash(crm) == content_hash(box)
    assert crm["scheduledend"] == "2026-11-27"
    assert crm["@end"] == box["@end"] == "2026-11-27T23:00:00Z"
    assert crm["@state"] == box["@state"] == "open"


@pytest.mark.parametrize(
    ("statecode", "statuscode", "status", "state"),
    [
        (0, 2, "notstarted", "open"),
        (0, 3, "inprogress", "open"),
        (0, 4, "waiting", "open"),
        (0, 7, "deferred", "open"),
        (1, 5, "completed", "completed"),
        (2, 6, "deferred", "canceled"),
    ],
)
def test_task_status_mapping(statecode: int, statuscode: int, status: str, state: str) -> None:
    ctx = make_ctx()
    view = m.crm_view(Kind.TASKS, task_row(statecode=statecode, statuscode=statuscode), ctx)
    assert (view["status"], view["@state"]) == (status, state)
    item = m.apply_to_mailbox(Kind.TASKS, {"status": status}, task_item(), ctx)
    assert isinstance(item, TaskItem)
    assert m.mailbox_view(Kind.TASKS, item, ctx)["status"] == status
    if state != "canceled":
        body = m.crm_payload(Kind.TASKS, {"status": status}, ctx, creating=False)
        assert (body["statecode"], body["statuscode"]) == (statecode, statuscode)


def test_completing_a_task() -> None:
    ctx = make_ctx()
    assert m.crm_payload(Kind.TASKS, {"status": "completed"}, ctx, creating=False) == {
        "statecode": 1,
        "statuscode": 5,
    }
    done = m.apply_to_mailbox(Kind.TASKS, {"status": "completed"}, task_item(), ctx)
    assert isinstance(done, TaskItem)
    assert done.status is TaskStatus.COMPLETED and done.completed == ctx.now
    assert m.mailbox_view(Kind.TASKS, done, ctx)["@state"] == "completed"
    reopened = m.apply_to_mailbox(Kind.TASKS, {"status": "notstarted"}, done, ctx)
    assert isinstance(reopened, TaskItem) and reopened.completed is None
    with pytest.raises(ValueError, match="unknown status"):
        m.crm_payload(Kind.TASKS, {"status": "canceled"}, ctx, creating=False)


@pytest.mark.parametrize(("code", "importance"), [(0, "low"), (1, "normal"), (2, "high")])
def test_priority_and_importance(code: int, importance: str) -> None:
    ctx = make_ctx()
    assert m.crm_view(Kind.TASKS, task_row(prioritycode=code), ctx)["prioritycode"] == code
    item = m.apply_to_mailbox(Kind.TASKS, {"prioritycode": code}, task_item(), ctx)
    assert isinstance(item, TaskItem) and item.importance == importance
    item.importance = importance.upper()
    assert m.mailbox_view(Kind.TASKS, item, ctx)["prioritycode"] == code
    assert m.crm_payload(Kind.TASKS, {"prioritycode": code}, ctx, creating=False) == {"prioritycode": code}
    with pytest.raises(ValueError):
        m.crm_payload(Kind.TASKS, {"prioritycode": 3}, ctx, creating=False)


TASK_ALTERNATIVES: dict[str, Any] = {
    "subject": "Call back",
    "scheduledstart": None,
    "scheduledend": "2026-12-01",
    "percentcomplete": 80,
    "description": None,
}


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Pacific/Auckland"])
@pytest.mark.parametrize("name", sorted(TASK_ALTERNATIVES))
def test_task_each_field_round_trips(name: str, tz: str) -> None:
    ctx = make_ctx(tz)
    value = TASK_ALTERNATIVES[name]
    item = m.apply_to_mailbox(Kind.TASKS, {name: value}, task_item(), ctx)
    assert m.mailbox_view(Kind.TASKS, item, ctx)[name] == value
    payload = m.crm_payload(Kind.TASKS, {name: value}, ctx, creating=False)
    assert m.crm_view(Kind.TASKS, {**task_row(), **payload}, ctx)[name] == value


def test_task_due_date_is_local_midnight_in_crm() -> None:
    body = m.crm_payload(Kind.TASKS, {"scheduledend": "2026-03-29"}, make_ctx("Europe/Berlin"), creating=True)
    assert body == {"scheduledend": "2026-03-28T23:00:00Z"}
    body = m.crm_payload(
        Kind.TASKS, {"scheduledend": "2026-03-29"}, make_ctx("America/New_York"), creating=True
    )
    assert body == {"scheduledend": "2026-03-29T04:00:00Z"}
    # a due time during the day stays on its local date
    view = m.crm_view(Kind.TASKS, task_row(scheduledend="2026-11-27T15:00:00Z"), make_ctx("Europe/Berlin"))
    assert view["scheduledend"] == "2026-11-27"


# --------------------------------------------------------------------------------------------------
# Guards


def test_wrong_item_kind_and_unknown_fields_are_refused() -> None:
    ctx = make_ctx()
    with pytest.raises(ValueError):
        m.mailbox_view(Kind.CONTACTS, task_item(), ctx)
    with pytest.raises(ValueError):
        m.apply_to_mailbox(Kind.TASKS, {}, contact_item(), ctx)
    for kind in KINDS:
        with pytest.raises(ValueError, match="not a synchronized field"):
            m.crm_payload(kind, {"bogus": 1}, ctx, creating=False)
    # "@" metadata is never written
    assert m.crm_payload(Kind.TASKS, {"@state": "open", "@crmid": "x"}, ctx, creating=False) == {}


def test_empty_values_are_none_on_both_sides() -> None:
    ctx = make_ctx()
    crm = m.crm_view(Kind.CONTACTS, {"contactid": CONTACT}, ctx)
    box = m.mailbox_view(Kind.CONTACTS, ContactItem(id="e"), ctx)
    assert synced(crm) == synced(box)
    assert all(v is None for v in synced(crm).values())
    assert synced(m.crm_view(Kind.TASKS, {"activityid": "t"}, ctx)) == synced(
        m.mailbox_view(Kind.TASKS, TaskItem(id="t"), ctx)
    )
    assert synced(m.crm_view(Kind.APPOINTMENTS, {"activityid": "a"}, ctx)) == synced(
        m.mailbox_view(Kind.APPOINTMENTS, AppointmentItem(id="a"), ctx)
    )


def test_docs_list_every_field() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "field-mappings.md").read_text(encoding="utf-8")
    for kind in KINDS:
        for spec in m.field_specs(kind, all_addresses=True):
            assert f"`{spec.name}`" in text, (kind, spec.name)
