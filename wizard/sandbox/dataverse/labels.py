"""Display names of the Dataverse stand-in's tables, columns and choices in English (1033) and German (1031).

The wording is what Dynamics 365 shows in its English and German user interfaces for the standard tables. Only
names and labels live here; types, lengths and option values come from :mod:`.schema`, so nothing is listed
twice. A column without an entry here is labelled with its logical name in both languages (a **guess**: the
service always has a real label, the stand-in knows only the columns below).
"""

from __future__ import annotations

ENGLISH = 1033
GERMAN = 1031
LANGUAGES = (ENGLISH, GERMAN)

#: logical name -> (SchemaName, English singular, English plural, German singular, German plural, ObjectTypeCode)
TABLES: dict[str, tuple[str, str, str, str, str, int]] = {
    "account": ("Account", "Account", "Accounts", "Firma", "Firmen", 1),
    "contact": ("Contact", "Contact", "Contacts", "Kontakt", "Kontakte", 2),
    "lead": ("Lead", "Lead", "Leads", "Lead", "Leads", 4),
    "systemuser": ("SystemUser", "User", "Users", "Benutzer", "Benutzer", 8),
    "businessunit": (
        "BusinessUnit",
        "Business Unit",
        "Business Units",
        "Unternehmenseinheit",
        "Unternehmenseinheiten",
        10,
    ),
    "activityparty": (
        "ActivityParty",
        "Activity Party",
        "Activity Parties",
        "Aktivitätspartei",
        "Aktivitätsparteien",
        135,
    ),
    "usersettings": (
        "UserSettings",
        "User Settings",
        "User Settings",
        "Benutzereinstellungen",
        "Benutzereinstellungen",
        150,
    ),
    "activitymimeattachment": (
        "ActivityMimeAttachment",
        "Attachment",
        "Attachments",
        "Anlage",
        "Anlagen",
        1001,
    ),
    "organization": ("Organization", "Organization", "Organizations", "Organisation", "Organisationen", 1019),
    "savedquery": ("SavedQuery", "View", "Views", "Ansicht", "Ansichten", 1039),
    "appointment": ("Appointment", "Appointment", "Appointments", "Termin", "Termine", 4201),
    "email": ("Email", "Email", "Email Messages", "E-Mail", "E-Mail-Nachrichten", 4202),
    "task": ("Task", "Task", "Tasks", "Aufgabe", "Aufgaben", 4212),
    "userquery": (
        "UserQuery",
        "Saved View",
        "Saved Views",
        "Gespeicherte Ansicht",
        "Gespeicherte Ansichten",
        4230,
    ),
    "recurringappointmentmaster": (
        "RecurringAppointmentMaster",
        "Recurring Appointment",
        "Recurring Appointments",
        "Serientermin",
        "Serientermine",
        4251,
    ),
    "mailbox": ("Mailbox", "Mailbox", "Mailboxes", "Postfach", "Postfächer", 9606),
}

#: column logical name -> (SchemaName, English, German), for every table that has the column
COLUMNS: dict[str, tuple[str, str, str]] = {
    "firstname": ("FirstName", "First Name", "Vorname"),
    "middlename": ("MiddleName", "Middle Name", "Zweiter Vorname"),
    "lastname": ("LastName", "Last Name", "Nachname"),
    "fullname": ("FullName", "Full Name", "Vollständiger Name"),
    "salutation": ("Salutation", "Salutation", "Anrede"),
    "suffix": ("Suffix", "Suffix", "Suffix"),
    "nickname": ("NickName", "Nickname", "Spitzname"),
    "jobtitle": ("JobTitle", "Job Title", "Position"),
    "department": ("Department", "Department", "Abteilung"),
    "emailaddress1": ("EMailAddress1", "Email", "E-Mail"),
    "emailaddress2": ("EMailAddress2", "Email Address 2", "E-Mail-Adresse 2"),
    "emailaddress3": ("EMailAddress3", "Email Address 3", "E-Mail-Adresse 3"),
    "telephone1": ("Telephone1", "Business Phone", "Telefon geschäftlich"),
    "telephone2": ("Telephone2", "Home Phone", "Telefon privat"),
    "telephone3": ("Telephone3", "Telephone 3", "Telefon 3"),
    "mobilephone": ("MobilePhone", "Mobile Phone", "Mobiltelefon"),
    "fax": ("Fax", "Fax", "Fax"),
    "websiteurl": ("WebSiteUrl", "Website", "Website"),
    "birthdate": ("BirthDate", "Birthday", "Geburtstag"),
    "anniversary": ("Anniversary", "Anniversary", "Jahrestag"),
    "spousesname": ("SpousesName", "Spouse/Partner Name", "Name des Ehepartners/Partners"),
    "assistantname": ("AssistantName", "Assistant", "Assistent"),
    "managername": ("ManagerName", "Manager", "Vorgesetzter"),
    "description": ("Description", "Description", "Beschreibung"),
    "gendercode": ("GenderCode", "Gender", "Geschlecht"),
    "donotemail": ("DoNotEMail", "Do not allow Emails", "E-Mails nicht zulassen"),
    "statecode": ("StateCode", "Status", "Status"),
    "statuscode": ("StatusCode", "Status Reason", "Statusgrund"),
    "parentcustomerid": ("ParentCustomerId", "Company Name", "Firmenname"),
    "ownerid": ("OwnerId", "Owner", "Besitzer"),
    "owningbusinessunit": ("OwningBusinessUnit", "Owning Business Unit", "Besitzende Unternehmenseinheit"),
    "createdon": ("CreatedOn", "Created On", "Erstellt am"),
    "modifiedon": ("ModifiedOn", "Modified On", "Geändert am"),
    "createdby": ("CreatedBy", "Created By", "Erstellt von"),
    "modifiedby": ("ModifiedBy", "Modified By", "Geändert von"),
    "versionnumber": ("VersionNumber", "Version Number", "Versionsnummer"),
    "overriddencreatedon": ("OverriddenCreatedOn", "Record Created On", "Datensatz erstellt am"),
    "name": ("Name", "Name", "Name"),
    "accountnumber": ("AccountNumber", "Account Number", "Kontonummer"),
    "accountcategorycode": ("AccountCategoryCode", "Category", "Kategorie"),
    "creditonhold": ("CreditOnHold", "Credit Hold", "Kreditstopp"),
    "revenue": ("Revenue", "Annual Revenue", "Jahresumsatz"),
    "numberofemployees": ("NumberOfEmployees", "Number of Employees", "Anzahl Mitarbeiter"),
    "primarycontactid": ("PrimaryContactId", "Primary Contact", "Primärer Kontakt"),
    "companyname": ("CompanyName", "Company Name", "Firmenname"),
    "subject": ("Subject", "Subject", "Betreff"),
    "scheduledstart": ("ScheduledStart", "Start Time", "Beginn"),
    "scheduledend": ("ScheduledEnd", "End Time", "Ende"),
    "actualstart": ("ActualStart", "Actual Start", "Tatsächlicher Beginn"),
    "actualend": ("ActualEnd", "Actual End", "Tatsächliches Ende"),
    "actualdurationminutes": ("ActualDurationMinutes", "Actual Duration", "Tatsächliche Dauer"),
    "scheduleddurationminutes": ("ScheduledDurationMinutes", "Duration", "Dauer"),
    "prioritycode": ("PriorityCode", "Priority", "Priorität"),
    "regardingobjectid": ("RegardingObjectId", "Regarding", "Bezug"),
    "activityid": ("ActivityId", "Activity", "Aktivität"),
    "activitytypecode": ("ActivityTypeCode", "Activity Type", "Aktivitätstyp"),
    "location": ("Location", "Location", "Ort"),
    "isalldayevent": ("IsAllDayEvent", "All Day Event", "Ganztägiges Ereignis"),
    "requiredattendees": ("RequiredAttendees", "Required Attendees", "Erforderliche Teilnehmer"),
    "optionalattendees": ("OptionalAttendees", "Optional Attendees", "Optionale Teilnehmer"),
    "instancetypecode": ("InstanceTypeCode", "Appointment Type", "Termintyp"),
    "category": ("Category", "Category", "Kategorie"),
    "subcategory": ("Subcategory", "Sub-Category", "Unterkategorie"),
    "percentcomplete": ("PercentComplete", "Percent Complete", "Prozent abgeschlossen"),
    "sender": ("Sender", "From", "Von"),
    "torecipients": ("ToRecipients", "To Recipients", "An-Empfänger"),
    "directioncode": ("DirectionCode", "Direction", "Richtung"),
    "senton": ("SentOn", "Date Sent", "Sendedatum"),
    "messageid": ("MessageId", "Message ID", "Nachrichten-ID"),
    "participationtypemask": ("ParticipationTypeMask", "Participation Type", "Teilnahmetyp"),
    "partyid": ("PartyId", "Party", "Partei"),
    "addressused": ("AddressUsed", "Address", "Adresse"),
    "filename": ("FileName", "File Name", "Dateiname"),
    "querytype": ("QueryType", "Query Type", "Abfragetyp"),
    "fetchxml": ("FetchXml", "Query", "Abfrage"),
    "layoutxml": ("LayoutXml", "Grid Layout", "Rasterlayout"),
    "returnedtypecode": ("ReturnedTypeCode", "Returned Type", "Zurückgegebener Typ"),
    "isdefault": ("IsDefault", "Default View", "Standardansicht"),
    "minoutlooksyncinterval": (
        "MinOutlookSyncInterval",
        "Min Outlook Sync Interval",
        "Minimales Outlook-Synchronisierungsintervall",
    ),
    "minofflinesyncinterval": (
        "MinOfflineSyncInterval",
        "Min Offline Sync Interval",
        "Minimales Offline-Synchronisierungsintervall",
    ),
    "outlooksyncinterval": (
        "OutlookSyncInterval",
        "Outlook Sync Interval",
        "Outlook-Synchronisierungsintervall",
    ),
    "offlinesyncinterval": (
        "OfflineSyncInterval",
        "Offline Sync Interval",
        "Offline-Synchronisierungsintervall",
    ),
    "uilanguageid": ("UILanguageId", "UI Language", "Sprache der Benutzeroberfläche"),
    "localeid": ("LocaleId", "Locale", "Gebietsschema"),
    "timezonecode": ("TimeZoneCode", "Time Zone", "Zeitzone"),
    "internalemailaddress": ("InternalEMailAddress", "Primary Email", "Primäre E-Mail"),
    "domainname": ("DomainName", "User Name", "Benutzername"),
    "isdisabled": ("IsDisabled", "Status", "Status"),
    "emailaddress": ("EmailAddress", "Email Address", "E-Mail-Adresse"),
}

_ADDRESS_PARTS: dict[str, tuple[str, str, str]] = {
    "line1": ("Line1", "Street 1", "Straße 1"),
    "line2": ("Line2", "Street 2", "Straße 2"),
    "line3": ("Line3", "Street 3", "Straße 3"),
    "city": ("City", "City", "Ort"),
    "stateorprovince": ("StateOrProvince", "State/Province", "Bundesland/Kanton"),
    "postalcode": ("PostalCode", "ZIP/Postal Code", "Postleitzahl"),
    "country": ("Country", "Country/Region", "Land/Region"),
    "telephone1": ("Telephone1", "Phone", "Telefon"),
    "latitude": ("Latitude", "Latitude", "Breitengrad"),
    "longitude": ("Longitude", "Longitude", "Längengrad"),
}
for _n in (1, 2):
    for _part, (_schema, _en, _de) in _ADDRESS_PARTS.items():
        COLUMNS[f"address{_n}_{_part}"] = (
            f"Address{_n}_{_schema}",
            f"Address {_n}: {_en}",
            f"Adresse {_n}: {_de}",
        )

#: (table, column) -> (English, German) where a table names a shared column differently
OVERRIDES: dict[tuple[str, str], tuple[str, str]] = {
    ("account", "name"): ("Account Name", "Firmenname"),
    ("account", "telephone1"): ("Main Phone", "Haupttelefon"),
    ("account", "telephone2"): ("Other Phone", "Anderes Telefon"),
    ("account", "parentaccountid"): ("Parent Account", "Übergeordnete Firma"),
    ("lead", "subject"): ("Topic", "Thema"),
    ("lead", "parentaccountid"): ("Parent Account for lead", "Übergeordnete Firma für Lead"),
    ("lead", "parentcontactid"): ("Parent Contact for lead", "Übergeordneter Kontakt für Lead"),
    ("task", "scheduledstart"): ("Start Date", "Startdatum"),
    ("task", "scheduledend"): ("Due Date", "Fälligkeitsdatum"),
    ("email", "scheduledend"): ("Due Date", "Fälligkeitsdatum"),
    ("email", "scheduledstart"): ("Start Date", "Startdatum"),
    ("savedquery", "name"): ("Name", "Name"),
    ("userquery", "name"): ("Name", "Name"),
}

_ACTIVE = {0: ("Active", "Aktiv"), 1: ("Inactive", "Inaktiv")}
_ACTIVE_STATUS = {1: ("Active", "Aktiv"), 2: ("Inactive", "Inaktiv")}
_ACTIVITY_STATE = {0: ("Open", "Offen"), 1: ("Completed", "Abgeschlossen"), 2: ("Canceled", "Storniert")}
_APPOINTMENT_STATE = {**_ACTIVITY_STATE, 3: ("Scheduled", "Geplant")}
_APPOINTMENT_STATUS = {
    1: ("Free", "Frei"),
    2: ("Tentative", "Mit Vorbehalt"),
    3: ("Completed", "Abgeschlossen"),
    4: ("Canceled", "Storniert"),
    5: ("Busy", "Gebucht"),
    6: ("Out of Office", "Abwesend"),
}
_PRIORITY = {0: ("Low", "Niedrig"), 1: ("Normal", "Normal"), 2: ("High", "Hoch")}

#: (table or "*", column) -> option value -> (English, German); "*" applies to every table with the column
OPTIONS: dict[tuple[str, str], dict[int, tuple[str, str]]] = {
    ("contact", "statecode"): _ACTIVE,
    ("contact", "statuscode"): _ACTIVE_STATUS,
    ("account", "statecode"): _ACTIVE,
    ("account", "statuscode"): _ACTIVE_STATUS,
    ("userquery", "statecode"): _ACTIVE,
    ("userquery", "statuscode"): _ACTIVE_STATUS,
    ("savedquery", "statecode"): _ACTIVE,
    ("savedquery", "statuscode"): _ACTIVE_STATUS,
    ("mailbox", "statecode"): _ACTIVE,
    ("mailbox", "statuscode"): _ACTIVE_STATUS,
    ("lead", "statecode"): {
        0: ("Open", "Offen"),
        1: ("Qualified", "Qualifiziert"),
        2: ("Disqualified", "Disqualifiziert"),
    },
    ("lead", "statuscode"): {
        1: ("New", "Neu"),
        2: ("Contacted", "Kontaktiert"),
        3: ("Qualified", "Qualifiziert"),
        4: ("Lost", "Verloren"),
        5: ("Cannot Contact", "Kontakt nicht möglich"),
        6: ("No Longer Interested", "Nicht mehr interessiert"),
        7: ("Canceled", "Storniert"),
    },
    ("task", "statecode"): _ACTIVITY_STATE,
    ("task", "statuscode"): {
        2: ("Not Started", "Nicht begonnen"),
        3: ("In Progress", "In Bearbeitung"),
        4: ("Waiting on someone else", "Warten auf andere Person"),
        7: ("Deferred", "Zurückgestellt"),
        5: ("Completed", "Abgeschlossen"),
        6: ("Canceled", "Storniert"),
    },
    ("email", "statecode"): _ACTIVITY_STATE,
    ("email", "statuscode"): {
        1: ("Draft", "Entwurf"),
        8: ("Failed", "Fehlgeschlagen"),
        2: ("Completed", "Abgeschlossen"),
        3: ("Sent", "Gesendet"),
        4: ("Received", "Empfangen"),
        6: ("Pending Send", "Senden ausstehend"),
        7: ("Sending", "Wird gesendet"),
        5: ("Canceled", "Storniert"),
    },
    ("appointment", "statecode"): _APPOINTMENT_STATE,
    ("appointment", "statuscode"): _APPOINTMENT_STATUS,
    ("recurringappointmentmaster", "statecode"): _APPOINTMENT_STATE,
    ("recurringappointmentmaster", "statuscode"): _APPOINTMENT_STATUS,
    ("*", "prioritycode"): _PRIORITY,
    ("contact", "gendercode"): {1: ("Male", "Männlich"), 2: ("Female", "Weiblich")},
    ("account", "accountcategorycode"): {
        1: ("Preferred Customer", "Bevorzugter Kunde"),
        2: ("Standard", "Standard"),
    },
    ("appointment", "instancetypecode"): {
        0: ("Not Recurring", "Nicht wiederholt"),
        1: ("Recurring Master", "Wiederholungsmaster"),
        2: ("Recurring Instance", "Wiederholte Instanz"),
        3: ("Recurring Exception", "Wiederholungsausnahme"),
        4: ("Recurring Future Exception", "Zukünftige Wiederholungsausnahme"),
    },
}


def table_names(logical_name: str) -> tuple[str, str, str, str, str, int]:
    """(SchemaName, English, English plural, German, German plural, ObjectTypeCode) of a table."""
    return TABLES[logical_name]


def column_names(table: str, column: str) -> tuple[str, str, str]:
    """(SchemaName, English, German) of a column of ``table``; its logical name where none is known."""
    schema, english, german = COLUMNS.get(column, (column[:1].upper() + column[1:], column, column))
    english, german = OVERRIDES.get((table, column), (english, german))
    return schema, english, german


def option_labels(table: str, column: str) -> dict[int, tuple[str, str]]:
    """The known options of a choice column (value -> (English, German)); empty when none are known."""
    return OPTIONS.get((table, column)) or OPTIONS.get(("*", column)) or {}
