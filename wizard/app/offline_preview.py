"""How many records the offline filters select: the preview counts of the wizard's Offline page.

Per filter one aggregate FetchXML query (``<fetch aggregate="true">`` with a distinct ``countcolumn`` of the
primary key, so a record joined to several rows counts once; "Aggregate data using FetchXml",
learn.microsoft.com/power-apps/developer/data-platform/fetchxml/aggregate-data), as Dynamics 365 for Outlook
showed "about N records". Aggregates stop at 50,000 records (error ``0x8004E023`` "AggregateQueryRecordLimit
exceeded"): such a filter counts as :data:`OVER_LIMIT`, which the page shows as "more than 50,000", without
reading its ids. A service that refuses aggregate queries otherwise gets the filter's ids counted instead (pages
of 5,000). Several active filters of one table are OR-ed, so the table's figure is the sum of its filters'
counts: an upper bound, shown as "about". Network: call it on a worker.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from defusedxml import ElementTree as SafeET

from wizard.app.factory import Factory
from wizard.crm import filters as crm_filters
from wizard.crm.client import DataverseClient
from wizard.crm.entities import UserQuery
from wizard.odata.errors import ODataError

log = logging.getLogger(__name__)

ALIAS = "preview_count"
AGGREGATE_LIMIT = 50_000  # records an aggregate query may count (the service's AggregateQueryRecordLimit)
OVER_LIMIT = AGGREGATE_LIMIT + 1  # the count of a filter that selects more than that
LIMIT_CODE = "0x8004e023"


def over_limit(count: int) -> bool:
    """Whether ``count`` stands for "more than 50,000" (a filter, or a table's sum with such a filter)."""
    return count > AGGREGATE_LIMIT


def _limit_exceeded(error: ODataError) -> bool:
    return error.code.lower() == LIMIT_CODE or "AggregateQueryRecordLimit" in error.message


def count_fetchxml(fetchxml: str, key: str) -> str:
    """``fetchxml`` as an aggregate query counting ``key`` (its attributes and orders dropped)."""
    root = SafeET.fromstring(fetchxml)
    root.set("aggregate", "true")
    for name in ("count", "page", "paging-cookie", "top"):
        root.attrib.pop(name, None)
    entity = root.find("entity")
    if entity is None:
        raise ValueError("FetchXML without an entity")
    for child in list(entity):
        if child.tag in ("attribute", "all-attributes", "order"):
            entity.remove(child)
    for link in entity.iter("link-entity"):
        for child in list(link):
            if child.tag in ("attribute", "all-attributes", "order"):
                link.remove(child)
    counted = ET.Element(
        "attribute", {"name": key, "alias": ALIAS, "aggregate": "countcolumn", "distinct": "true"}
    )
    root.attrib.pop("distinct", None)
    entity.insert(0, counted)
    return ET.tostring(root, encoding="unicode")


def filter_count(client: DataverseClient, query: UserQuery) -> int:
    """The number of rows ``query`` selects (aggregate count; :data:`OVER_LIMIT` above 50,000; the ids counted
    when aggregates are refused)."""
    entity_set, key = crm_filters.TABLES.get(
        query.returnedtypecode, (query.returnedtypecode + "s", query.returnedtypecode + "id")
    )
    try:
        for row in client.fetch(entity_set, count_fetchxml(query.fetchxml, key)):
            value = row.get(ALIAS)
            return int(value) if isinstance(value, int | float | str) and str(value).isdigit() else 0
        return 0
    except ODataError as error:
        if _limit_exceeded(error):
            return OVER_LIMIT
        log.info("no aggregate count for %s (%s): counting its ids", query.name, error)
    return len(crm_filters.run_filters(client, query.returnedtypecode, [query], page_size=5000))


def preview_counts(factory: Factory, filters: Sequence[UserQuery]) -> dict[str, int]:
    """Per filter id, how many records it selects; inactive filters count too (the page shows what turning
    one on would bring)."""
    client = factory.dataverse(factory.require_sync_org())
    return {query.id: filter_count(client, query) for query in filters}
