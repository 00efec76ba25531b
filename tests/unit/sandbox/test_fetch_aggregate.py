"""Aggregate FetchXML in the Dataverse stand-in (PAD fetchxml/aggregate-data.md): the documented example, distinct
column counts, grouping with an order by alias, joined columns, the alias rule and the 50,000-record limit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from wizard.sandbox.dataverse import fetch_aggregate
from wizard.sandbox.dataverse.fetchxml import execute_fetch, parse_fetch
from wizard.sandbox.dataverse.odata_query import EvalContext, QueryError

CTX = EvalContext(user_id="7e1b2c3d-0000-4000-8000-000000000001", now=datetime(2026, 11, 25, tzinfo=UTC))

#: the ten accounts of the documentation's example (number of employees, name, city)
DOC_ACCOUNTS = [
    (None, "Example Account", None),
    (1500, "Contoso Pharmaceuticals (sample)", "Redmond"),
    (2700, "Fabrikam, Inc. (sample)", "Lynnwood"),
    (2900, "Blue Yonder Airlines (sample)", "Los Angeles"),
    (2900, "City Power & Light (sample)", "Redmond"),
    (3900, "Coho Winery (sample)", "Phoenix"),
    (4300, "Adventure Works (sample)", "Santa Cruz"),
    (4800, "Alpine Ski House (sample)", "Missoula"),
    (6000, "Litware, Inc. (sample)", "Dallas"),
    (6200, "A. Datum Corporation (sample)", "Redmond"),
]


class Source:
    def __init__(self, tables: Mapping[str, list[dict[str, Any]]]) -> None:
        self.tables = tables

    def rows(self, logical_name: str) -> Iterable[Mapping[str, Any]]:
        return iter(self.tables[logical_name])

    def primary_key(self, logical_name: str) -> str:
        return f"{logical_name}id"


ACCOUNTS = [
    {
        "accountid": f"a0000000-0000-4000-8000-{n:012d}",
        "numberofemployees": employees,
        "name": name,
        "address1_city": city,
        "_primarycontactid_value": "c1" if n % 2 else None,
    }
    for n, (employees, name, city) in enumerate(DOC_ACCOUNTS)
]
CONTACTS = [{"contactid": "c1", "lastname": "Stubberod"}]
SOURCE = Source({"account": ACCOUNTS, "contact": CONTACTS})


def run(xml: str, source: Source = SOURCE) -> list[dict[str, Any]]:
    return execute_fetch(parse_fetch(xml), source, CTX)


def test_the_documented_example_gives_the_documented_row() -> None:
    rows = run(
        "<fetch aggregate='true'><entity name='account'>"
        "<attribute name='numberofemployees' alias='Average' aggregate='avg'/>"
        "<attribute name='numberofemployees' alias='Count' aggregate='count'/>"
        "<attribute name='numberofemployees' alias='ColumnCount' aggregate='countcolumn'/>"
        "<attribute name='numberofemployees' alias='Maximum' aggregate='max'/>"
        "<attribute name='numberofemployees' alias='Minimum' aggregate='min'/>"
        "<attribute name='numberofemployees' alias='Sum' aggregate='sum'/>"
        "</entity></fetch>"
    )
    assert rows == [
        {"Average": 3911, "Count": 10, "ColumnCount": 9, "Maximum": 6200, "Minimum": 1500, "Sum": 35200}
    ]
    distinct = run(
        "<fetch aggregate='true'><entity name='account'>"
        "<attribute name='numberofemployees' alias='ColumnCount' aggregate='countcolumn' distinct='true'/>"
        "</entity></fetch>"
    )
    assert distinct == [{"ColumnCount": 8}]  # "8 rather than 9": two accounts have 2,900


def test_grouping_by_city_ordered_by_alias() -> None:
    rows = run(
        "<fetch aggregate='true'><entity name='account'>"
        "<attribute name='numberofemployees' alias='Total' aggregate='sum'/>"
        "<attribute name='address1_city' alias='Count' aggregate='count'/>"
        "<attribute name='address1_city' alias='City' groupby='true'/>"
        "<order alias='City'/></entity></fetch>"
    )
    assert [(r.get("City"), r["Count"], r["Total"]) for r in rows] == [
        (None, 1, 0),
        ("Dallas", 1, 6000),
        ("Los Angeles", 1, 2900),
        ("Lynnwood", 1, 2700),
        ("Missoula", 1, 4800),
        ("Phoenix", 1, 3900),
        ("Redmond", 3, 10600),
        ("Santa Cruz", 1, 4300),
    ]
    assert "City" not in rows[0]  # a null group value is left out, as any null
    by_count = run(
        "<fetch aggregate='true'><entity name='account'>"
        "<attribute name='accountid' alias='n' aggregate='count'/>"
        "<attribute name='address1_city' alias='City' groupby='true'/>"
        "<order alias='n' descending='true'/></entity></fetch>"
    )
    assert by_count[0] == {"n": 3, "City": "Redmond"}


def test_count_with_a_filter_a_join_and_no_match() -> None:
    counted = run(
        "<fetch aggregate='true'><entity name='account'>"
        "<attribute name='accountid' alias='n' aggregate='countcolumn'/>"
        "<filter><condition attribute='address1_city' operator='eq' value='Redmond'/></filter>"
        "</entity></fetch>"
    )
    assert counted == [{"n": 3}]
    joined = run(
        "<fetch aggregate='true'><entity name='account'>"
        "<attribute name='accountid' alias='n' aggregate='count'/>"
        "<link-entity name='contact' from='contactid' to='primarycontactid' alias='pc'>"
        "<attribute name='lastname' alias='who' groupby='true'/></link-entity>"
        "</entity></fetch>"
    )
    assert joined == [{"n": 5, "who": "Stubberod"}]
    nothing = run(
        "<fetch aggregate='true'><entity name='account'>"
        "<attribute name='accountid' alias='n' aggregate='count'/>"
        "<attribute name='numberofemployees' alias='total' aggregate='sum'/>"
        "<filter><condition attribute='name' operator='eq' value='nobody'/></filter>"
        "</entity></fetch>"
    )
    assert nothing == [{"n": 0, "total": None}]  # one row; the empty sum still named


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("<attribute name='accountid' aggregate='count'/>", "alias is required"),
        ("<attribute name='accountid' alias='n' aggregate='median'/>", "not a valid aggregate"),
        (
            "<attribute name='accountid' alias='n' aggregate='count'/><attribute name='name'/>",
            "neither groupby",
        ),
        ("<attribute name='accountid' alias='n' aggregate='count'/><all-attributes/>", "neither groupby"),
        ("<attribute name='accountid' alias='n' aggregate='count' distinct='true'/>", "countcolumn"),
        (
            "<attribute name='a' alias='n' aggregate='count'/><attribute name='b' alias='n' groupby='true'/>",
            "more than once",
        ),
        ("<attribute name='accountid' alias='n' aggregate='count'/><order alias='m'/>", "names no attribute"),
        ("<attribute name='accountid' alias='n' aggregate='count'/><order attribute='name'/>", "alias"),
        ("<attribute name='createdon' alias='y' groupby='true' dategrouping='year'/>", "not supported"),
        ("", "at least one attribute"),
    ],
)
def test_aggregate_errors(body: str, fragment: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_fetch(f"<fetch aggregate='true'><entity name='account'>{body}</entity></fetch>")
    assert fragment in info.value.message


def test_more_than_50000_records_is_the_documented_error() -> None:
    many = Source({"account": [{"accountid": str(n), "statecode": n % 2} for n in range(50_001)]})
    count = "<attribute name='accountid' alias='n' aggregate='count'/>"
    with pytest.raises(QueryError) as info:
        run(f"<fetch aggregate='true'><entity name='account'>{count}</entity></fetch>", many)
    assert info.value.code == "0x8004e023"
    assert info.value.message == "AggregateQueryRecordLimit exceeded. Cannot perform this operation."
    # a filter that leaves 50,000 or fewer records to aggregate is fine
    active = "<filter><condition attribute='statecode' operator='eq' value='0'/></filter>"
    rows = run(f"<fetch aggregate='true'><entity name='account'>{count}{active}</entity></fetch>", many)
    assert rows == [{"n": 25_001}]
    # a query's own lower limit (aggregatelimit: 9 of the 10 accounts), never above the default
    with pytest.raises(QueryError, match="AggregateQueryRecordLimit"):
        run(f"<fetch aggregate='true' aggregatelimit='9'><entity name='account'>{count}</entity></fetch>")
    with pytest.raises(QueryError, match="exceeds"):
        parse_fetch(
            f"<fetch aggregate='true' aggregatelimit='50001'><entity name='account'>{count}</entity></fetch>"
        )
    assert fetch_aggregate.RECORD_LIMIT == 50_000
