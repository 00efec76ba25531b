"""Table metadata of the Dataverse stand-in: the entity sets, columns and lookups the product uses.

The server validates writes against it (unknown properties, max lengths, types), resolves ``@odata.bind``
navigation names to lookup columns and answers whether a table has change tracking enabled. Only the columns
the product reads or writes are listed; names, lengths and option values follow the Dataverse table reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# column kinds
STRING = "string"
MEMO = "memo"
INT = "int"
BIGINT = "bigint"
BOOL = "bool"
DATETIME = "datetime"
DECIMAL = "decimal"
FLOAT = "float"
GUID = "guid"
CHOICE = "choice"  # picklist / state / status: an int


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    max_length: int | None = None
    read_only: bool = False


@dataclass(frozen=True)
class Lookup:
    """A lookup column ``attribute``, read as ``_<attribute>_value``, bound via a navigation per target."""

    attribute: str
    targets: dict[str, str]  # target logical name -> single-valued navigation property (bind name)

    @property
    def value_name(self) -> str:
        return f"_{self.attribute}_value"


@dataclass
class EntityDef:
    entity_set: str
    logical_name: str
    primary_key: str
    primary_name: str
    columns: dict[str, Column] = field(default_factory=dict)
    lookups: dict[str, Lookup] = field(default_factory=dict)  # by attribute
    tracking: bool = True  # EntityMetadata.ChangeTrackingEnabled (the default a test can flip per store)
    party_collection: str | None = None  # e.g. "email_activity_parties"
    defaults: dict[str, object] = field(default_factory=dict)
    is_activity: bool = False

    @property
    def navigations(self) -> dict[str, tuple[Lookup, str]]:
        """Single-valued navigation name -> (lookup, target logical name)."""
        out: dict[str, tuple[Lookup, str]] = {}
        for lookup in self.lookups.values():
            for target, nav in lookup.targets.items():
                out[nav] = (lookup, target)
        return out

    def lookup_by_value_name(self, name: str) -> Lookup | None:
        if name.startswith("_") and name.endswith("_value"):
            return self.lookups.get(name[1:-6])
        return None

    def readable(self) -> list[str]:
        """Every property a row of this table answers (columns and ``_x_value`` lookups)."""
        return [*self.columns, *(lk.value_name for lk in self.lookups.values())]


def _cols(*specs: tuple[str, str] | tuple[str, str, int] | Column) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for spec in specs:
        if isinstance(spec, Column):
            out[spec.name] = spec
        elif len(spec) == 3:
            out[spec[0]] = Column(spec[0], spec[1], spec[2])
        else:
            out[spec[0]] = Column(spec[0], spec[1])
    return out


COMMON_COLUMNS = (
    Column("createdon", DATETIME, read_only=True),
    Column("modifiedon", DATETIME, read_only=True),
    Column("versionnumber", BIGINT, read_only=True),
    Column("overriddencreatedon", DATETIME),
)


def _common_lookups(owned: bool = True) -> dict[str, Lookup]:
    lookups = {
        "createdby": Lookup("createdby", {"systemuser": "createdby"}),
        "modifiedby": Lookup("modifiedby", {"systemuser": "modifiedby"}),
    }
    if owned:
        lookups["ownerid"] = Lookup("ownerid", {"systemuser": "ownerid"})
        lookups["owningbusinessunit"] = Lookup("owningbusinessunit", {"businessunit": "owningbusinessunit"})
    return lookups


def _regarding(suffix: str) -> Lookup:
    return Lookup(
        "regardingobjectid",
        {t: f"regardingobjectid_{t}_{suffix}" for t in ("account", "contact", "lead", "systemuser")},
    )


ADDRESS = tuple(
    Column(f"address{n}_{part}", STRING, length)
    for n in (1, 2)
    for part, length in (
        ("line1", 250),
        ("line2", 250),
        ("line3", 250),
        ("city", 80),
        ("stateorprovince", 50),
        ("postalcode", 20),
        ("country", 80),
        ("telephone1", 50),
    )
) + tuple(Column(f"address{n}_{part}", FLOAT) for n in (1, 2) for part in ("latitude", "longitude"))

ACTIVITY_COLUMNS = (
    Column("activityid", GUID),
    Column("subject", STRING, 400),
    Column("description", MEMO, 1_073_741_823),
    Column("scheduledstart", DATETIME),
    Column("scheduledend", DATETIME),
    Column("actualstart", DATETIME),
    Column("actualend", DATETIME),
    Column("actualdurationminutes", INT),
    Column("scheduleddurationminutes", INT),
    Column("prioritycode", CHOICE),
    Column("statecode", CHOICE),
    Column("statuscode", CHOICE),
    Column("activitytypecode", STRING, 64, read_only=True),
    Column("isregularactivity", BOOL, read_only=True),
    *COMMON_COLUMNS,  # activities have createdon/modifiedon/versionnumber like every table
)


def _entities() -> dict[str, EntityDef]:
    defs = [
        EntityDef(
            "systemusers",
            "systemuser",
            "systemuserid",
            "fullname",
            _cols(
                ("systemuserid", GUID),
                ("fullname", STRING, 200),
                ("firstname", STRING, 256),
                ("lastname", STRING, 256),
                ("domainname", STRING, 1024),
                ("internalemailaddress", STRING, 100),
                ("azureactivedirectoryobjectid", GUID),
                ("isdisabled", BOOL),
                ("accessmode", CHOICE),
                ("incomingemaildeliverymethod", CHOICE),
                ("outgoingemaildeliverymethod", CHOICE),
                ("emailrouteraccessapproval", CHOICE),
                *COMMON_COLUMNS,
            ),
            {
                **_common_lookups(owned=False),
                "businessunitid": Lookup("businessunitid", {"businessunit": "businessunitid"}),
                "defaultmailbox": Lookup("defaultmailbox", {"mailbox": "defaultmailbox"}),
            },
            defaults={"isdisabled": False, "accessmode": 0},
        ),
        EntityDef(
            "businessunits",
            "businessunit",
            "businessunitid",
            "name",
            _cols(("businessunitid", GUID), ("name", STRING, 160), *COMMON_COLUMNS),
            _common_lookups(owned=False),
        ),
        EntityDef(
            "organizations",
            "organization",
            "organizationid",
            "name",
            _cols(
                ("organizationid", GUID),
                ("name", STRING, 160),
                ("minoutlooksyncinterval", INT),
                ("minofflinesyncinterval", INT),
                ("maxuploadfilesize", INT),
                ("pastexpansionwindow", INT),
                ("futureexpansionwindow", INT),
                ("trackingprefix", STRING, 256),
                ("trackingtokenidbase", INT),
                ("trackingtokeniddigits", INT),
                ("maximumtrackingnumber", INT),
                ("expirechangetrackingindays", INT),
                ("expiresubscriptionsindays", INT),
                ("isappmode", BOOL),
                ("localeid", INT),
                ("languagecode", INT),
                ("basecurrencysymbol", STRING, 5),
                ("emailcorrelationenabled", BOOL),
                ("maxrecordsforexporttoexcel", INT),
                ("blockedattachments", MEMO, 1_073_741_823),
                *COMMON_COLUMNS,
            ),
            _common_lookups(owned=False),
        ),
        EntityDef(
            "usersettingscollection",
            "usersettings",
            "systemuserid",
            "systemuserid",
            _cols(
                ("systemuserid", GUID),
                ("incomingemailfilteringmethod", CHOICE),
                ("outlooksyncinterval", INT),
                ("offlinesyncinterval", INT),
                ("synccontactcompany", BOOL),
                ("timezonecode", INT),
                ("timezonebias", INT),
                ("localeid", INT),
                ("uilanguageid", INT),
                ("helplanguageid", INT),
                ("issendasallowed", BOOL),
                ("nexttrackingnumber", INT),
                ("trackingtokenid", INT),
                ("isduplicatedetectionenabledwhengoingonline", BOOL),
                *COMMON_COLUMNS,
            ),
            _common_lookups(owned=False),
            tracking=False,
        ),
        EntityDef(
            "mailboxes",
            "mailbox",
            "mailboxid",
            "name",
            _cols(
                ("mailboxid", GUID),
                ("name", STRING, 256),
                ("emailaddress", STRING, 100),
                ("incomingemaildeliverymethod", CHOICE),
                ("outgoingemaildeliverymethod", CHOICE),
                ("actdeliverymethod", CHOICE),
                ("isactsyncorgflagset", BOOL),
                ("orgmarkedasprimaryforexchangesync", BOOL),
                ("isforwardmailbox", BOOL),
                ("isemailaddressapprovedbyo365admin", BOOL),
                ("exchangesyncstatexml", MEMO, 1_073_741_823),
                ("incomingemailstatus", CHOICE),
                ("outgoingemailstatus", CHOICE),
                ("actstatus", CHOICE),
                ("testemailconfigurationscheduled", BOOL),
                ("mailboxstatus", CHOICE),
                ("statecode", CHOICE),
                ("statuscode", CHOICE),
                *COMMON_COLUMNS,
            ),
            {
                **_common_lookups(),
                "regardingobjectid": Lookup("regardingobjectid", {"systemuser": "regardingobjectid"}),
            },
            defaults={
                "incomingemaildeliverymethod": 2,
                "outgoingemaildeliverymethod": 2,
                "actdeliverymethod": 1,
                "isactsyncorgflagset": False,
                "orgmarkedasprimaryforexchangesync": False,
                "isforwardmailbox": False,
                "incomingemailstatus": 0,
                "outgoingemailstatus": 0,
                "actstatus": 0,
                "statecode": 0,
                "statuscode": 1,
            },
        ),
        EntityDef(
            "userqueries",
            "userquery",
            "userqueryid",
            "name",
            _cols(
                ("userqueryid", GUID),
                ("name", STRING, 200),
                ("description", MEMO, 2000),
                ("fetchxml", MEMO, 1_073_741_823),
                ("layoutxml", MEMO, 1_073_741_823),
                ("returnedtypecode", STRING, 64),
                ("querytype", INT),
                ("statecode", CHOICE),
                ("statuscode", CHOICE),
                *COMMON_COLUMNS,
            ),
            {
                **_common_lookups(),
                "parentqueryid": Lookup("parentqueryid", {"savedquery": "parentqueryid"}),
            },
            defaults={"statecode": 0, "statuscode": 1, "querytype": 0},
        ),
        EntityDef(
            "savedqueries",
            "savedquery",
            "savedqueryid",
            "name",
            _cols(
                ("savedqueryid", GUID),
                ("name", STRING, 200),
                ("description", MEMO, 2000),
                ("fetchxml", MEMO, 1_073_741_823),
                ("layoutxml", MEMO, 1_073_741_823),
                ("returnedtypecode", STRING, 64),
                ("querytype", INT),
                ("isdefault", BOOL),
                ("statecode", CHOICE),
                ("statuscode", CHOICE),
                *COMMON_COLUMNS,
            ),
            {
                "createdby": Lookup("createdby", {"systemuser": "createdby"}),
                "modifiedby": Lookup("modifiedby", {"systemuser": "modifiedby"}),
            },
            defaults={"statecode": 0, "statuscode": 1, "querytype": 0, "isdefault": False},
        ),
        EntityDef(
            "contacts",
            "contact",
            "contactid",
            "fullname",
            _cols(
                ("contactid", GUID),
                Column("fullname", STRING, 160, read_only=True),
                ("firstname", STRING, 50),
                ("middlename", STRING, 50),
                ("lastname", STRING, 50),
                ("salutation", STRING, 100),
                ("suffix", STRING, 10),
                ("nickname", STRING, 100),
                ("jobtitle", STRING, 100),
                ("department", STRING, 100),
                ("emailaddress1", STRING, 100),
                ("emailaddress2", STRING, 100),
                ("emailaddress3", STRING, 100),
                ("telephone1", STRING, 50),
                ("telephone2", STRING, 50),
                ("telephone3", STRING, 50),
                ("mobilephone", STRING, 50),
                ("fax", STRING, 50),
                ("websiteurl", STRING, 200),
                ("birthdate", STRING, 10),
                ("anniversary", STRING, 10),
                ("spousesname", STRING, 100),
                ("assistantname", STRING, 100),
                ("managername", STRING, 100),
                ("description", MEMO, 2000),
                ("gendercode", CHOICE),
                ("donotemail", BOOL),
                ("statecode", CHOICE),
                ("statuscode", CHOICE),
                *ADDRESS,
                *COMMON_COLUMNS,
            ),
            {
                **_common_lookups(),
                "parentcustomerid": Lookup(
                    "parentcustomerid",
                    {"account": "parentcustomerid_account", "contact": "parentcustomerid_contact"},
                ),
            },
            defaults={"statecode": 0, "statuscode": 1, "donotemail": False},
        ),
        EntityDef(
            "accounts",
            "account",
            "accountid",
            "name",
            _cols(
                ("accountid", GUID),
                ("name", STRING, 160),
                ("accountnumber", STRING, 20),
                ("emailaddress1", STRING, 100),
                ("telephone1", STRING, 50),
                ("telephone2", STRING, 50),
                ("fax", STRING, 50),
                ("websiteurl", STRING, 200),
                ("description", MEMO, 2000),
                ("accountcategorycode", CHOICE),
                ("creditonhold", BOOL),
                ("revenue", DECIMAL),
                ("numberofemployees", INT),
                ("statecode", CHOICE),
                ("statuscode", CHOICE),
                *ADDRESS,
                *COMMON_COLUMNS,
            ),
            {
                **_common_lookups(),
                "primarycontactid": Lookup("primarycontactid", {"contact": "primarycontactid"}),
                "parentaccountid": Lookup("parentaccountid", {"account": "parentaccountid"}),
            },
            defaults={"statecode": 0, "statuscode": 1, "creditonhold": False},
        ),
        EntityDef(
            "leads",
            "lead",
            "leadid",
            "fullname",
            _cols(
                ("leadid", GUID),
                Column("fullname", STRING, 160, read_only=True),
                ("firstname", STRING, 50),
                ("lastname", STRING, 50),
                ("subject", STRING, 300),
                ("companyname", STRING, 100),
                ("jobtitle", STRING, 100),
                ("emailaddress1", STRING, 100),
                ("telephone1", STRING, 50),
                ("mobilephone", STRING, 20),
                ("description", MEMO, 2000),
                ("statecode", CHOICE),
                ("statuscode", CHOICE),
                *ADDRESS,
                *COMMON_COLUMNS,
            ),
            {
                **_common_lookups(),
                "parentcontactid": Lookup("parentcontactid", {"contact": "parentcontactid"}),
                "parentaccountid": Lookup("parentaccountid", {"account": "parentaccountid"}),
            },
            defaults={"statecode": 0, "statuscode": 1},
        ),
        EntityDef(
            "appointments",
            "appointment",
            "activityid",
            "subject",
            _cols(
                *ACTIVITY_COLUMNS,
                ("location", STRING, 200),
                ("isalldayevent", BOOL),
                ("globalobjectid", STRING, 300),
                ("outlookownerapptid", INT),
                ("requiredattendees", STRING, 4000),
                ("optionalattendees", STRING, 4000),
                ("instancetypecode", CHOICE),
                ("originalstartdate", DATETIME),
                ("isonlinemeeting", BOOL),
                ("category", STRING, 250),
                ("subcategory", STRING, 250),
            ),
            {
                **_common_lookups(),
                "regardingobjectid": _regarding("appointment"),
                "seriesid": Lookup("seriesid", {"recurringappointmentmaster": "seriesid_appointment"}),
            },
            party_collection="appointment_activity_parties",
            defaults={
                "statecode": 3,
                "statuscode": 5,
                "prioritycode": 1,
                "isalldayevent": False,
                "instancetypecode": 0,
            },
            is_activity=True,
        ),
        EntityDef(
            "recurringappointmentmasters",
            "recurringappointmentmaster",
            "activityid",
            "subject",
            _cols(
                *ACTIVITY_COLUMNS,
                ("location", STRING, 200),
                ("isalldayevent", BOOL),
                ("globalobjectid", STRING, 300),
                ("recurrencepatterntype", CHOICE),
                ("interval", INT),
                ("daysofweekmask", INT),
                ("dayofmonth", INT),
                ("instance", CHOICE),
                ("monthofyear", CHOICE),
                ("firstdayofweek", INT),
                ("patternstartdate", DATETIME),
                ("patternenddate", DATETIME),
                ("patternendtype", CHOICE),
                ("occurrences", INT),
                ("starttime", DATETIME),
                ("endtime", DATETIME),
                ("duration", INT),
                ("effectivestartdate", DATETIME),
                ("effectiveenddate", DATETIME),
                ("isnthmonthly", BOOL),
                ("isnthyearly", BOOL),
                ("isregenerate", BOOL),
                ("isweekdaypattern", BOOL),
                Column("deletedexceptionslist", MEMO, 1_048_576, read_only=True),
            ),
            {**_common_lookups(), "regardingobjectid": _regarding("recurringappointmentmaster")},
            party_collection="recurringappointmentmaster_activity_parties",
            defaults={"statecode": 3, "statuscode": 5, "prioritycode": 1, "isalldayevent": False},
            is_activity=True,
        ),
        EntityDef(
            "tasks",
            "task",
            "activityid",
            "subject",
            _cols(
                *(c if c.name != "subject" else Column("subject", STRING, 200) for c in ACTIVITY_COLUMNS),
                ("percentcomplete", INT),
                ("category", STRING, 250),
                ("subcategory", STRING, 250),
            ),
            {**_common_lookups(), "regardingobjectid": _regarding("task")},
            party_collection="task_activity_parties",
            defaults={"statecode": 0, "statuscode": 2, "prioritycode": 1, "percentcomplete": 0},
            is_activity=True,
        ),
        EntityDef(
            "emails",
            "email",
            "activityid",
            "subject",
            _cols(
                *(c if c.name != "subject" else Column("subject", STRING, 800) for c in ACTIVITY_COLUMNS),
                ("directioncode", BOOL),
                ("messageid", STRING, 320),
                ("inreplyto", STRING, 320),
                ("conversationindex", STRING, 2048),
                ("trackingtoken", STRING, 50),
                ("sender", STRING, 250),
                ("torecipients", STRING, 500),
                ("submittedby", STRING, 250),
                ("senton", DATETIME),
                ("sortdate", DATETIME),
                ("mimetype", STRING, 256),
                ("internetmessageheaders", STRING, 500),
                ("correlationmethod", CHOICE),
                ("notifications", CHOICE),
                ("deliveryprioritycode", CHOICE),
                ("attachmentcount", INT),
                ("readreceiptrequested", BOOL),
                ("deliveryreceiptrequested", BOOL),
            ),
            {
                **_common_lookups(),
                "regardingobjectid": _regarding("email"),
                "parentactivityid": Lookup("parentactivityid", {"email": "parentactivityid"}),
            },
            party_collection="email_activity_parties",
            defaults={"statecode": 0, "statuscode": 1, "prioritycode": 1, "directioncode": True},
            is_activity=True,
        ),
        EntityDef(
            "activityparties",
            "activityparty",
            "activitypartyid",
            "partyid",
            _cols(
                ("activitypartyid", GUID),
                ("participationtypemask", CHOICE),
                ("addressused", STRING, 320),
                ("ispartydeleted", BOOL),
                *COMMON_COLUMNS,
            ),
            {
                "activityid": Lookup(
                    "activityid",
                    {
                        "email": "activityid_email",
                        "appointment": "activityid_appointment",
                        "task": "activityid_task",
                        "recurringappointmentmaster": "activityid_recurringappointmentmaster",
                    },
                ),
                "partyid": Lookup(
                    "partyid",
                    {t: f"partyid_{t}" for t in ("account", "contact", "lead", "systemuser", "queue")},
                ),
            },
            tracking=False,
        ),
        EntityDef(
            "activitymimeattachments",
            "activitymimeattachment",
            "activitymimeattachmentid",
            "filename",
            _cols(
                ("activitymimeattachmentid", GUID),
                ("body", MEMO, 1_073_741_823),
                ("filename", STRING, 255),
                ("mimetype", STRING, 256),
                ("subject", STRING, 2000),
                ("objecttypecode", STRING, 64),
                ("attachmentnumber", INT),
                ("attachmentcontentid", STRING, 200),
                Column("filesize", INT, read_only=True),
                *COMMON_COLUMNS,
            ),
            {
                **_common_lookups(),
                "objectid": Lookup(
                    "objectid",
                    {
                        "email": "objectid_email",
                        "appointment": "objectid_appointment",
                        "activitypointer": "objectid_activitypointer",
                    },
                ),
            },
            tracking=False,
        ),
    ]
    return {d.entity_set: d for d in defs}


ENTITIES: dict[str, EntityDef] = _entities()
BY_LOGICAL_NAME: dict[str, EntityDef] = {d.logical_name: d for d in ENTITIES.values()}
# activity party collection navigation -> activity entity set
PARTY_COLLECTIONS: dict[str, str] = {
    d.party_collection: d.entity_set for d in ENTITIES.values() if d.party_collection
}
# "activitypointer" is the abstract activity table; its rows live in the concrete sets
ACTIVITY_SETS = tuple(d.entity_set for d in ENTITIES.values() if d.is_activity)

STATE_STATUS_LABELS: dict[str, dict[str, dict[int, str]]] = {
    "email": {
        "statecode": {0: "Open", 1: "Completed", 2: "Canceled"},
        "statuscode": {
            1: "Draft",
            8: "Failed",
            2: "Completed",
            3: "Sent",
            4: "Received",
            6: "Pending Send",
            7: "Sending",
            5: "Canceled",
        },
    },
    "task": {
        "statecode": {0: "Open", 1: "Completed", 2: "Canceled"},
        "statuscode": {
            2: "Not Started",
            3: "In Progress",
            4: "Waiting on someone else",
            7: "Deferred",
            5: "Completed",
            6: "Canceled",
        },
    },
    "appointment": {
        "statecode": {0: "Open", 1: "Completed", 2: "Canceled", 3: "Scheduled"},
        "statuscode": {
            1: "Free",
            2: "Tentative",
            3: "Completed",
            4: "Canceled",
            5: "Busy",
            6: "Out of Office",
        },
    },
    "contact": {"statecode": {0: "Active", 1: "Inactive"}, "statuscode": {1: "Active", 2: "Inactive"}},
    "account": {"statecode": {0: "Active", 1: "Inactive"}, "statuscode": {1: "Active", 2: "Inactive"}},
    "userquery": {"statecode": {0: "Active", 1: "Inactive"}, "statuscode": {1: "Active", 2: "Inactive"}},
}
STATE_STATUS_LABELS["recurringappointmentmaster"] = STATE_STATUS_LABELS["appointment"]


def entity_by_set(entity_set: str) -> EntityDef | None:
    return ENTITIES.get(entity_set)


def _status_states(pairs: dict[int, tuple[int, ...]]) -> dict[int, int]:
    return {status: state for state, statuses in pairs.items() for status in statuses}


# statuscode -> the statecode it belongs to; the first status of each state is that state's default
STATE_STATUS_PAIRS: dict[str, dict[int, tuple[int, ...]]] = {
    "email": {0: (1, 8), 1: (2, 3, 4, 6, 7), 2: (5,)},
    "task": {0: (2, 3, 4, 7), 1: (5,), 2: (6,)},
    "appointment": {0: (1, 2), 1: (3,), 2: (4,), 3: (5, 6)},
    "recurringappointmentmaster": {0: (1, 2), 1: (3,), 2: (4,), 3: (5, 6)},
    "contact": {0: (1,), 1: (2,)},
    "account": {0: (1,), 1: (2,)},
    "lead": {0: (1, 2), 1: (3,), 2: (4, 5, 6, 7)},
    "userquery": {0: (1,), 1: (2,)},
    "savedquery": {0: (1,), 1: (2,)},
    "mailbox": {0: (1,), 1: (2,)},
}
STATUS_STATE: dict[str, dict[int, int]] = {name: _status_states(p) for name, p in STATE_STATUS_PAIRS.items()}
DEFAULT_STATUS: dict[str, dict[int, int]] = {
    name: {state: statuses[0] for state, statuses in pairs.items()}
    for name, pairs in STATE_STATUS_PAIRS.items()
}
STATE_NAMES: dict[str, dict[int, str]] = {
    "email": {0: "Open", 1: "Completed", 2: "Canceled"},
    "task": {0: "Open", 1: "Completed", 2: "Canceled"},
    "appointment": {0: "Open", 1: "Completed", 2: "Canceled", 3: "Scheduled"},
    "recurringappointmentmaster": {0: "Open", 1: "Completed", 2: "Canceled", 3: "Scheduled"},
    "lead": {0: "Open", 1: "Qualified", 2: "Disqualified"},
}
