"""The tables that go offline and the columns the offline store keeps of each.

Accounts, contacts, leads, appointments and tasks (issue 14), each with its entity set, primary key, primary
name, the columns searched locally (name, email, phone), the columns kept, and the lookups with the
navigation property a write binds per target table (``parentcustomerid_account@odata.bind``). The order is
the download order: the tables the filters select first, then the accounts and leads they refer to.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOKUP_TABLE = "@Microsoft.Dynamics.CRM.lookuplogicalname"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
#: the Prefer value that asks for lookup names and lookup tables with the rows
ANNOTATIONS = (
    'odata.include-annotations="OData.Community.Display.V1.FormattedValue,'
    'Microsoft.Dynamics.CRM.lookuplogicalname"'
)


@dataclass(frozen=True)
class Lookup:
    """A lookup column (``parentcustomerid``), read as ``_parentcustomerid_value``; ``targets`` maps each
    table it may point to onto the navigation property used to bind it on a write."""

    attribute: str
    targets: dict[str, str]

    @property
    def value_name(self) -> str:
        return f"_{self.attribute}_value"


@dataclass(frozen=True)
class OfflineTable:
    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    search_columns: tuple[str, ...]
    columns: tuple[str, ...]  # writable or shown columns (not the lookups, not the primary key)
    lookups: tuple[Lookup, ...] = ()
    read_only: tuple[str, ...] = ("modifiedon",)

    @property
    def select(self) -> tuple[str, ...]:
        """The ``$select`` of a download: key, columns, lookups, read-only columns."""
        names = [self.primary_id, *self.columns, *(lk.value_name for lk in self.lookups), *self.read_only]
        return tuple(dict.fromkeys(names))

    @property
    def fields(self) -> tuple[str, ...]:
        """What a local row holds and a merge compares: columns and lookup values."""
        return (*self.columns, *(lk.value_name for lk in self.lookups))

    def lookup(self, name: str) -> Lookup | None:
        """The lookup ``name`` (``parentcustomerid`` or ``_parentcustomerid_value``)."""
        for lookup in self.lookups:
            if name in (lookup.attribute, lookup.value_name):
                return lookup
        return None


def _regarding(suffix: str) -> Lookup:
    return Lookup(
        "regardingobjectid", {t: f"regardingobjectid_{t}_{suffix}" for t in ("account", "contact", "lead")}
    )


_OWNER = Lookup("ownerid", {"systemuser": "ownerid"})

CONTACT = OfflineTable(
    "contact",
    "contacts",
    "contactid",
    "fullname",
    ("fullname", "emailaddress1", "telephone1", "mobilephone"),
    (
        "fullname",
        "firstname",
        "lastname",
        "jobtitle",
        "emailaddress1",
        "telephone1",
        "mobilephone",
        "address1_city",
        "description",
        "statecode",
    ),
    (
        Lookup(
            "parentcustomerid", {"account": "parentcustomerid_account", "contact": "parentcustomerid_contact"}
        ),
        _OWNER,
    ),
    read_only=("modifiedon", "fullname"),
)
APPOINTMENT = OfflineTable(
    "appointment",
    "appointments",
    "activityid",
    "subject",
    ("subject", "location"),
    ("subject", "location", "scheduledstart", "scheduledend", "description", "statecode"),
    (_regarding("appointment"), _OWNER),
)
TASK = OfflineTable(
    "task",
    "tasks",
    "activityid",
    "subject",
    ("subject",),
    ("subject", "scheduledend", "prioritycode", "percentcomplete", "description", "statecode"),
    (_regarding("task"), _OWNER),
)
ACCOUNT = OfflineTable(
    "account",
    "accounts",
    "accountid",
    "name",
    ("name", "emailaddress1", "telephone1"),
    (
        "name",
        "accountnumber",
        "emailaddress1",
        "telephone1",
        "websiteurl",
        "address1_city",
        "description",
        "statecode",
    ),
    (
        Lookup("primarycontactid", {"contact": "primarycontactid"}),
        Lookup("parentaccountid", {"account": "parentaccountid"}),
        _OWNER,
    ),
)
LEAD = OfflineTable(
    "lead",
    "leads",
    "leadid",
    "fullname",
    ("fullname", "companyname", "emailaddress1", "telephone1", "mobilephone"),
    (
        "fullname",
        "firstname",
        "lastname",
        "subject",
        "companyname",
        "emailaddress1",
        "telephone1",
        "mobilephone",
        "description",
        "statecode",
    ),
    (
        Lookup("parentaccountid", {"account": "parentaccountid"}),
        Lookup("parentcontactid", {"contact": "parentcontactid"}),
        _OWNER,
    ),
    read_only=("modifiedon", "fullname"),
)

#: download order: activities, then contacts (the activities refer to some), then accounts and leads; a table's
#: rows referred to by the tables before it go offline with it
TABLES: tuple[OfflineTable, ...] = (APPOINTMENT, TASK, CONTACT, ACCOUNT, LEAD)
BY_NAME: dict[str, OfflineTable] = {t.logical_name: t for t in TABLES}
#: also accepted on the command line: the entity set names ("contacts")
ALIASES: dict[str, str] = {t.entity_set: t.logical_name for t in TABLES}


def table(name: str) -> OfflineTable:
    """The offline table called ``name`` (logical name or entity set); KeyError for any other."""
    key = name.strip().lower()
    found = BY_NAME.get(ALIASES.get(key, key))
    if found is None:
        raise KeyError(name)
    return found
