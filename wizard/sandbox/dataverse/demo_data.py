"""Demo rows for a fresh environment: accounts, contacts and leads with German and English names, and open
appointments, tasks and a few received emails for each demo user. The rows refer to each other: contacts work
for accounts (``parentcustomerid``), accounts name a primary contact, a third of the leads came from a contact
and its account, and activities regard contacts, a lead or an account. Deterministic for a seed (dates are relative
to the store clock's current day), and written in one transaction so an environment starts fast.
No user queries: the product creates the default Outlook sync filters itself.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from wizard.sandbox.dataverse.store import LOOKUP_NAME, Store, iso
from wizard.sandbox.directory import Directory, DirectoryOrg


class Environment(Protocol):
    """What seeding needs of an environment (:class:`.environment.DataverseEnvironment`)."""

    store: Store
    directory: Directory
    org: DirectoryOrg


FIRST_DE = [
    "Jürgen",
    "Märta",
    "Björn",
    "Sören",
    "Käthe",
    "Günther",
    "Özlem",
    "Lukas",
    "Sophie",
    "Maximilian",
    "Hannah",
    "Jörg",
    "Ülrike",
    "Felix",
    "Lea",
    "Stefan",
    "Anja",
    "Matthias",
    "Gisela",
    "Dörte",
]
LAST_DE = [
    "Müller",
    "Schäfer",
    "Weiß",
    "Groß",
    "Köhler",
    "Bäcker",
    "Schröder",
    "Krüger",
    "Fischer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Lößner",
    "Jäger",
    "Vogel",
    "Hübner",
    "Körber",
    "Brandt",
    "Straßer",
]
FIRST_EN = [
    "Oliver",
    "Emily",
    "James",
    "Charlotte",
    "Henry",
    "Amelia",
    "George",
    "Isla",
    "Jack",
    "Grace",
    "Thomas",
    "Olivia",
    "William",
    "Sophia",
    "Daniel",
    "Chloe",
    "Samuel",
    "Ruby",
    "Joseph",
    "Ella",
]
LAST_EN = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Taylor",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
]
COMPANY_DE = [
    "Bäckerei",
    "Maschinenbau",
    "Brauerei",
    "Möbelhaus",
    "Elektrotechnik",
    "Spedition",
    "Gärtnerei",
    "Büroservice",
    "Software",
    "Feinkost",
]
COMPANY_EN = ["Consulting", "Logistics", "Holdings", "Foods", "Engineering", "Media", "Systems", "Trading"]
CITIES_DE = [
    ("München", "80331", "Bayern"),
    ("Köln", "50667", "Nordrhein-Westfalen"),
    ("Düsseldorf", "40213", "Nordrhein-Westfalen"),
    ("Nürnberg", "90402", "Bayern"),
    ("Lübeck", "23552", "Schleswig-Holstein"),
    ("Würzburg", "97070", "Bayern"),
    ("Berlin", "10117", "Berlin"),
    ("Hamburg", "20095", "Hamburg"),
]
CITIES_EN = [
    ("London", "EC1A 1BB", "England"),
    ("Manchester", "M1 1AE", "England"),
    ("Seattle", "98101", "WA"),
    ("Boston", "02108", "MA"),
    ("Dublin", "D02 XY45", "Leinster"),
]
STREETS_DE = ["Hauptstraße", "Bahnhofstraße", "Schloßallee", "Gartenweg", "Königsplatz", "Lindenstraße"]
STREETS_EN = ["High Street", "Station Road", "Main Street", "Church Lane", "Park Avenue", "Mill Road"]
SUBJECTS = [
    "Angebot besprechen",
    "Quartalsgespräch",
    "Vertragsverlängerung",
    "Produktdemo",
    "Follow-up call",
    "Quarterly review",
    "Kick-off meeting",
    "Rückruf Lieferung",
    "Send proposal",
    "Preisanfrage prüfen",
]
TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def _mail_name(text: str) -> str:
    return "".join(ch for ch in text.translate(TRANSLIT).lower() if ch.isalnum() or ch in ".-")


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _address(rng: random.Random, german: bool) -> dict[str, Any]:
    city, postal, state = rng.choice(CITIES_DE if german else CITIES_EN)
    street = rng.choice(STREETS_DE if german else STREETS_EN)
    return {
        "address1_line1": f"{street} {rng.randint(1, 120)}" if german else f"{rng.randint(1, 120)} {street}",
        "address1_city": city,
        "address1_postalcode": postal,
        "address1_stateorprovince": state,
        "address1_country": "Deutschland"
        if german
        else ("United Kingdom" if len(postal) > 5 else "United States"),
    }


def _phone(rng: random.Random, german: bool) -> str:
    if german:
        return f"+49 {rng.randint(30, 999)} {rng.randint(100000, 9999999)}"
    return f"+1 {rng.randint(200, 989)} {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"


def populate(
    environment: Environment,
    *,
    seed: int = 0,
    accounts: int = 120,
    contacts: int = 300,
    leads: int = 80,
) -> None:
    """Fill an environment's store with demo rows (call once, on an empty environment)."""
    store = environment.store
    users = [
        u.systemuserid(environment.org) for u in environment.directory.users if u.member_of(environment.org)
    ]
    if not users or store.rows("accounts"):
        return
    rng = random.Random(f"{seed}/{environment.org.unique_name}")
    today = store.clock().replace(hour=0, minute=0, second=0, microsecond=0)
    with store.transaction():
        account_ids = _accounts(store, rng, users, accounts)
        contact_rows = _people(store, rng, users, contacts, account_ids)
        _primary_contacts(store, contact_rows)
        lead_ids = _leads(store, rng, users, leads, contact_rows)
        for index, user_id in enumerate(users):
            _activities(store, rng, user_id, index, contact_rows, today, lead_ids)


def _owner(values: dict[str, Any], user_id: str) -> dict[str, Any]:
    values["_ownerid_value"] = user_id
    values["_ownerid_value" + LOOKUP_NAME] = "systemuser"
    return values


def _accounts(store: Store, rng: random.Random, users: list[str], count: int) -> list[str]:
    ids = []
    for index in range(count):
        german = index % 3 != 2
        if german:
            name = f"{rng.choice(LAST_DE)} {rng.choice(COMPANY_DE)} GmbH"
        else:
            name = f"{rng.choice(LAST_EN)} {rng.choice(COMPANY_EN)} Ltd"
        name = f"{name} {index + 1:03d}"
        domain = _mail_name(name.split()[0]) + f"{index + 1}.example"
        row = {
            "accountid": _id(rng),
            "name": name,
            "accountnumber": f"ACC-{index + 1:05d}",
            "emailaddress1": f"info@{domain}",
            "telephone1": _phone(rng, german),
            "websiteurl": f"https://www.{domain}",
            "numberofemployees": rng.randint(3, 5000),
            **_address(rng, german),
        }
        ids.append(store.create("accounts", _owner(row, users[index % len(users)]), user_id=users[0]))
    return ids


def _people(
    store: Store, rng: random.Random, users: list[str], count: int, account_ids: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for index in range(count):
        german = index % 2 == 0
        first = rng.choice(FIRST_DE if german else FIRST_EN)
        last = rng.choice(LAST_DE if german else LAST_EN)
        row: dict[str, Any] = {
            "contactid": _id(rng),
            "firstname": first,
            "lastname": last,
            "salutation": ("Herr" if index % 4 == 0 else "Frau")
            if german
            else ("Mr." if index % 4 == 1 else "Ms."),
            "jobtitle": rng.choice(
                ["Einkauf", "Geschäftsführer", "Vertrieb", "Buyer", "CEO", "Office Manager"]
            ),
            "emailaddress1": f"{_mail_name(first)}.{_mail_name(last)}{index + 1}@example.com",
            "telephone1": _phone(rng, german),
            "mobilephone": _phone(rng, german),
            **_address(rng, german),
        }
        if account_ids and index % 5 != 4:
            row["_parentcustomerid_value"] = account_ids[index % len(account_ids)]
            row["_parentcustomerid_value" + LOOKUP_NAME] = "account"
        store.create("contacts", _owner(row, users[index % len(users)]), user_id=users[0])
        rows.append(row)
    return rows


def _primary_contacts(store: Store, contacts: list[dict[str, Any]]) -> None:
    """Each account's primary contact: the first demo contact that works for it."""
    done: set[str] = set()
    for contact in contacts:
        account = contact.get("_parentcustomerid_value")
        if account and account not in done:
            done.add(account)
            store.update(
                "accounts",
                account,
                {
                    "_primarycontactid_value": contact["contactid"],
                    "_primarycontactid_value" + LOOKUP_NAME: "contact",
                },
            )


def _leads(
    store: Store, rng: random.Random, users: list[str], count: int, contacts: list[dict[str, Any]]
) -> list[str]:
    """Leads; every third one came from a demo contact (``parentcontactid``) and that contact's account."""
    ids = []
    for index in range(count):
        german = index % 2 == 1
        first = rng.choice(FIRST_DE if german else FIRST_EN)
        last = rng.choice(LAST_DE if german else LAST_EN)
        row = {
            "leadid": _id(rng),
            "firstname": first,
            "lastname": last,
            "subject": f"Interesse an {rng.choice(COMPANY_DE)}"
            if german
            else f"Interest in {rng.choice(COMPANY_EN)}",
            "companyname": f"{rng.choice(LAST_DE if german else LAST_EN)} "
            f"{rng.choice(COMPANY_DE if german else COMPANY_EN)}",
            "emailaddress1": f"{_mail_name(first)}.{_mail_name(last)}.lead{index + 1}@example.net",
            "telephone1": _phone(rng, german),
            **_address(rng, german),
        }
        if contacts and index % 3 == 0:
            contact = contacts[(index * 7) % len(contacts)]
            row["_parentcontactid_value"] = contact["contactid"]
            row["_parentcontactid_value" + LOOKUP_NAME] = "contact"
            if contact.get("_parentcustomerid_value"):
                row["_parentaccountid_value"] = contact["_parentcustomerid_value"]
                row["_parentaccountid_value" + LOOKUP_NAME] = "account"
        ids.append(store.create("leads", _owner(row, users[index % len(users)]), user_id=users[0]))
    return ids


def _party(
    store: Store,
    rng: random.Random,
    activity: str,
    logical: str,
    target: str,
    target_id: str,
    mask: int,
    address: str | None,
) -> None:
    store.create(
        "activityparties",
        {
            "activitypartyid": _id(rng),
            "_activityid_value": activity,
            "_activityid_value" + LOOKUP_NAME: logical,
            "_partyid_value": target_id,
            "_partyid_value" + LOOKUP_NAME: target,
            "participationtypemask": mask,
            "addressused": address,
            "ispartydeleted": False,
        },
    )


def _regarding(
    contact: dict[str, Any], lead_ids: list[str], index: int, *, lead: bool = False, account: bool = False
) -> dict[str, Any]:
    """The ``regardingobjectid`` of a demo activity: its contact, or a lead, or the contact's account."""
    if lead and lead_ids:
        target, target_id = "lead", lead_ids[index % len(lead_ids)]
    elif account and contact.get("_parentcustomerid_value"):
        target, target_id = "account", contact["_parentcustomerid_value"]
    else:
        target, target_id = "contact", contact["contactid"]
    return {"_regardingobjectid_value": target_id, "_regardingobjectid_value" + LOOKUP_NAME: target}


def _activities(
    store: Store,
    rng: random.Random,
    user_id: str,
    index: int,
    contacts: list[dict[str, Any]],
    today: datetime,
    lead_ids: list[str],
) -> None:
    user = store.get("systemusers", user_id) or {}
    user_mail = user.get("internalemailaddress")
    mine = contacts[index::4] or contacts
    for number in range(6):
        contact = mine[(number * 7) % len(mine)]
        start = today + timedelta(days=number + 1, hours=9 + number % 6)
        appointment = _id(rng)
        store.create(
            "appointments",
            _owner(
                {
                    "activityid": appointment,
                    "subject": f"{SUBJECTS[number % len(SUBJECTS)]} – {contact['lastname']}",
                    "location": rng.choice(
                        ["Besprechungsraum 1", "Teams", "Kundenbüro", "Conference room B"]
                    ),
                    "scheduledstart": iso(start),
                    "scheduledend": iso(start + timedelta(minutes=60)),
                    "scheduleddurationminutes": 60,
                    **_regarding(contact, lead_ids, index, lead=number == 4),
                },
                user_id,
            ),
            user_id=user_id,
        )
        _party(store, rng, appointment, "appointment", "systemuser", user_id, 7, user_mail)
        _party(
            store,
            rng,
            appointment,
            "appointment",
            "contact",
            contact["contactid"],
            5,
            contact["emailaddress1"],
        )
        task = _id(rng)
        store.create(
            "tasks",
            _owner(
                {
                    "activityid": task,
                    "subject": f"{SUBJECTS[(number + 3) % len(SUBJECTS)]}: "
                    f"{contact['firstname']} {contact['lastname']}",
                    "description": "Bitte bis Ende der Woche erledigen."
                    if number % 2
                    else "Please follow up.",
                    "scheduledend": iso(today + timedelta(days=number * 2 + 1, hours=17)),
                    "prioritycode": number % 3,
                    **_regarding(contact, lead_ids, index, account=number == 3),
                },
                user_id,
            ),
            user_id=user_id,
        )
        _party(store, rng, task, "task", "systemuser", user_id, 9, None)
    for number in range(3):
        contact = mine[(number * 5 + 1) % len(mine)]
        email = _id(rng)
        sent = today - timedelta(days=number + 1, hours=-10)
        store.create(
            "emails",
            _owner(
                {
                    "activityid": email,
                    "subject": f"Re: {SUBJECTS[(number + 5) % len(SUBJECTS)]}",
                    "description": f"<p>Hallo,</p><p>anbei die Unterlagen. Grüße, {contact['firstname']}</p>",
                    "directioncode": False,
                    "statecode": 1,
                    "statuscode": 4,
                    "messageid": f"<{_id(rng)}@example.com>",
                    "sender": contact["emailaddress1"],
                    "torecipients": user_mail,
                    "senton": iso(sent),
                    "actualend": iso(sent),
                    "_regardingobjectid_value": contact["contactid"],
                    "_regardingobjectid_value" + LOOKUP_NAME: "contact",
                },
                user_id,
            ),
            user_id=user_id,
        )
        _party(store, rng, email, "email", "contact", contact["contactid"], 1, contact["emailaddress1"])
        _party(store, rng, email, "email", "systemuser", user_id, 2, user_mail)
