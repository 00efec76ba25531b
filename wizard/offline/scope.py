"""What goes offline: the user's offline filters (userquery querytype 16) and the rows they select.

The filters work as the Outlook filters (256) do (``wizard.crm.filters``): several active filters of one table
are OR-ed, no active filter selects nothing of that table. A user without offline filters gets them created
from the organization's offline templates (savedquery querytype 8192, "Is Default") or, when there are none,
the original's defaults (the contacts, appointments and tasks the user owns). Whatever the filters select,
the accounts, contacts and leads those rows refer to (parent account, regarding) go offline too, so that
their names can be shown and the lookups offer them.

The store remembers the filters it was filled with (:func:`remember_filters`: name, table, on/off), so that
the status window can show them while the user is offline (:func:`remembered_filters`, no network).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from wizard.crm.client import DataverseClient
from wizard.crm.entities import QUERYTYPE_OFFLINE, UserQuery
from wizard.crm.filters import (
    DEFAULT_OFFLINE_FILTERS,
    DefaultFilter,
    create_filter,
    list_filters,
    run_filters,
)
from wizard.odata.errors import NotFoundError
from wizard.offline.store import OfflineStore

log = logging.getLogger(__name__)

QUERYTYPE_OFFLINE_TEMPLATE = 8192
TEMPLATE_SET = "savedqueries"
PAGE_SIZE = 5000  # the largest FetchXML page
FILTERS_KEY = "filters"  # store meta: the offline filters the store was filled with


def offline_templates(client: DataverseClient) -> list[DefaultFilter]:
    """The organization's default offline templates (none when the service has no such rows)."""
    try:
        rows = client.query(
            TEMPLATE_SET,
            select=("name", "returnedtypecode", "fetchxml", "querytype", "isdefault"),
            filter=f"querytype eq {QUERYTYPE_OFFLINE_TEMPLATE}",
        )
        templates = [
            DefaultFilter(
                str(row.get("name") or ""), str(row.get("returnedtypecode") or ""), str(row["fetchxml"])
            )
            for row in rows
            if row.get("fetchxml") and row.get("returnedtypecode") and row.get("isdefault") is not False
        ]
    except NotFoundError:
        log.info("no savedqueries in this service: the original's default offline filters are used")
        return []
    return templates


def ensure_offline_filters(client: DataverseClient) -> list[UserQuery]:
    """The user's offline filters, created first from the templates (or the defaults) when there are none."""
    existing = list_filters(client, QUERYTYPE_OFFLINE)
    if existing:
        return existing
    defaults = offline_templates(client) or list(DEFAULT_OFFLINE_FILTERS)
    for default in defaults:
        create_filter(client, default.name, default.table, default.fetchxml, QUERYTYPE_OFFLINE)
    return list_filters(client, QUERYTYPE_OFFLINE)


def filter_ids(client: DataverseClient, table: str, filters: Sequence[UserQuery]) -> set[str]:
    """Ids of the ``table`` rows the active filters select (their union)."""
    return run_filters(client, table, filters, page_size=PAGE_SIZE)


def _filters_text(filters: Sequence[UserQuery]) -> str:
    return json.dumps(
        [{"id": f.id, "name": f.name, "table": f.returnedtypecode, "active": f.active} for f in filters],
        ensure_ascii=False,
        sort_keys=True,
    )


def remember_filters(store: OfflineStore, filters: Sequence[UserQuery]) -> None:
    """Keep the filters (not their FetchXML) in the store; written only when they changed."""
    text = _filters_text(filters)
    if store.get_meta(FILTERS_KEY) != text:
        store.set_meta(FILTERS_KEY, text)


def remembered_filters(store: OfflineStore) -> list[UserQuery]:
    """The filters the store last saw (none when it never saw any), without their FetchXML."""
    try:
        rows = json.loads(store.get_meta(FILTERS_KEY) or "[]")
    except ValueError:
        return []
    return [
        UserQuery(str(r["id"]), str(r["name"]), "", str(r["table"]), QUERYTYPE_OFFLINE, bool(r["active"]))
        for r in rows
        if isinstance(r, dict) and {"id", "name", "table", "active"} <= r.keys()
    ]
