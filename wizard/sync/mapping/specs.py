"""What is synchronized: the Synchronization Fields table, its directions, and the context of a conversion.

This is the original product's "Synchronization Fields" table (reference B.8) as code. Every synced field
has a :class:`FieldSpec` with a default direction (``syncattributemapping.syncdirection``: 0 none,
1 to the mailbox, 2 to Dynamics 365, 3 both), the directions a user may choose, and whether the
administrator locked it. Defaults follow Microsoft's "What fields can be synchronized with Outlook?"
table (see docs/field-mappings.md for the table and the sources).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from wizard.settings.enums import Kind
from wizard.sync import timezones as tzs
from wizard.sync.model import Direction

ALL_DIRECTIONS: frozenset[Direction] = frozenset(Direction)


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


ADDRESS_PARTS = (
    ("line1", "street (line 1)", "Street 1"),
    ("line2", "street (line 2)", "Street 2"),
    ("line3", "street (line 3+)", "Street 3"),
    ("city", "city", "City"),
    ("stateorprovince", "state", "State/Province"),
    ("postalcode", "postal_code", "ZIP/Postal Code"),
    ("country", "country", "Country/Region"),
)
ADDRESS_SLOTS = {"address1": "business_address", "address2": "home_address"}
_ADDRESS_LABELS = {"address1": "Mailing Address/Business Address", "address2": "Home Address"}


def _address_specs(prefix: str) -> list[FieldSpec]:
    slot = ADDRESS_SLOTS[prefix]
    return [
        _spec(
            f"{prefix}_{part}",
            f"{prefix}_{part}",
            f"{slot}.{attr}",
            f"{_ADDRESS_LABELS[prefix]}: {label}",
            group=prefix,
        )
        for part, attr, label in ADDRESS_PARTS
    ]


_NAME = "part of Full Name"  # aggregate, locked two-way by the administrator

CONTACT_SPECS: list[FieldSpec] = [
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
CONTACT_EXTRA_ADDRESSES: list[FieldSpec] = _address_specs("address2")

_TIME = "part of Appointment Time"  # aggregate, locked two-way by the administrator
APPOINTMENT_SPECS: list[FieldSpec] = [
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

TASK_SPECS: list[FieldSpec] = [
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


#: the fields of each record kind (contacts: with the mailing address only; see :func:`field_specs`)
_KIND_SPECS: dict[Kind, tuple[FieldSpec, ...]] = {
    Kind.CONTACTS: tuple(CONTACT_SPECS),
    Kind.APPOINTMENTS: tuple(APPOINTMENT_SPECS),
    Kind.TASKS: tuple(TASK_SPECS),
}


def field_specs(kind: Kind, *, all_addresses: bool = False) -> list[FieldSpec]:
    """The synced fields of ``kind``; contacts get Address 2 (Home) too when ``all_addresses``."""
    if kind not in _KIND_SPECS:
        raise ValueError(f"unknown kind {kind!r} (expected contacts, appointments or tasks)")
    specs = list(_KIND_SPECS[kind])
    if kind == Kind.CONTACTS and all_addresses:
        at = next(i for i, s in enumerate(specs) if s.name == "websiteurl")
        specs[at:at] = CONTACT_EXTRA_ADDRESSES
    return specs


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
