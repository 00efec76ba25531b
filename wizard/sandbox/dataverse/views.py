"""System views every environment has: the offline filter templates (``savedquery`` rows with querytype 8192,
"OfflineTemplate") that a user's offline filters (``userquery`` rows with querytype 16, "OfflineFilters") are made
from, as the Dynamics 365 for Outlook client did (SavedQueryQueryType; /work/shared/reference
dynamics-outlook-features.md B.7: "copy the appointments, contacts, and tasks records you own").

The template names are a **guess** (the reference found no exact names); their FetchXML is the documented SDK
sample filter (owner is the current user, active rows)."""

from __future__ import annotations

import uuid
from typing import Any

OUTLOOK_FILTERS = 256
OFFLINE_FILTERS = 16
OFFLINE_TEMPLATE = 8192
OUTLOOK_TEMPLATE = 131072

#: table, primary key, template name, active state values (activities: open and scheduled)
_TEMPLATES = (
    ("contact", "contactid", "My Contacts", (0,)),
    ("account", "accountid", "My Accounts", (0,)),
    ("lead", "leadid", "My Leads", (0,)),
    ("appointment", "activityid", "My Appointments", (0, 3)),
    ("task", "activityid", "My Tasks", (0,)),
)


def _fetch(table: str, key: str, states: tuple[int, ...]) -> str:
    if len(states) == 1:
        state = f'<condition attribute="statecode" operator="eq" value="{states[0]}" />'
    else:
        values = "".join(f"<value>{s}</value>" for s in states)
        state = f'<condition attribute="statecode" operator="in">{values}</condition>'
    return (
        f'<fetch version="1.0" mapping="logical"><entity name="{table}"><attribute name="{key}" />'
        f'<filter type="and"><condition attribute="ownerid" operator="eq-userid" />{state}</filter>'
        "</entity></fetch>"
    )


def offline_templates(org_id: str) -> list[dict[str, Any]]:
    """The offline filter templates of one organization (stable ids per organization)."""
    out = []
    for table, key, name, states in _TEMPLATES:
        out.append(
            {
                "savedqueryid": str(uuid.uuid5(uuid.UUID(org_id), f"offline-template/{table}")),
                "name": name,
                "returnedtypecode": table,
                "querytype": OFFLINE_TEMPLATE,
                "isdefault": True,
                "fetchxml": _fetch(table, key, states),
                "layoutxml": f'<grid name="resultset" object="0" jump="" select="1" icon="1" preview="0">'
                f'<row name="result" id="{key}" /></grid>',
            }
        )
    return out
