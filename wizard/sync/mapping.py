"""Per-kind field mappings: which Dataverse columns meet which mailbox fields, in which direction.

This is the original product's "Synchronization Fields" table (reference B.8) as code. Every synced field
has a :class:`FieldSpec` with a default direction (``syncattributemapping.syncdirection``: 0 none,
1 to the mailbox, 2 to Dynamics 365, 3 both), the directions a user may choose, and whether the
administrator locked it. Defaults follow Microsoft's "What fields can be synchronized with Outlook?"
table (see docs/field-mappings.md for the table and the sources).

The functions here convert between the three shapes the engine deals with, and nothing else (pure, no
I/O): Dataverse rows -> canonical :data:`Fields` (:func:`crm_view`), mailbox items -> Fields
(:func:`mailbox_view`), changed Fields -> a Web API body (:func:`crm_payload`) and changed Fields -> a
mailbox item (:func:`apply_to_mailbox`). Both views of the same data give equal non-"@" fields, so
:func:`wizard.sync.model.content_hash` is stable across sides.

Time: CRM values are UTC; mailbox items carry aware datetimes in the mailbox zone (``MappingContext.
mailbox_tz``); canonical date-times are UTC ISO strings. All-day appointments are midnight-to-midnight in
the mailbox zone on both sides; date-only values (birthday, recurrence range) never shift.

Meeting invitations: neither the CRM payload nor the mailbox item asks for invitations to be sent. A CRM
appointment created through the Web API sends nothing; the mailbox backend must save calendar items
without sending meeting requests (EWS ``SendMeetingInvitations="SendToNone"``, Graph: no ``/forward``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, overload

from wizard.mailbox.base import (
    TRACKED_CATEGORY,
    AppointmentItem,
    ContactItem,
    LinkState,
    NamedProps,
    PhysicalAddress,
    TaskItem,
    TaskStatus,
)
from wizard.settings.enums import Kind
from wizard.sync import recurrence as rec
from wizard.sync import timezones as tzs
from wizard.sync.model import Direction, Fields

__all__ = [
    "FieldSpec",
    "MappingContext",
    "apply_to_mailbox",
    "crm_entity_set",
    "crm_expand",
    "crm_master_select",
    "crm_party_select",
    "crm_payload",
    "crm_select",
    "crm_view",
    "directions",
    "field_groups",
    "field_specs",
    "mailbox_view",
]

MailboxItem = ContactItem | AppointmentItem | TaskItem

ALL_DIRECTIONS: frozenset[Direction] = frozenset(Direction)
LOOKUP_LOGICAL = "@Microsoft.Dynamics.CRM.lookuplogicalname"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"

# activityparty.participationtypemask values used for appointments
MASK_REQUIRED, MASK_OPTIONAL, MASK_ORGANIZER = 5, 6, 7
_MASK_TYPE = {MASK_REQUIRED: "required", MASK_OPTIONAL: "optional", MASK_ORGANIZER: "organizer"}
_TYPE_MASK = {v: k for k, v in _MASK_TYPE.items()}

#: entity set of each party target (for partyid_<logical>@odata.bind)
ENTITY_SETS = {
    "systemuser": "systemusers",
    "contact": "contacts",
    "account": "accounts",
    "lead": "leads",
    "queue": "queues",
}


@dataclass(frozen=True)
class FieldSpec:
    """One row of the Synchronization Fields table.

    ``name`` is the canonical field (the CRM logical name where there is one), ``crm`` the Dataverse
    column(s) it is read from, ``mailbox`` the mailbox item attribute (a description for people and docs).
    """

    name: str
    crm: tuple[str, ...]
    mailbox: str
    default: Direction
    allowed: frozenset[Direction]
    locked: bool = False
    label: str = ""
    #: a name several specs share, so a profile can set e.g. the whole "address1" at once
    group: str = ""


def _spec(
    name: str,
    crm: tuple[str, ...] | str,
    mailbox: str,
    label: str,
    *,
    default: Direction = Direction.BOTH,
    allowed: frozenset[Direction] = ALL_DIRECTIONS,
    locked: bool = False,
    group: str = "",
) -> FieldSpec:
    columns = (crm,) if isinstance(crm, str) else crm
    if locked:
        allowed = frozenset({default})
    return FieldSpec(name, columns, mailbox, default, allowed, locked, label, group)


_ADDRESS_PARTS = (
    ("line1", "street (line 1)", "Street 1"),
    ("line2", "street (line 2)", "Street 2"),
    ("line3", "street (line 3+)", "Street 3"),
    ("city", "city", "City"),
    ("stateorprovince", "state", "State/Province"),
    ("postalcode", "postal_code", "ZIP/Postal Code"),
    ("country", "country", "Country/Region"),
)
_ADDRESS_SLOTS = {"address1": "business_address", "address2": "home_address"}
_ADDRESS_LABELS = {"address1": "Mailing Address/Business Address", "address2": "Home Address"}


def _address_specs(prefix: str) -> list[FieldSpec]:
    slot = _ADDRESS_SLOTS[prefix]
    return [
        _spec(
            f"{prefix}_{part}",
            f"{prefix}_{part}",
            f"{slot}.{attr}",
            f"{_ADDRESS_LABELS[prefix]}: {label}",
            group=prefix,
        )
        for part, attr, label in _ADDRESS_PARTS
    ]


_NAME = "part of Full Name"  # aggregate, locked two-way by the administrator

_CONTACT_SPECS: list[FieldSpec] = [
    _spec("firstname", "firstname", "given_name", f"First Name ({_NAME})", locked=True, group="fullname"),
    _spec(
        "middlename",
        "middlename",
        "display_name (middle part)",
        f"Middle Name ({_NAME})",
        locked=True,
        group="fullname",
    ),
    _spec("lastname", "lastname", "surname", f"Last Name ({_NAME})", locked=True, group="fullname"),
    _spec(
        "company",
        "_parentcustomerid_value",
        "company",
        "Company (parent account's name; only with 'synccontactcompany')",
        default=Direction.TO_MAILBOX,
        allowed=frozenset({Direction.TO_MAILBOX, Direction.NONE}),
    ),
    _spec("jobtitle", "jobtitle", "job_title", "Job Title"),
    _spec("department", "department", "department", "Department"),
    _spec("emailaddress1", "emailaddress1", "emails[0]", "E-mail"),
    _spec("emailaddress2", "emailaddress2", "emails[1]", "E-mail 2"),
    _spec("emailaddress3", "emailaddress3", "emails[2]", "E-mail 3"),
    _spec("telephone1", "telephone1", "phones['business']", "Business Phone"),
    _spec("telephone2", "telephone2", "phones['home']", "Home Phone"),
    _spec("mobilephone", "mobilephone", "phones['mobile']", "Mobile"),
    _spec("fax", "fax", "phones['fax']", "Business Fax"),
    *_address_specs("address1"),
    _spec("websiteurl", "websiteurl", "web_page", "Web Page"),
    _spec("birthdate", "birthdate", "birthday", "Birthday (date only)"),
    _spec("description", "description", "notes", "Notes"),
]
_CONTACT_EXTRA_ADDRESSES: list[FieldSpec] = _address_specs("address2")

_TIME = "part of Appointment Time"  # aggregate, locked two-way by the administrator
_APPOINTMENT_SPECS: list[FieldSpec] = [
    _spec("subject", "subject", "subject", "Subject"),
    _spec(
        "scheduledstart",
        ("scheduledstart", "starttime"),
        "start",
        f"Start ({_TIME})",
        locked=True,
        group="time",
    ),
    _spec("scheduledend", ("scheduledend", "endtime"), "end", f"End ({_TIME})", locked=True, group="time"),
    _spec(
        "isalldayevent", "isalldayevent", "is_all_day", f"All Day Event ({_TIME})", locked=True, group="time"
    ),
    _spec("location", "location", "location", "Location"),
    _spec("description", "description", "body", "Body"),
    _spec(
        "attendees",
        ("appointment_activity_parties",),
        "organizer, required_attendees, optional_attendees",
        "Organizer, Required Attendees, Optional Attendees",
        locked=True,
    ),
    _spec(
        "recurrence",
        (
            "recurrencepatterntype",
            "interval",
            "daysofweekmask",
            "dayofmonth",
            "instance",
            "monthofyear",
            "firstdayofweek",
            "patternstartdate",
            "patternenddate",
            "patternendtype",
            "occurrences",
            "isnthmonthly",
            "isnthyearly",
            "isweekdaypattern",
        ),
        "recurrence",
        "Recurrence",
        locked=True,
    ),
]

_TASK_SPECS: list[FieldSpec] = [
    _spec("subject", "subject", "subject", "Subject"),
    _spec("scheduledstart", "scheduledstart", "start", "Start Date"),
    _spec("scheduledend", "scheduledend", "due", "Due Date"),
    _spec("percentcomplete", "percentcomplete", "percent_complete", "% Complete"),
    _spec(
        "status",
        ("statecode", "statuscode"),
        "status",
        "Status (from Activity Status and Status Reason)",
        locked=True,
    ),
    _spec(
        "prioritycode",
        "prioritycode",
        "importance",
        "Priority",
        locked=True,
    ),
    _spec("description", "description", "body", "Notes"),
]


def field_specs(kind: Kind, *, all_addresses: bool = False) -> list[FieldSpec]:
    """The synced fields of ``kind``; contacts get Address 2 (Home) too when ``all_addresses``."""
    if kind == "contacts":
        specs = list(_CONTACT_SPECS)
        if all_addresses:
            at = next(i for i, s in enumerate(specs) if s.name == "websiteurl")
            specs[at:at] = _CONTACT_EXTRA_ADDRESSES
        return specs
    if kind == "appointments":
        return list(_APPOINTMENT_SPECS)
    if kind == "tasks":
        return list(_TASK_SPECS)
    raise ValueError(f"unknown kind {kind!r} (expected contacts, appointments or tasks)")


def field_groups(kind: Kind, *, all_addresses: bool = False) -> dict[str, list[str]]:
    """Group name -> member field names (an override of a group applies to all its members)."""
    out: dict[str, list[str]] = {}
    for spec in field_specs(kind, all_addresses=all_addresses):
        if spec.group:
            out.setdefault(spec.group, []).append(spec.name)
    return out


def directions(
    kind: Kind, overrides: Mapping[str, int] | None = None, *, all_addresses: bool = False
) -> dict[str, Direction]:
    """The effective direction per field: the defaults, with the profile's overrides applied.

    Refuses (ValueError naming the field) an unknown field, a value outside 0..3, a direction the field
    does not allow, and any change to an admin-locked field. Overrides for fields that exist only in the
    other address mode (Home address while syncing the mailing address only) are ignored.
    """
    specs = {s.name: s for s in field_specs(kind, all_addresses=all_addresses)}
    known = {s.name for s in field_specs(kind, all_addresses=True)}
    groups = field_groups(kind, all_addresses=True)
    out = {name: spec.default for name, spec in specs.items()}
    for key, raw in (overrides or {}).items():
        if isinstance(raw, bool) or not isinstance(raw, int) or raw not in (0, 1, 2, 3):
            raise ValueError(
                f"{kind}.{key}: direction must be 0 (none), 1 (to mailbox), 2 (to CRM) or 3 (both)"
            )
        value = Direction(raw)
        members = groups.get(key, [key])
        if key not in groups and key not in known:
            raise ValueError(f"{kind}.{key}: no such synchronized field")
        for name in members:
            spec = specs.get(name)
            if spec is None:
                continue
            if spec.locked and value != spec.default:
                raise ValueError(
                    f"{kind}.{name}: locked by the administrator to {spec.default.name.lower()}; cannot be changed"
                )
            if value not in spec.allowed:
                allowed = ", ".join(str(int(d)) for d in sorted(spec.allowed))
                raise ValueError(f"{kind}.{name}: direction {int(value)} is not allowed (allowed: {allowed})")
            out[name] = value
    return out


# --------------------------------------------------------------------------------------------------
# $select lists

_META_COLUMNS = ("_ownerid_value", "statecode", "statuscode", "modifiedon")
_PARTY_COLUMNS = ("participationtypemask", "_partyid_value", "addressused")


def crm_select(kind: Kind, *, all_addresses: bool = False) -> list[str]:
    """``$select`` for reading ``kind`` from its main entity set (contacts, appointments, tasks)."""
    if kind == "contacts":
        columns = ["contactid"]
        for spec in field_specs(kind, all_addresses=all_addresses):
            columns.extend(spec.crm)
    elif kind == "appointments":
        columns = [
            "activityid",
            "subject",
            "scheduledstart",
            "scheduledend",
            "isalldayevent",
            "location",
            "description",
            "instancetypecode",
            "_seriesid_value",  # an occurrence's change marks its series (wizard.sync.series)
        ]
    elif kind == "tasks":
        columns = ["activityid"]
        for spec in field_specs(kind):
            columns.extend(spec.crm)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    columns.extend(_META_COLUMNS)
    return list(dict.fromkeys(columns))


def crm_master_select() -> list[str]:
    """``$select`` for ``recurringappointmentmasters`` (the series' own columns + its pattern)."""
    series = next(s for s in _APPOINTMENT_SPECS if s.name == "recurrence")
    columns = [
        "activityid",
        "subject",
        "scheduledstart",
        "scheduledend",
        "starttime",
        "endtime",
        "isalldayevent",
        "location",
        "description",
        *series.crm,
        *_META_COLUMNS,
    ]
    return list(dict.fromkeys(columns))


def crm_party_select() -> list[str]:
    """``$select`` for the activity parties of an appointment."""
    return list(_PARTY_COLUMNS)


def crm_expand(*, series: bool = False) -> str:
    """``$expand`` clause that brings an appointment's (or series') parties in the same request."""
    nav = "recurringappointmentmaster_activity_parties" if series else "appointment_activity_parties"
    return f"{nav}($select={','.join(_PARTY_COLUMNS)})"


def crm_entity_set(kind: Kind, fields: Mapping[str, Any] | None = None) -> str:
    """Where a record of ``kind`` lives; an appointment with a recurrence is a ``recurringappointmentmaster``."""
    if kind == "contacts":
        return "contacts"
    if kind == "tasks":
        return "tasks"
    if fields is not None and fields.get("recurrence") is not None:
        return "recurringappointmentmasters"
    return "appointments"


# --------------------------------------------------------------------------------------------------
# Context


@dataclass
class MappingContext:
    """What the conversions need to know about the user, the org and the mailbox."""

    user_id: str
    org_id: str
    #: IANA zone of the mailbox (e.g. "Europe/Berlin"); wall-clock times on the mailbox side are in it
    mailbox_tz: str
    #: usersettings.synccontactcompany: fill the Outlook Company field from the parent account
    sync_contact_company: bool
    #: org option "Synchronize all three addresses" instead of the mailing address only
    all_addresses: bool
    #: account id -> name, for the contact's company
    account_names: Mapping[str, str]
    now: datetime
    #: the bound mailbox's SMTP address (= the user's Primary Email); tells "me" among attendees
    mailbox_address: str = ""
    #: address -> (logical name, id) of the party it resolves to, or None (kept as addressused)
    resolve_party: Callable[[str], tuple[str, str] | None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        tzs.zone(self.mailbox_tz)  # fail early with a clear message

    def is_me(self, address: str | None) -> bool:
        return (
            bool(address)
            and bool(self.mailbox_address)
            and (str(address).strip().lower() == self.mailbox_address.strip().lower())
        )


# --------------------------------------------------------------------------------------------------
# Small canonicalisers


def _text(value: Any) -> str | None:
    """Strings as they are; empty and missing are both None."""
    if value is None:
        return None
    text = str(value)
    return text if text != "" else None


def _memo(value: Any) -> str | None:
    """Multi-line text: CRLF -> LF and trailing whitespace dropped (Exchange appends line breaks)."""
    text = _text(value)
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    return text or None


def _int_or(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    return int(value)


def _iso_date(value: Any, tz: str) -> str | None:
    parsed = tzs.parse_date(value, tz)
    return parsed.isoformat() if parsed is not None else None


def _address(value: Any) -> str:
    return str(value or "").strip().lower()


def _meta_links(props: NamedProps, categories: Sequence[str]) -> Fields:
    state = props.crmlinkstate
    return {
        "@crmid": props.crmid,
        "@linkstate": int(state) if state is not None else None,
        "@tracked": TRACKED_CATEGORY in categories or state in (LinkState.PENDING, LinkState.TRACKED),
    }


def _crm_state(row: Mapping[str, Any], kind: Kind) -> str:
    state = _int_or(row.get("statecode"), 0)
    if kind == "contacts":
        return "open" if state == 0 else "canceled"
    return {1: "completed", 2: "canceled"}.get(state, "open")


def _crm_meta(kind: Kind, row: Mapping[str, Any], ctx: MappingContext, id_column: str) -> Fields:
    owner = row.get("_ownerid_value")
    return {
        "@owned_by_me": bool(owner) and str(owner).lower() == ctx.user_id.lower(),
        "@state": _crm_state(row, kind),
        "@modified": tzs.to_utc_iso(row.get("modifiedon")),
        "@crmid": _text(row.get(id_column)),
        "@linkstate": None,
    }


# --------------------------------------------------------------------------------------------------
# Contacts

_PHONES = {"telephone1": "business", "telephone2": "home", "mobilephone": "mobile", "fax": "fax"}


def _street_lines(street: str | None) -> list[str | None]:
    if not street:
        return [None, None, None]
    lines = street.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(lines) > 3:
        lines = [lines[0], lines[1], "\n".join(lines[2:])]
    lines += [""] * (3 - len(lines))
    return [line or None for line in lines]


def _street(lines: Sequence[str | None]) -> str:
    parts = [line or "" for line in lines]
    while parts and not parts[-1]:
        parts.pop()
    return "\n".join(parts)


def _middle_name(item: ContactItem) -> str | None:
    """Outlook keeps the middle name inside the display name: "Given Middle Surname"."""
    given, surname, display = item.given_name.strip(), item.surname.strip(), item.display_name.strip()
    if not given or not surname:
        return None
    head, tail = given + " ", " " + surname
    if display.startswith(head) and display.endswith(tail) and len(display) > len(head) + len(tail) - 1:
        return display[len(head) : len(display) - len(tail)].strip() or None
    return None


def _contact_prefixes(ctx: MappingContext) -> tuple[str, ...]:
    return ("address1", "address2") if ctx.all_addresses else ("address1",)


def _contact_company_crm(row: Mapping[str, Any], ctx: MappingContext) -> str | None:
    if not ctx.sync_contact_company:
        return None
    parent = row.get("_parentcustomerid_value")
    if not parent:
        return None
    name = ctx.account_names.get(str(parent)) or ctx.account_names.get(str(parent).lower())
    logical = row.get("_parentcustomerid_value" + LOOKUP_LOGICAL)
    if name is None and logical in (None, "account"):
        name = row.get("_parentcustomerid_value" + FORMATTED)
    return _text(name)


def _contact_crm_view(row: Mapping[str, Any], ctx: MappingContext) -> Fields:
    out: Fields = {
        "firstname": _text(row.get("firstname")),
        "middlename": _text(row.get("middlename")),
        "lastname": _text(row.get("lastname")),
        "company": _contact_company_crm(row, ctx),
        "jobtitle": _text(row.get("jobtitle")),
        "department": _text(row.get("department")),
        "emailaddress1": _text(row.get("emailaddress1")),
        "emailaddress2": _text(row.get("emailaddress2")),
        "emailaddress3": _text(row.get("emailaddress3")),
    }
    for column in _PHONES:
        out[column] = _text(row.get(column))
    for prefix in _contact_prefixes(ctx):
        for part, _attr, _label in _ADDRESS_PARTS:
            name = f"{prefix}_{part}"
            out[name] = _text(row.get(name))
    out["websiteurl"] = _text(row.get("websiteurl"))
    out["birthdate"] = _iso_date(row.get("birthdate"), ctx.mailbox_tz)
    out["description"] = _memo(row.get("description"))
    out.update(_crm_meta(Kind.CONTACTS, row, ctx, "contactid"))
    return out


def _contact_mailbox_view(item: ContactItem, ctx: MappingContext) -> Fields:
    emails = [*item.emails, "", "", ""]
    out: Fields = {
        "firstname": _text(item.given_name),
        "middlename": _middle_name(item),
        "lastname": _text(item.surname),
        "company": _text(item.company) if ctx.sync_contact_company else None,
        "jobtitle": _text(item.job_title),
        "department": _text(item.department),
        "emailaddress1": _text(emails[0]),
        "emailaddress2": _text(emails[1]),
        "emailaddress3": _text(emails[2]),
    }
    for column, key in _PHONES.items():
        out[column] = _text(item.phones.get(key))
    for prefix in _contact_prefixes(ctx):
        address: PhysicalAddress | None = getattr(item, _ADDRESS_SLOTS[prefix])
        lines = _street_lines(address.street if address else None)
        out[f"{prefix}_line1"], out[f"{prefix}_line2"], out[f"{prefix}_line3"] = lines
        out[f"{prefix}_city"] = _text(address.city) if address else None
        out[f"{prefix}_stateorprovince"] = _text(address.state) if address else None
        out[f"{prefix}_postalcode"] = _text(address.postal_code) if address else None
        out[f"{prefix}_country"] = _text(address.country) if address else None
    out["websiteurl"] = _text(item.web_page)
    out["birthdate"] = _iso_date(item.birthday, ctx.mailbox_tz)
    out["description"] = _memo(item.notes)
    out.update(
        {
            "@owned_by_me": True,
            "@state": "open",
            "@modified": tzs.to_utc_iso(item.last_modified, ctx.mailbox_tz),
            **_meta_links(item.props, item.categories),
        }
    )
    return out


def _contact_payload(changes: Fields, ctx: MappingContext) -> dict[str, Any]:
    known = {s.name for s in field_specs(Kind.CONTACTS, all_addresses=True)}
    body: dict[str, Any] = {}
    for name, value in changes.items():
        if name.startswith("@"):
            continue
        if name not in known:
            raise ValueError(f"contacts: {name!r} is not a synchronized field")
        if name == "company":
            continue  # one-way to the mailbox: the parent account is never changed from a name
        if name == "birthdate":
            body[name] = _iso_date(value, ctx.mailbox_tz)
        elif name == "description":
            body[name] = _memo(value)
        else:
            body[name] = _text(value)
    return body


def _apply_contact(changes: Fields, item: ContactItem, ctx: MappingContext) -> ContactItem:
    names = ("firstname", "middlename", "lastname")
    if any(n in changes for n in names):
        middle = changes["middlename"] if "middlename" in changes else _middle_name(item)
        if "firstname" in changes:
            item.given_name = changes["firstname"] or ""
        if "lastname" in changes:
            item.surname = changes["lastname"] or ""
        item.display_name = " ".join(p for p in (item.given_name, middle or "", item.surname) if p)
    simple = {"jobtitle": "job_title", "department": "department", "websiteurl": "web_page"}
    for name, attr in simple.items():
        if name in changes:
            setattr(item, attr, changes[name] or "")
    if "company" in changes and ctx.sync_contact_company:
        item.company = changes["company"] or ""
    if "description" in changes:
        item.notes = changes["description"] or ""
    if "birthdate" in changes:
        item.birthday = tzs.parse_date(changes["birthdate"], ctx.mailbox_tz)
    if any(f"emailaddress{n}" in changes for n in (1, 2, 3)):
        emails = [*item.emails, "", "", ""][:3]
        for n in (1, 2, 3):
            key = f"emailaddress{n}"
            if key in changes:
                emails[n - 1] = changes[key] or ""
        while emails and not emails[-1]:
            emails.pop()
        item.emails = emails
    for column, key in _PHONES.items():
        if column in changes:
            if changes[column]:
                item.phones[key] = changes[column]
            else:
                item.phones.pop(key, None)
    for prefix, slot in _ADDRESS_SLOTS.items():
        touched = [f"{prefix}_{part}" for part, _a, _l in _ADDRESS_PARTS if f"{prefix}_{part}" in changes]
        if not touched:
            continue
        current: PhysicalAddress | None = getattr(item, slot)
        address = copy.copy(current) if current is not None else PhysicalAddress()
        lines = _street_lines(address.street)
        for index, part in enumerate(("line1", "line2", "line3")):
            if f"{prefix}_{part}" in changes:
                lines[index] = changes[f"{prefix}_{part}"]
        address.street = _street(lines)
        for part, attr in (("city", "city"), ("stateorprovince", "state"), ("postalcode", "postal_code")):
            if f"{prefix}_{part}" in changes:
                setattr(address, attr, changes[f"{prefix}_{part}"] or "")
        if f"{prefix}_country" in changes:
            address.country = changes[f"{prefix}_country"] or ""
        empty = not any((address.street, address.city, address.state, address.postal_code, address.country))
        setattr(item, slot, None if empty else address)
    return item


# --------------------------------------------------------------------------------------------------
# Appointments


def _appointment_times(
    start: Any, end: Any, all_day: bool, tz: str, naive_tz: str
) -> tuple[str | None, str | None]:
    """Canonical (start, end): UTC ISO; all-day snapped to local midnights of the mailbox zone."""
    if not all_day:
        return tzs.to_utc_iso(start, naive_tz), tzs.to_utc_iso(end, naive_tz)
    if start is None or start == "":
        return None, None
    if isinstance(start, datetime) and start.tzinfo is None and naive_tz != tz:
        start = start.replace(tzinfo=tzs.zone(naive_tz))
    if isinstance(end, datetime) and end.tzinfo is None and naive_tz != tz:
        end = end.replace(tzinfo=tzs.zone(naive_tz))
    if isinstance(start, str) and naive_tz != "UTC":
        start = tzs.parse_datetime(start, naive_tz)
    first = tzs.local_date_nearest(start, tz)
    last = tzs.local_date_nearest(end, tz) if end not in (None, "") else first + timedelta(days=1)
    if last <= first:
        last = first + timedelta(days=1)
    return tzs.to_utc_iso(tzs.local_midnight(first, tz)), tzs.to_utc_iso(tzs.local_midnight(last, tz))


def _attendee(address: str, name: str, kind: str) -> dict[str, str]:
    # Display names are deliberately not compared: each side resolves the name from the address, and
    # carrying both sides' spellings would make every meeting look changed on every run.
    return {"address": address, "name": "", "type": kind}


def _sorted_attendees(entries: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    unique = {(e["type"], e["address"]): e for e in entries if e["address"]}
    return [unique[key] for key in sorted(unique)]


def _party_address(party: Mapping[str, Any], ctx: MappingContext) -> str:
    address = _address(party.get("addressused"))
    if address:
        return address
    if str(party.get("_partyid_value") or "").lower() == ctx.user_id.lower():
        return _address(ctx.mailbox_address)
    return ""


def _crm_attendees(parties: Sequence[Mapping[str, Any]], ctx: MappingContext) -> list[dict[str, str]]:
    entries = []
    for party in parties:
        kind = _MASK_TYPE.get(_int_or(party.get("participationtypemask"), 0))
        if kind is None:
            continue
        entries.append(_attendee(_party_address(party, ctx), "", kind))
    return _sorted_attendees(entries)


def _series_end(recurrence: Mapping[str, Any] | None, tz: str) -> str | None:
    """When a series is over (the delete rules' "past"): the day after its last occurrence; None if never."""
    if recurrence is None:
        return None
    if recurrence.get("end_date") is not None:
        last = date.fromisoformat(recurrence["end_date"])
    elif recurrence.get("occurrences") is not None:
        dates = rec.to_mailbox({**recurrence, "deleted": [], "modified": []}).dates()
        if not dates:
            return None
        last = dates[-1]
    else:
        return None
    return tzs.to_utc_iso(tzs.local_midnight(last + timedelta(days=1), tz))


def _appointment_crm_view(
    row: Mapping[str, Any],
    ctx: MappingContext,
    parties: Sequence[Mapping[str, Any]],
    master: Mapping[str, Any] | None,
    instances: Iterable[Mapping[str, Any]],
) -> Fields:
    series = master if master is not None else (row if row.get("recurrencepatterntype") is not None else None)
    all_day = bool(row.get("isalldayevent"))
    start_raw = (series.get("starttime") if series is not None else None) or row.get("scheduledstart")
    end_raw = (series.get("endtime") if series is not None else None) or row.get("scheduledend")
    start, end = _appointment_times(start_raw, end_raw, all_day, ctx.mailbox_tz, "UTC")
    recurrence = (
        rec.strip_same_as_series(
            rec.from_crm(series, ctx.mailbox_tz, instances=instances),
            _text(row.get("subject")),
            _text(row.get("location")),
        )
        if series is not None
        else None
    )
    attendees = _crm_attendees(parties, ctx)
    organizers = [p for p in parties if _int_or(p.get("participationtypemask"), 0) == MASK_ORGANIZER]
    out: Fields = {
        "subject": _text(row.get("subject")),
        "scheduledstart": start,
        "scheduledend": end,
        "isalldayevent": all_day,
        "location": _text(row.get("location")),
        "description": _memo(row.get("description")),
        "attendees": attendees,
        "recurrence": recurrence,
    }
    out.update(_crm_meta(Kind.APPOINTMENTS, row, ctx, "activityid"))
    if organizers:
        out["@is_organizer"] = any(
            str(p.get("_partyid_value") or "").lower() == ctx.user_id.lower()
            or ctx.is_me(p.get("addressused"))
            for p in organizers
        )
    else:
        out["@is_organizer"] = out["@owned_by_me"]
    out["@end"] = _series_end(recurrence, ctx.mailbox_tz) if recurrence is not None else end
    return out


def _appointment_mailbox_view(item: AppointmentItem, ctx: MappingContext) -> Fields:
    tz = ctx.mailbox_tz
    start, end = _appointment_times(item.start, item.end, item.is_all_day, tz, tz)
    entries = []
    if item.organizer is not None:
        entries.append(_attendee(_address(item.organizer[1]), item.organizer[0], "organizer"))
    entries += [_attendee(_address(a), n, "required") for n, a in item.required_attendees]
    entries += [_attendee(_address(a), n, "optional") for n, a in item.optional_attendees]
    recurrence = rec.strip_same_as_series(
        rec.from_mailbox(item.recurrence), _text(item.subject), _text(item.location)
    )
    out: Fields = {
        "subject": _text(item.subject),
        "scheduledstart": start,
        "scheduledend": end,
        "isalldayevent": bool(item.is_all_day),
        "location": _text(item.location),
        "description": _memo(item.body),
        "attendees": _sorted_attendees(entries),
        "recurrence": recurrence,
        "@owned_by_me": True,
        "@is_organizer": item.organizer is None or not ctx.mailbox_address or ctx.is_me(item.organizer[1]),
        "@state": "canceled" if item.is_cancelled else "open",
        "@end": _series_end(recurrence, tz) if recurrence is not None else end,
        "@modified": tzs.to_utc_iso(item.last_modified, tz),
        **_meta_links(item.props, item.categories),
    }
    return out


def _party_body(entry: Mapping[str, Any], ctx: MappingContext) -> dict[str, Any]:
    kind = str(entry.get("type") or "required")
    if kind not in _TYPE_MASK:
        raise ValueError(f"appointments: attendee type {kind!r} is not required, optional or organizer")
    address = _address(entry.get("address"))
    party: dict[str, Any] = {"participationtypemask": _TYPE_MASK[kind]}
    target: tuple[str, str] | None = None
    if ctx.is_me(address) or (kind == "organizer" and not address):
        target = ("systemuser", ctx.user_id)
    elif address and ctx.resolve_party is not None:
        target = ctx.resolve_party(address)
    if target is not None:
        logical, record_id = target
        entity_set = ENTITY_SETS.get(logical)
        if entity_set is None:
            raise ValueError(f"appointments: cannot bind a party of type {logical!r}")
        party[f"partyid_{logical}@odata.bind"] = f"{entity_set}({record_id})"
    if address:
        party["addressused"] = address
    return party


def _appointment_payload(
    changes: Fields, ctx: MappingContext, *, creating: bool, series: bool | None
) -> dict[str, Any]:
    known = {s.name for s in _APPOINTMENT_SPECS}
    for name in changes:
        if not name.startswith("@") and name not in known:
            raise ValueError(f"appointments: {name!r} is not a synchronized field")
    is_series = series if series is not None else changes.get("recurrence") is not None
    body: dict[str, Any] = {}
    for name in ("subject", "location"):
        if name in changes:
            body[name] = _text(changes[name])
    if "description" in changes:
        body["description"] = _memo(changes["description"])
    if "isalldayevent" in changes:
        body["isalldayevent"] = bool(changes["isalldayevent"])
    all_day = bool(changes.get("isalldayevent", False))
    start_raw, end_raw = changes.get("scheduledstart"), changes.get("scheduledend")
    if "scheduledstart" in changes or "scheduledend" in changes:
        if all_day and start_raw is not None:
            start, end = _appointment_times(start_raw, end_raw, True, ctx.mailbox_tz, "UTC")
        else:
            start, end = tzs.to_utc_iso(start_raw), tzs.to_utc_iso(end_raw)
        if "scheduledstart" in changes:
            body["scheduledstart"] = start
            if is_series:
                body["starttime"] = start
        if "scheduledend" in changes:
            body["scheduledend"] = end
            if is_series:
                body["endtime"] = end
        if is_series and start and end:
            first, last = tzs.parse_datetime(start), tzs.parse_datetime(end)
            assert first is not None and last is not None
            body["duration"] = int((last - first).total_seconds() // 60)
    if changes.get("recurrence") is not None:
        body.update(rec.to_crm(changes["recurrence"], ctx.mailbox_tz, creating=creating))
    nav = "recurringappointmentmaster_activity_parties" if is_series else "appointment_activity_parties"
    if "attendees" in changes or creating:
        entries = list(changes.get("attendees") or [])
        if not any(str(e.get("type")) == "organizer" for e in entries):
            entries.insert(0, {"address": ctx.mailbox_address, "name": "", "type": "organizer"})
        body[nav] = [_party_body(e, ctx) for e in entries]
    return body


def _apply_appointment(changes: Fields, item: AppointmentItem, ctx: MappingContext) -> AppointmentItem:
    tz = ctx.mailbox_tz
    for name, attr in (("subject", "subject"), ("location", "location")):
        if name in changes:
            setattr(item, attr, changes[name] or "")
    if "description" in changes:
        item.body = changes["description"] or ""
    if "isalldayevent" in changes:
        item.is_all_day = bool(changes["isalldayevent"])
    if "scheduledstart" in changes or "scheduledend" in changes or "isalldayevent" in changes:
        start = changes["scheduledstart"] if "scheduledstart" in changes else tzs.to_utc_iso(item.start, tz)
        end = changes["scheduledend"] if "scheduledend" in changes else tzs.to_utc_iso(item.end, tz)
        if item.is_all_day and start is not None:
            start, end = _appointment_times(start, end, True, tz, "UTC")
        item.start = tzs.from_utc_iso(start, tz)
        item.end = tzs.from_utc_iso(end, tz)
    if "attendees" in changes:
        required: list[tuple[str, str]] = []
        optional: list[tuple[str, str]] = []
        for entry in changes["attendees"] or []:
            pair = (str(entry.get("name") or ""), str(entry.get("address") or ""))
            kind = entry.get("type")
            if kind == "organizer":
                item.organizer = pair
            elif kind == "optional":
                optional.append(pair)
            else:
                required.append(pair)
        item.required_attendees, item.optional_attendees = required, optional
    if "recurrence" in changes:
        value = changes["recurrence"]
        item.recurrence = rec.to_mailbox(value) if value is not None else None
    return item


# --------------------------------------------------------------------------------------------------
# Tasks

_TASK_STATUS_CRM = {
    2: "notstarted",
    3: "inprogress",
    4: "waiting",
    7: "deferred",
    5: "completed",
    6: "deferred",
}
_TASK_STATUS_CODES = {"notstarted": 2, "inprogress": 3, "waiting": 4, "deferred": 7}
_TASK_STATUS_MAILBOX = {
    TaskStatus.NOT_STARTED: "notstarted",
    TaskStatus.IN_PROGRESS: "inprogress",
    TaskStatus.WAITING: "waiting",
    TaskStatus.DEFERRED: "deferred",
    TaskStatus.COMPLETED: "completed",
}
_MAILBOX_STATUS = {v: k for k, v in _TASK_STATUS_MAILBOX.items()}
_IMPORTANCE = {"low": 0, "normal": 1, "high": 2}
_PRIORITY = {v: k for k, v in _IMPORTANCE.items()}


def _task_status_crm(row: Mapping[str, Any]) -> str:
    state = _int_or(row.get("statecode"), 0)
    status = row.get("statuscode")
    if state == 1:
        return "completed"
    if state == 2:
        return "deferred"  # Outlook has no "canceled"; "@state" says canceled
    return _TASK_STATUS_CRM.get(_int_or(status, 2), "notstarted")


def _task_end(due: str | None, tz: str) -> str | None:
    if due is None:
        return None
    return tzs.to_utc_iso(tzs.local_midnight(date.fromisoformat(due) + timedelta(days=1), tz))


def _task_date(value: Any, tz: str, naive_tz: str | None = None) -> str | None:
    """Task start/due as the mailbox's calendar date (Outlook tasks carry dates, CRM date-times).

    ``naive_tz`` is the zone an offset-less date-time is in: UTC for CRM values, else the mailbox zone.
    """
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value.strip()) == 10:
        return date.fromisoformat(value.strip()).isoformat()
    instant = tzs.parse_datetime(value, naive_tz or tz)
    assert instant is not None
    return tzs.local_date(instant, tz).isoformat()


def _task_crm_view(row: Mapping[str, Any], ctx: MappingContext) -> Fields:
    tz = ctx.mailbox_tz
    due = _task_date(row.get("scheduledend"), tz, "UTC")
    out: Fields = {
        "subject": _text(row.get("subject")),
        "scheduledstart": _task_date(row.get("scheduledstart"), tz, "UTC"),
        "scheduledend": due,
        "percentcomplete": _int_or(row.get("percentcomplete"), 0),
        "status": _task_status_crm(row),
        "prioritycode": _int_or(row.get("prioritycode"), 1),
        "description": _memo(row.get("description")),
    }
    out.update(_crm_meta(Kind.TASKS, row, ctx, "activityid"))
    out["@end"] = _task_end(due, tz)
    return out


def _task_mailbox_view(item: TaskItem, ctx: MappingContext) -> Fields:
    tz = ctx.mailbox_tz
    due = _task_date(item.due, tz)
    status = _TASK_STATUS_MAILBOX.get(item.status, "notstarted")
    return {
        "subject": _text(item.subject),
        "scheduledstart": _task_date(item.start, tz),
        "scheduledend": due,
        "percentcomplete": int(item.percent_complete or 0),
        "status": status,
        "prioritycode": _IMPORTANCE.get(str(item.importance).lower(), 1),
        "description": _memo(item.body),
        "@owned_by_me": True,
        "@state": "completed" if status == "completed" else "open",
        "@end": _task_end(due, tz),
        "@modified": tzs.to_utc_iso(item.last_modified, tz),
        **_meta_links(item.props, item.categories),
    }


def _task_payload(changes: Fields, ctx: MappingContext) -> dict[str, Any]:
    known = {s.name for s in _TASK_SPECS}
    body: dict[str, Any] = {}
    for name, value in changes.items():
        if name.startswith("@"):
            continue
        if name not in known:
            raise ValueError(f"tasks: {name!r} is not a synchronized field")
        if name in ("scheduledstart", "scheduledend"):
            day = _task_date(value, ctx.mailbox_tz)
            # a date-only Outlook value becomes local midnight, as Dynamics shows all-day dates
            body[name] = (
                tzs.to_utc_iso(tzs.local_midnight(date.fromisoformat(day), ctx.mailbox_tz)) if day else None
            )
        elif name == "percentcomplete":
            body[name] = _int_or(value, 0)
        elif name == "prioritycode":
            code = _int_or(value, 1)
            if code not in _PRIORITY:
                raise ValueError(f"tasks: prioritycode {code} is not 0 (low), 1 (normal) or 2 (high)")
            body[name] = code
        elif name == "status":
            if value == "completed":
                body["statecode"], body["statuscode"] = 1, 5
            elif value in _TASK_STATUS_CODES:
                body["statecode"], body["statuscode"] = 0, _TASK_STATUS_CODES[value]
            else:
                raise ValueError(f"tasks: unknown status {value!r}")
        elif name == "description":
            body[name] = _memo(value)
        else:
            body[name] = _text(value)
    return body


def _apply_task(changes: Fields, item: TaskItem, ctx: MappingContext) -> TaskItem:
    if "subject" in changes:
        item.subject = changes["subject"] or ""
    if "description" in changes:
        item.body = changes["description"] or ""
    if "scheduledstart" in changes:
        start = _task_date(changes["scheduledstart"], ctx.mailbox_tz)
        item.start = date.fromisoformat(start) if start else None
    if "scheduledend" in changes:
        due = _task_date(changes["scheduledend"], ctx.mailbox_tz)
        item.due = date.fromisoformat(due) if due else None
    if "percentcomplete" in changes:
        item.percent_complete = _int_or(changes["percentcomplete"], 0)
    if "prioritycode" in changes:
        item.importance = _PRIORITY.get(_int_or(changes["prioritycode"], 1), "normal")
    if "status" in changes:
        status = _MAILBOX_STATUS.get(str(changes["status"]))
        if status is None:
            raise ValueError(f"tasks: unknown status {changes['status']!r}")
        item.status = status
        if status is TaskStatus.COMPLETED:
            item.completed = item.completed or ctx.now
        else:
            item.completed = None
    return item


# --------------------------------------------------------------------------------------------------
# Public conversions


def crm_view(
    kind: Kind,
    row: Mapping[str, Any],
    ctx: MappingContext,
    *,
    parties: Sequence[Mapping[str, Any]] = (),
    master: Mapping[str, Any] | None = None,
    instances: Iterable[Mapping[str, Any]] = (),
) -> Fields:
    """Canonical Fields of a Dataverse row (+ its activity parties / series master / series exceptions).

    For appointments ``row`` is an ``appointment`` or a ``recurringappointmentmaster`` row; a series'
    pattern comes from ``master`` when given, else from ``row`` itself. Parties may also be expanded
    into the row (``appointment_activity_parties``), in which case ``parties`` may be left empty.
    """
    if kind == "contacts":
        return _contact_crm_view(row, ctx)
    if kind == "appointments":
        if not parties:
            for nav in ("appointment_activity_parties", "recurringappointmentmaster_activity_parties"):
                if isinstance(row.get(nav), list):
                    parties = row[nav]
                    break
        return _appointment_crm_view(row, ctx, parties, master, instances)
    if kind == "tasks":
        return _task_crm_view(row, ctx)
    raise ValueError(f"unknown kind {kind!r}")


def mailbox_view(kind: Kind, item: MailboxItem, ctx: MappingContext) -> Fields:
    """Canonical Fields of a mailbox item."""
    if kind == "contacts" and isinstance(item, ContactItem):
        return _contact_mailbox_view(item, ctx)
    if kind == "appointments" and isinstance(item, AppointmentItem):
        return _appointment_mailbox_view(item, ctx)
    if kind == "tasks" and isinstance(item, TaskItem):
        return _task_mailbox_view(item, ctx)
    raise ValueError(f"a {type(item).__name__} is not a mailbox item of kind {kind!r}")


def crm_payload(
    kind: Kind, changes: Fields, ctx: MappingContext, *, creating: bool, series: bool | None = None
) -> dict[str, Any]:
    """The Web API body (POST when ``creating``, else PATCH) for the changed canonical fields.

    Only the fields in ``changes`` are written ("@" keys are ignored); ``company`` is never written (it is
    one-way to the mailbox). Tasks: status -> ``statecode``/``statuscode`` (completed = 1/5). Appointments:
    parties go in ``appointment_activity_parties`` (``recurringappointmentmaster_activity_parties`` for a
    series; ``series`` defaults to "recurrence is set") as ``partyid_<table>@odata.bind`` when the address
    resolves (me -> my systemuser; others through ``ctx.resolve_party``) and ``addressused`` always, with
    ``participationtypemask`` 5 required / 6 optional / 7 organizer; the organizer defaults to me. A list
    of parties replaces the old one. Nothing here sends a meeting invitation: a Web API create/update of
    an appointment is a calendar entry only (invitations are the mailbox backend's business, and it must
    not send them either). Deleted/modified occurrences of a series are not columns: the executor deletes
    or updates the instance appointments instead; and turning a series into a single appointment
    (recurrence -> None) is not an update either: delete the master, create an appointment.
    """
    if kind == "contacts":
        return _contact_payload(changes, ctx)
    if kind == "appointments":
        return _appointment_payload(changes, ctx, creating=creating, series=series)
    if kind == "tasks":
        return _task_payload(changes, ctx)
    raise ValueError(f"unknown kind {kind!r}")


def _new_item(kind: Kind) -> MailboxItem:
    if kind == "contacts":
        return ContactItem(id="")
    if kind == "appointments":
        return AppointmentItem(id="")
    if kind == "tasks":
        return TaskItem(id="")
    raise ValueError(f"unknown kind {kind!r}")


@overload
def apply_to_mailbox(kind: Kind, changes: Fields, item: ContactItem, ctx: MappingContext) -> ContactItem: ...
@overload
def apply_to_mailbox(
    kind: Kind, changes: Fields, item: AppointmentItem, ctx: MappingContext
) -> AppointmentItem: ...
@overload
def apply_to_mailbox(kind: Kind, changes: Fields, item: TaskItem, ctx: MappingContext) -> TaskItem: ...
@overload
def apply_to_mailbox(kind: Kind, changes: Fields, item: None, ctx: MappingContext) -> MailboxItem: ...


def apply_to_mailbox(
    kind: Kind, changes: Fields, item: MailboxItem | None, ctx: MappingContext
) -> MailboxItem:
    """A copy of ``item`` (or a new item with id "") with the changed canonical fields applied.

    The input item is not modified. When ``changes`` carries "@crmid", the copy is stamped as linked to
    that record (crmid, crmorgid, crmlinkstate 2) so the link survives a lost state DB.
    """
    target = copy.deepcopy(item) if item is not None else _new_item(kind)
    if kind == "contacts" and isinstance(target, ContactItem):
        result: MailboxItem = _apply_contact(changes, target, ctx)
    elif kind == "appointments" and isinstance(target, AppointmentItem):
        result = _apply_appointment(changes, target, ctx)
    elif kind == "tasks" and isinstance(target, TaskItem):
        result = _apply_task(changes, target, ctx)
    else:
        raise ValueError(f"a {type(target).__name__} is not a mailbox item of kind {kind!r}")
    crmid = changes.get("@crmid")
    if crmid:
        result.props.crmid = str(crmid)
        result.props.crmorgid = ctx.org_id
        result.props.crmlinkstate = LinkState.TRACKED
    return result
