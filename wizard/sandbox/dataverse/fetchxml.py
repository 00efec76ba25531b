"""The FetchXML subset the Dataverse stand-in executes (``GET /<set>?fetchXml=...``, Outlook sync filters).

Parsing uses defusedxml (no DTDs, no entity expansion, no external references). Execution is an
in-memory nested-loop join over a ``RowSource``; condition semantics are shared with $filter via
``odata_query.match_condition`` so both query languages agree on nulls, case and dates.
Paging (count/page/paging-cookie) is parsed here but applied by the caller; aggregate queries are evaluated by
:mod:`.fetch_aggregate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from wizard.sandbox.dataverse import fetch_aggregate
from wizard.sandbox.dataverse.fetch_aggregate import AggregateColumn
from wizard.sandbox.dataverse.odata_query import (
    CONDITION_OPERATORS,
    MAX_DEPTH,
    EvalContext,
    QueryError,
    _as_datetime,
    _fold,
    _int_operand,
    _looks_temporal,
    _sort_key,
    compare_values,
    match_condition,
    resolve_attribute,
)

__all__ = [
    "MAX_FETCH_LENGTH",
    "FetchCondition",
    "FetchFilter",
    "FetchQuery",
    "LinkEntity",
    "RowSource",
    "execute_fetch",
    "parse_fetch",
]

MAX_FETCH_LENGTH = 65536
FETCH_ERROR_CODE = "0x80041103"
_JOIN_TYPES = frozenset({"inner", "outer", "exists", "in", "any", "not-any"})
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class FetchCondition:
    """``<condition attribute operator value entityname valueof>``; values from ``value`` or ``<value>``."""

    attribute: str
    operator: str
    values: list[str] = field(default_factory=list)
    entityname: str | None = None
    valueof: str | None = None


@dataclass
class FetchFilter:
    """``<filter type="and|or">`` holding conditions and nested filters in document order."""

    type: str = "and"
    items: list[FetchCondition | FetchFilter] = field(default_factory=list)


@dataclass
class LinkEntity:
    """``<link-entity name from to alias link-type>``: ``from`` is on the linked table, ``to`` the parent."""

    name: str
    from_attribute: str
    to_attribute: str
    alias: str
    link_type: str = "inner"
    attributes: list[str] = field(default_factory=list)
    all_attributes: bool = False
    attribute_aliases: dict[str, str] = field(default_factory=dict)
    filter: FetchFilter | None = None
    links: list[LinkEntity] = field(default_factory=list)
    orders: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class FetchQuery:
    entity: str
    attributes: list[str] | None = None  # None = all attributes
    orders: list[tuple[str, bool]] = field(default_factory=list)
    filter: FetchFilter | None = None
    links: list[LinkEntity] = field(default_factory=list)
    top: int | None = None
    count: int | None = None
    page: int = 1
    paging_cookie: str | None = None
    distinct: bool = False
    aggregate: bool = False
    attribute_aliases: dict[str, str] = field(default_factory=dict)
    link_orders: list[tuple[str, str, bool]] = field(default_factory=list)  # (alias, attribute, descending)
    aggregates: list[AggregateColumn] = field(default_factory=list)  # aggregate queries: the columns
    aggregate_orders: list[tuple[str, bool]] = field(default_factory=list)  # (column alias, descending)
    aggregate_limit: int | None = None


class RowSource(Protocol):
    """Where execute_fetch reads rows from (the store implements it)."""

    def rows(self, logical_name: str) -> Iterable[Mapping[str, Any]]: ...

    def primary_key(self, logical_name: str) -> str: ...


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


def _fail(message: str) -> QueryError:
    return QueryError(message, FETCH_ERROR_CODE)


def _tag(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _name(element: Element, attribute: str, required: bool = True) -> str | None:
    value = element.get(attribute)
    if value is None:
        if required:
            raise _fail(f"The '{_tag(element)}' element requires the '{attribute}' attribute.")
        return None
    value = value.strip()
    if not _NAME_RE.fullmatch(value):
        raise _fail(f"'{value}' is not a valid name for the '{attribute}' attribute of '{_tag(element)}'.")
    return value


def _bool_attr(element: Element, attribute: str) -> bool:
    value = (element.get(attribute) or "false").strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0", ""):
        return False
    raise _fail(f"'{value}' is not a valid value for the '{attribute}' attribute.")


def _int_attr(element: Element, attribute: str, minimum: int) -> int | None:
    value = element.get(attribute)
    if value is None or not value.strip():
        return None
    if not re.fullmatch(r"\d{1,9}", value.strip()) or int(value) < minimum:
        raise _fail(f"'{value}' is not a valid value for the '{attribute}' attribute.")
    return int(value)


def parse_fetch(xml: str) -> FetchQuery:
    """Parse a FetchXML document; QueryError for malformed XML, unknown elements or operators, DTDs."""
    if len(xml) > MAX_FETCH_LENGTH:
        raise _fail(f"The FetchXML query is longer than {MAX_FETCH_LENGTH} characters.")
    try:
        root = fromstring(xml, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError, LookupError) as exc:
        raise _fail(f"The FetchXML query is not well-formed XML: {type(exc).__name__}.") from None
    if _tag(root) != "fetch":
        raise _fail("The root element of a FetchXML query must be 'fetch'.")
    entities = [child for child in root if _tag(child) == "entity"]
    others = [child for child in root if _tag(child) != "entity"]
    if len(entities) != 1 or others:
        raise _fail("A FetchXML query must contain exactly one 'entity' element.")
    entity = entities[0]
    query = FetchQuery(entity=_name(entity, "name") or "")
    query.top = _int_attr(root, "top", 1)
    query.count = _int_attr(root, "count", 1)
    query.page = _int_attr(root, "page", 1) or 1
    query.paging_cookie = root.get("paging-cookie")
    query.distinct = _bool_attr(root, "distinct")
    query.aggregate = _bool_attr(root, "aggregate")
    query.aggregate_limit = _int_attr(root, "aggregatelimit", 1)
    if query.top is not None and (query.count is not None or root.get("page")):
        raise _fail("The 'top' attribute can't be used with the 'count' or 'page' attributes.")
    attributes: list[str] = []
    all_attributes = False
    filters: list[FetchFilter] = []
    for child in entity:
        tag = _tag(child)
        if tag == "attribute":
            _add_attribute(child, attributes, query.attribute_aliases, query, None)
        elif tag == "all-attributes":
            _no_plain_attributes(query)
            all_attributes = True
        elif tag == "order":
            if _aggregate_order(child, query) is None:
                query.orders.append(_parse_order(child))
        elif tag == "filter":
            filters.append(_parse_filter(child, 1))
        elif tag == "link-entity":
            query.links.append(_parse_link(child, 1, query))
        else:
            raise _fail(f"The element '{tag}' is not valid inside 'entity'.")
    query.attributes = None if all_attributes or not attributes else attributes
    query.filter = _merge_filters(filters)
    if query.aggregate:
        fetch_aggregate.check_query(query.aggregates, query.aggregate_orders, query.aggregate_limit)
    return query


def _add_attribute(
    element: Element, attributes: list[str], aliases: dict[str, str], query: FetchQuery, owner: str | None
) -> None:
    """An ``<attribute name=… alias=…/>`` of an entity or link-entity: the column (once) and its alias; in an
    aggregate query, an aggregate or group-by column (:mod:`.fetch_aggregate`)."""
    name = _name(element, "name") or ""
    if fetch_aggregate.is_aggregate_attribute(element):
        query.aggregates.append(fetch_aggregate.parse_column(element, name, owner, query.aggregate))
        return
    _no_plain_attributes(query)
    _remember_alias(element, name, aliases)
    if name not in attributes:
        attributes.append(name)


def _no_plain_attributes(query: FetchQuery) -> None:
    if query.aggregate:
        raise _fail(
            "An attribute can not be requested when an aggregate operation has been specified and its neither "
            "groupby nor aggregate."
        )


def _aggregate_order(element: Element, query: FetchQuery) -> tuple[str, bool] | None:
    """``<order alias='…'/>`` of an aggregate query (recorded on the query); None for any other order."""
    if not query.aggregate:
        return None
    alias = (element.get("alias") or "").strip()
    if not alias or element.get("attribute") is not None:
        raise _fail("An order in an aggregate query names the alias of an aggregate or groupby attribute.")
    order = (alias, _bool_attr(element, "descending"))
    query.aggregate_orders.append(order)
    return order


def _remember_alias(element: Element, name: str, aliases: dict[str, str]) -> None:
    alias = element.get("alias")
    if alias is not None:
        if not _NAME_RE.fullmatch(alias.strip()):
            raise _fail(f"'{alias}' is not a valid alias.")
        aliases[name] = alias.strip()


def _parse_order(element: Element) -> tuple[str, bool]:
    if element.get("alias") is not None and element.get("attribute") is None:
        raise _fail("An order by alias needs an aggregate query (aggregate='true').")
    return (_name(element, "attribute") or "", _bool_attr(element, "descending"))


def _merge_filters(filters: list[FetchFilter]) -> FetchFilter | None:
    if not filters:
        return None
    if len(filters) == 1:
        return filters[0]
    return FetchFilter("and", list(filters))


def _parse_filter(element: Element, depth: int) -> FetchFilter:
    if depth > MAX_DEPTH:
        raise _fail("Recursion depth exceeded allowed limit.")
    kind = (element.get("type") or "and").strip()
    if kind not in ("and", "or"):
        raise _fail(f"'{kind}' is not a valid filter type; use 'and' or 'or'.")
    result = FetchFilter(kind)
    for child in element:
        tag = _tag(child)
        if tag == "condition":
            result.items.append(_parse_condition(child))
        elif tag == "filter":
            result.items.append(_parse_filter(child, depth + 1))
        else:
            raise _fail(f"The element '{tag}' is not valid inside 'filter'.")
    return result


def _parse_condition(element: Element) -> FetchCondition:
    attribute = _name(element, "attribute") or ""
    operator = (element.get("operator") or "").strip()
    kind = CONDITION_OPERATORS.get(operator)
    if kind is None:
        raise _fail(f"The condition operator '{operator}' is not valid.")
    entityname = _name(element, "entityname", required=False)
    valueof = _name(element, "valueof", required=False)
    values: list[str] = []
    if element.get("value") is not None:
        values.append(element.get("value") or "")
    for child in element:
        if _tag(child) != "value":
            raise _fail(f"The element '{_tag(child)}' is not valid inside 'condition'.")
        values.append((child.text or "").strip())
    if valueof is not None:
        if operator not in ("eq", "ne", "neq", "gt", "ge", "lt", "le") or values:
            raise _fail("The 'valueof' attribute works only with eq, ne, gt, ge, lt and le and no value.")
        return FetchCondition(attribute, operator, [], entityname, valueof)
    expected = {"none": (0, 0), "one": (1, 1), "int": (1, 1), "two": (2, 2), "many": (1, 10000)}[kind]
    if not expected[0] <= len(values) <= expected[1]:
        raise _fail(f"The condition operator '{operator}' got {len(values)} value(s); that is not valid.")
    if kind == "int":
        _int_operand(values[0])
    if operator in ("on", "on-or-after", "on-or-before") and _as_datetime(values[0]) is None:
        raise _fail(f"The value '{values[0]}' is not a valid date.")
    return FetchCondition(attribute, operator, values, entityname, None)


def _parse_link(element: Element, depth: int, query: FetchQuery) -> LinkEntity:
    if depth > MAX_DEPTH:
        raise _fail("Recursion depth exceeded allowed limit.")
    name = _name(element, "name") or ""
    link = LinkEntity(
        name=name,
        from_attribute=_name(element, "from") or "",
        to_attribute=_name(element, "to") or "",
        alias=_name(element, "alias", required=False) or name,
        link_type=(element.get("link-type") or "inner").strip(),
    )
    if link.link_type not in _JOIN_TYPES:
        raise _fail(f"The link-type '{link.link_type}' is not supported.")
    filters: list[FetchFilter] = []
    for child in element:
        tag = _tag(child)
        if tag == "attribute":
            _add_attribute(child, link.attributes, link.attribute_aliases, query, link.alias)
        elif tag == "all-attributes":
            _no_plain_attributes(query)
            link.all_attributes = True
        elif tag == "order":
            if _aggregate_order(child, query) is not None:
                continue
            attr, descending = _parse_order(child)
            link.orders.append((attr, descending))
            query.link_orders.append((link.alias, attr, descending))
        elif tag == "filter":
            filters.append(_parse_filter(child, depth + 1))
        elif tag == "link-entity":
            link.links.append(_parse_link(child, depth + 1, query))
        else:
            raise _fail(f"The element '{tag}' is not valid inside 'link-entity'.")
    link.filter = _merge_filters(filters)
    return link


# --------------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------------

_Combo = dict[str | None, Mapping[str, Any] | None]  # alias (None = root) -> row (None = no outer match)


def _condition_holds(cond: FetchCondition, combo: _Combo, own: str | None, ctx: EvalContext) -> bool:
    alias = cond.entityname if cond.entityname is not None else own
    if alias not in combo:
        raise _fail(f"The entityname '{cond.entityname}' does not match any link-entity alias.")
    row = combo[alias]
    actual = None if row is None else resolve_attribute(row, cond.attribute)
    if cond.valueof is not None:
        other = None if row is None else resolve_attribute(row, cond.valueof)
        return compare_values("ne" if cond.operator == "neq" else cond.operator, actual, other)
    return match_condition(cond.operator, actual, cond.values, ctx)


def _filter_holds(flt: FetchFilter, combo: _Combo, own: str | None, ctx: EvalContext) -> bool:
    results = (
        _filter_holds(item, combo, own, ctx)
        if isinstance(item, FetchFilter)
        else _condition_holds(item, combo, own, ctx)
        for item in flt.items
    )
    return all(results) if flt.type == "and" else any(results)


class _Executor:
    def __init__(self, source: RowSource, ctx: EvalContext) -> None:
        self.source = source
        self.ctx = ctx
        self.cache: dict[str, list[Mapping[str, Any]]] = {}
        self.indexes: dict[
            tuple[str, str], tuple[dict[str, list[Mapping[str, Any]]], list[Mapping[str, Any]]]
        ] = {}

    def candidates(self, name: str, column: str, key: Any) -> Iterable[Mapping[str, Any]]:
        """Rows of ``name`` that may have ``column`` eq ``key``: a hash look-up for the usual string / GUID key
        (the rows whose value is text, by the folded text compare_values uses), plus the few whose value is not
        text; every row for other keys. The join still checks each with compare_values: same answers as a
        scan, without scanning 60,000 activity parties for each of 5,000 appointments."""
        if not isinstance(key, str) or _looks_temporal(key):
            return self.table(name)
        index = self.indexes.get((name, column))
        if index is None:
            by_text: dict[str, list[Mapping[str, Any]]] = {}
            other: list[Mapping[str, Any]] = []
            for row in self.table(name):
                value = resolve_attribute(row, column)
                if isinstance(value, str):
                    by_text.setdefault(_fold(value), []).append(row)
                elif value is not None:
                    other.append(row)
            index = self.indexes[(name, column)] = (by_text, other)
        by_text, other = index
        return [*by_text.get(_fold(key), ()), *other]

    def table(self, name: str) -> list[Mapping[str, Any]]:
        if name not in self.cache:
            self.cache[name] = list(self.source.rows(name))
        return self.cache[name]

    def expand(self, combos: list[_Combo], parent: str | None, links: list[LinkEntity]) -> list[_Combo]:
        for link in links:
            expanded: list[_Combo] = []
            for combo in combos:
                expanded.extend(self.join(combo, parent, link))
            combos = expanded
        return combos

    def join(self, combo: _Combo, parent: str | None, link: LinkEntity) -> list[_Combo]:
        parent_row = combo.get(parent)
        key = None if parent_row is None else resolve_attribute(parent_row, link.to_attribute)
        matches: list[_Combo] = []
        if key is not None:
            for candidate in self.candidates(link.name, link.from_attribute, key):
                if not compare_values("eq", resolve_attribute(candidate, link.from_attribute), key):
                    continue
                trial: _Combo = {**combo, link.alias: candidate}
                if link.filter is not None and not _filter_holds(link.filter, trial, link.alias, self.ctx):
                    continue
                nested = self.expand([trial], link.alias, link.links)
                matches.extend(nested)
        if link.link_type in ("exists", "in", "any"):
            return [combo] if matches else []
        if link.link_type == "not-any":
            return [] if matches else [combo]
        if matches:
            return matches
        if link.link_type == "outer":
            empty: _Combo = {**combo}
            for alias in _aliases(link):
                empty[alias] = None
            return [empty]
        return []


def _aliases(link: LinkEntity) -> list[str]:
    found = [link.alias]
    for child in link.links:
        found.extend(_aliases(child))
    return found


def _visible_links(links: list[LinkEntity]) -> Iterable[LinkEntity]:
    for link in links:
        if link.link_type in ("inner", "outer"):
            yield link
            yield from _visible_links(link.links)


def _output_key(row: Mapping[str, Any], attribute: str) -> str:
    if attribute not in row and f"_{attribute}_value" in row:
        return f"_{attribute}_value"
    return attribute


def execute_fetch(query: FetchQuery, source: RowSource, ctx: EvalContext) -> list[dict[str, Any]]:
    """Run a parsed query: all matching rows in Web API shape, ordered (paging is the caller's job); an
    aggregate query's rows are its groups (:func:`.fetch_aggregate.aggregate_rows`)."""
    executor = _Executor(source, ctx)
    primary = source.primary_key(query.entity)
    combos: list[_Combo] = [{None: row} for row in executor.table(query.entity)]
    combos = executor.expand(combos, None, query.links)
    if query.filter is not None:
        flt = query.filter
        combos = [combo for combo in combos if _filter_holds(flt, combo, None, ctx)]
    if query.aggregate:
        return fetch_aggregate.aggregate_rows(
            query.aggregates, query.aggregate_orders, list(combos), query.aggregate_limit
        )

    def root(combo: _Combo) -> Mapping[str, Any]:
        row = combo[None]
        assert row is not None
        return row

    def column_key(alias: str | None, attribute: str) -> Callable[[_Combo], tuple[int, int, Any]]:
        def key(combo: _Combo) -> tuple[int, int, Any]:
            row = combo.get(alias)
            return _sort_key(None if row is None else resolve_attribute(row, attribute))

        return key

    # Dataverse always adds the primary key as the last sort key, which makes paging deterministic.
    combos.sort(key=column_key(None, primary))
    sort_keys: list[tuple[str | None, str, bool]] = [(None, attr, desc) for attr, desc in query.orders]
    sort_keys += [(alias, attr, desc) for alias, attr, desc in query.link_orders]
    for alias, attr, descending in reversed(sort_keys):
        combos.sort(key=column_key(alias, attr), reverse=descending)
    visible = list(_visible_links(query.links))
    result: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for combo in combos:
        out = _shape_root(root(combo), query, primary)
        for link in visible:
            linked = combo.get(link.alias)
            if linked is None:
                continue
            names = list(linked) if link.all_attributes else link.attributes
            for attr in names:
                value = resolve_attribute(linked, attr) if attr in link.attributes else linked.get(attr)
                if value is not None:
                    label = link.attribute_aliases.get(attr)
                    out[label if label else f"{link.alias}.{attr}"] = value
        if query.distinct:
            marker = tuple(
                sorted((key, repr(value)) for key, value in out.items() if not key.startswith("@"))
            )
            if marker in seen:
                continue
            seen.add(marker)
        result.append(out)
    return result


def _shape_root(row: Mapping[str, Any], query: FetchQuery, primary: str) -> dict[str, Any]:
    """Requested root columns in Web API shape (nulls left out, as FetchXML does), plus the primary key."""
    out: dict[str, Any] = {key: value for key, value in row.items() if key.startswith("@")}
    if query.attributes is None:
        out.update({key: value for key, value in row.items() if value is not None})
    else:
        for attr in query.attributes:
            key = _output_key(row, attr)
            value = row.get(key)
            if value is not None:
                out[query.attribute_aliases.get(attr, key)] = value
    if primary in row:
        out[primary] = row[primary]
    return out
