"""The user's Outlook synchronization filters (userquery querytype 256) and offline filters (16).

Semantics (reference B.7): several active filters for one table are OR-ed (union of their rows); no active
filter for a table means nothing of that table is synchronized; a user without filters gets the defaults,
created as ordinary user filters so they can be edited or deactivated like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from wizard.crm.client import DataverseClient, guid
from wizard.crm.entities import QUERYTYPE_OFFLINE, QUERYTYPE_OUTLOOK, UserQuery

# logical name -> (entity set, primary key)
TABLES: dict[str, tuple[str, str]] = {
    "contact": ("contacts", "contactid"),
    "appointment": ("appointments", "activityid"),
    "task": ("tasks", "activityid"),
    "email": ("emails", "activityid"),
    "account": ("accounts", "accountid"),
    "lead": ("leads", "leadid"),
}


@dataclass(frozen=True)
class DefaultFilter:
    name: str
    table: str
    fetchxml: str


# "My Outlook Contacts" is the original's name (reference B.7); the other two names are our choice in the same
# style (the original's exact names were not found).
_CONTACTS = (
    '<fetch version="1.0" mapping="logical"><entity name="contact"><attribute name="contactid"/>'
    '<filter type="and"><condition attribute="ownerid" operator="eq-userid"/>'
    '<condition attribute="statecode" operator="eq" value="0"/></filter></entity></fetch>'
)
_APPOINTMENTS = (
    '<fetch version="1.0" mapping="logical" distinct="true"><entity name="appointment">'
    '<attribute name="activityid"/><filter type="and"><condition attribute="statecode" operator="in">'
    "<value>0</value><value>3</value></condition></filter>"
    '<link-entity name="activityparty" from="activityid" to="activityid" alias="party">'
    '<filter type="and"><condition attribute="partyid" operator="eq-userid"/></filter></link-entity>'
    "</entity></fetch>"
)
_TASKS = (
    '<fetch version="1.0" mapping="logical"><entity name="task"><attribute name="activityid"/>'
    '<filter type="and"><condition attribute="ownerid" operator="eq-userid"/>'
    '<condition attribute="statecode" operator="eq" value="0"/></filter></entity></fetch>'
)

DEFAULT_OUTLOOK_FILTERS: tuple[DefaultFilter, ...] = (
    DefaultFilter("My Outlook Contacts", "contact", _CONTACTS),
    DefaultFilter("My Appointments", "appointment", _APPOINTMENTS),
    DefaultFilter("My Tasks", "task", _TASKS),
)
DEFAULT_OFFLINE_FILTERS: tuple[DefaultFilter, ...] = (
    DefaultFilter("My Offline Contacts", "contact", _CONTACTS),
    DefaultFilter("My Offline Appointments", "appointment", _APPOINTMENTS),
    DefaultFilter("My Offline Tasks", "task", _TASKS),
)


#: the default filters' names in the user's Dynamics 365 language (usersettings.uilanguageid), as the original
#: names them; a language not listed keeps the English names
DEFAULT_FILTER_NAMES: dict[int, dict[str, str]] = {
    1031: {
        "My Outlook Contacts": "Meine Outlook-Kontakte",
        "My Appointments": "Meine Termine",
        "My Tasks": "Meine Aufgaben",
        "My Offline Contacts": "Meine Offlinekontakte",
        "My Offline Appointments": "Meine Offlinetermine",
        "My Offline Tasks": "Meine Offlineaufgaben",
    },
}


def default_filter_names(client: DataverseClient) -> dict[str, str]:
    """English default filter name -> the name in the user's Dynamics 365 language (empty: English)."""
    language = client.user_settings(client.whoami().user_id).uilanguageid
    return DEFAULT_FILTER_NAMES.get(language or 0, {})


def list_filters(client: DataverseClient, querytype: int = QUERYTYPE_OUTLOOK) -> list[UserQuery]:
    """The current user's filters of one type (active and inactive), by table then name."""
    user_id = client.whoami().user_id
    rows = client.query(
        UserQuery.SET,
        select=UserQuery.SELECT,
        filter=f"querytype eq {int(querytype)} and _ownerid_value eq {user_id}",
    )
    filters = [UserQuery.from_row(row) for row in rows]
    return sorted(filters, key=lambda q: (q.returnedtypecode, q.name.casefold()))


def outlook_filters(client: DataverseClient) -> list[UserQuery]:
    return list_filters(client, QUERYTYPE_OUTLOOK)


def offline_filters(client: DataverseClient) -> list[UserQuery]:
    return list_filters(client, QUERYTYPE_OFFLINE)


def set_active(client: DataverseClient, query_id: str, active: bool) -> None:
    """Activate (statecode 0 / statuscode 1) or deactivate (1 / 2) a filter."""
    changes = {"statecode": 0, "statuscode": 1} if active else {"statecode": 1, "statuscode": 2}
    client.update(UserQuery.SET, guid(query_id), changes)


def create_filter(
    client: DataverseClient, name: str, table: str, fetchxml: str, querytype: int = QUERYTYPE_OUTLOOK
) -> str:
    return client.create(
        UserQuery.SET,
        {"name": name, "returnedtypecode": table, "fetchxml": fetchxml, "querytype": int(querytype)},
    )


def ensure_default_filters(
    client: DataverseClient,
    querytype: int = QUERYTYPE_OUTLOOK,
    *,
    before_create: Callable[[], None] | None = None,
) -> list[UserQuery]:
    """Create the default filters when the user has none of this type, named in the user's Dynamics 365
    language; return the user's filters. ``before_create`` runs once before the first write (the sync
    engine's claim check: a computer that lost the claim creates nothing) and may raise to stop it."""
    existing = list_filters(client, querytype)
    if existing:
        return existing
    if before_create is not None:
        before_create()
    defaults = DEFAULT_OFFLINE_FILTERS if querytype == QUERYTYPE_OFFLINE else DEFAULT_OUTLOOK_FILTERS
    names = default_filter_names(client)
    for default in defaults:
        create_filter(
            client, names.get(default.name, default.name), default.table, default.fetchxml, querytype
        )
    return list_filters(client, querytype)


def active_filters(filters: Iterable[UserQuery], table: str) -> list[UserQuery]:
    return [f for f in filters if f.active and f.returnedtypecode == table]


def run_filters(
    client: DataverseClient, table: str, filters: Sequence[UserQuery], *, page_size: int | None = None
) -> set[str]:
    """Ids of the ``table`` rows matched by any active filter (union). No active filter -> empty set."""
    entity_set, key = TABLES.get(table, (table + "s", table + "id"))
    ids: set[str] = set()
    for query in active_filters(filters, table):
        for row in client.fetch(entity_set, query.fetchxml, page_size=page_size):
            value = row.get(key)
            if value:
                ids.add(str(value).lower())
    return ids
