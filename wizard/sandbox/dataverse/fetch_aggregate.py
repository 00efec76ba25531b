"""Aggregate FetchXML in the Dataverse stand-in: ``<fetch aggregate='true'>`` with ``count``, ``countcolumn``
(``distinct='true'`` counts each value once), ``sum``, ``avg``, ``min``, ``max`` and ``groupby`` columns, ordered by
``<order alias='…'/>``.

As PAD ``fetchxml/aggregate-data.md`` describes it: every aggregate or group-by attribute needs an ``alias``;
nulls are not considered (``countcolumn`` counts the rows with a value, ``count`` every row); columns of joined
tables (``link-entity``) may be aggregated too; more than 50,000 rows to aggregate (or more than the query's own
``aggregatelimit``, which may not exceed 50,000) is the error ``0x8004E023`` "AggregateQueryRecordLimit
exceeded. Cannot perform this operation.". The result is one row per group (one row without groups, also when
no row matched), each aggregate under its alias; an average over whole numbers is a whole number (truncated, as
SQL Server's ``AVG`` of an integer column). Not here: ``dategrouping`` and ``rowaggregate`` (refused)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element

from wizard.sandbox.dataverse.odata_query import QueryError, _sort_key, resolve_attribute

FUNCTIONS = frozenset({"count", "countcolumn", "sum", "avg", "min", "max"})
RECORD_LIMIT = 50_000
LIMIT_CODE = "0x8004e023"
LIMIT_MESSAGE = "AggregateQueryRecordLimit exceeded. Cannot perform this operation."
FETCH_ERROR_CODE = "0x80041103"

_Combo = Mapping[str | None, Mapping[str, Any] | None]  # alias (None = root) -> row (None = no outer match)


@dataclass(frozen=True)
class AggregateColumn:
    """One ``<attribute>`` of an aggregate query: an aggregate function (``function``) or a group (None)."""

    alias: str
    attribute: str
    owner: str | None  # the link-entity alias it belongs to; None for the root entity
    function: str | None = None
    distinct: bool = False


def _fail(message: str) -> QueryError:
    return QueryError(message, FETCH_ERROR_CODE)


def is_aggregate_attribute(element: Element) -> bool:
    return any(
        element.get(name) is not None for name in ("aggregate", "groupby", "dategrouping", "rowaggregate")
    )


def parse_column(element: Element, name: str, owner: str | None, aggregate_query: bool) -> AggregateColumn:
    """An ``<attribute>`` with ``aggregate`` or ``groupby``: checked as the service checks it."""
    if element.get("rowaggregate") is not None or element.get("dategrouping") is not None:
        raise _fail("The 'rowaggregate' and 'dategrouping' attributes are not supported by the sandbox.")
    if not aggregate_query:
        raise _fail(
            "An aggregate or groupby attribute needs an aggregate query: set aggregate='true' on the fetch element."
        )
    alias = (element.get("alias") or "").strip()
    if not alias:
        raise _fail(f"An alias is required for the aggregate or groupby attribute '{name}'.")
    function = element.get("aggregate")
    groupby = (element.get("groupby") or "false").strip().lower() in ("true", "1")
    if function is not None:
        function = function.strip().lower()
        if function not in FUNCTIONS:
            raise _fail(f"'{function}' is not a valid aggregate function.")
        if groupby:
            raise _fail(f"The attribute '{name}' can't be both an aggregate and a groupby attribute.")
    elif not groupby:
        raise _fail(f"'{element.get('groupby')}' is not a valid value for the 'groupby' attribute.")
    distinct = (element.get("distinct") or "false").strip().lower() in ("true", "1")
    if distinct and function != "countcolumn":
        raise _fail("The 'distinct' attribute of an attribute applies only to the countcolumn aggregate.")
    return AggregateColumn(alias=alias, attribute=name, owner=owner, function=function, distinct=distinct)


def check_query(columns: list[AggregateColumn], orders: list[tuple[str, bool]], limit: int | None) -> None:
    """What the whole query must satisfy: at least one column, unique aliases, orders naming them, the limit."""
    if not columns:
        raise _fail("An aggregate query needs at least one attribute with 'aggregate' or 'groupby'.")
    aliases = [column.alias for column in columns]
    duplicate = next((alias for alias in aliases if aliases.count(alias) > 1), None)
    if duplicate is not None:
        raise _fail(f"The alias '{duplicate}' is used more than once.")
    for alias, _descending in orders:
        if alias not in aliases:
            raise _fail(f"The order alias '{alias}' names no attribute of the query.")
    if limit is not None and limit > RECORD_LIMIT:
        raise _fail(f"The aggregatelimit {limit} exceeds the limit of {RECORD_LIMIT} records.")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return None


def _plain(total: Decimal, whole: bool) -> int | float:
    return int(total) if whole else float(total)


def _compute(column: AggregateColumn, combos: list[_Combo]) -> Any:
    values = []
    for combo in combos:
        row = combo.get(column.owner)
        value = None if row is None else resolve_attribute(row, column.attribute)
        values.append(value)
    present = [value for value in values if value is not None]
    if column.function == "count":
        return len(values)
    if column.function == "countcolumn":
        return len({repr(value) for value in present}) if column.distinct else len(present)
    if column.function in ("min", "max"):
        if not present:
            return None
        pick = min if column.function == "min" else max
        return pick(present, key=_sort_key)
    numbers = [number for number in (_number(value) for value in present) if number is not None]
    if len(numbers) != len(present):
        raise _fail(f"The aggregate '{column.function}' needs a numeric column; '{column.attribute}' is not.")
    whole = all(isinstance(value, int) for value in present)
    if column.function == "sum":
        if not combos:
            return None
        return _plain(sum(numbers, Decimal(0)), whole)
    if not numbers:  # avg
        return None
    average = sum(numbers, Decimal(0)) / len(numbers)
    return int(average) if whole else float(average)


def aggregate_rows(
    columns: list[AggregateColumn],
    orders: list[tuple[str, bool]],
    combos: list[_Combo],
    limit: int | None,
) -> list[dict[str, Any]]:
    """The result rows of an aggregate query over the joined and filtered ``combos``."""
    if len(combos) > min(limit or RECORD_LIMIT, RECORD_LIMIT):
        raise QueryError(LIMIT_MESSAGE, LIMIT_CODE)
    groups = [column for column in columns if column.function is None]
    buckets: dict[tuple[str, ...], tuple[list[Any], list[_Combo]]] = {}
    for combo in combos:
        key_values = []
        for column in groups:
            row = combo.get(column.owner)
            key_values.append(None if row is None else resolve_attribute(row, column.attribute))
        marker = tuple(repr(value) for value in key_values)
        buckets.setdefault(marker, (key_values, []))[1].append(combo)
    if not groups:
        buckets = {(): ([], combos)}
    rows: list[dict[str, Any]] = []
    for key_values, members in buckets.values():
        out: dict[str, Any] = {}
        for column, value in zip(groups, key_values, strict=True):
            if value is not None:  # nulls are left out, as in any FetchXML answer
                out[column.alias] = value
        for column in columns:
            if column.function is not None:
                out[column.alias] = _compute(column, members)
        rows.append(out)
    rows.sort(key=lambda r: tuple(_sort_key(r.get(column.alias)) for column in groups))
    for alias, descending in reversed(orders):
        rows.sort(key=_by(alias), reverse=descending)
    return rows


def _by(alias: str) -> Callable[[Mapping[str, Any]], tuple[int, int, Any]]:
    def key(row: Mapping[str, Any]) -> tuple[int, int, Any]:
        return _sort_key(row.get(alias))

    return key
