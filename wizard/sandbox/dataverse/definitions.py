"""``GET …/EntityDefinitions…``: the Web API's table-definition requests, answered from :mod:`.metadata`.

Served: the collection (``$select``, ``$filter`` on primitive, enum and ``complex/Value`` properties,
``$expand=Attributes(…)``), one table by ``(LogicalName='x')`` or MetadataId, its ``Attributes`` (collection,
``(LogicalName='x')`` or MetadataId, and the casts to a derived type with ``$expand=OptionSet``) and its
``ManyToOneRelationships``. PAD ``webapi/query-metadata-web-api.md``: no paging, ``MetadataId`` always returned,
enum literals written ``Microsoft.Dynamics.CRM.<EnumType>'<Member>'``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from wizard.sandbox.dataverse import odata_query as oq
from wizard.sandbox.dataverse.metadata import (
    BASE_ATTRIBUTE_PROPERTIES,
    DERIVED_PROPERTIES,
    OPTION_SET_NAVIGATIONS,
    Attribute,
    attribute_by_key,
    attributes,
    entity_json,
    metadata_id,
    table_by_key,
)
from wizard.sandbox.dataverse.protocol import NOT_SUPPORTED_CODE, SEGMENT_RE, ApiError, Response
from wizard.sandbox.dataverse.schema import BY_LOGICAL_NAME, EntityDef

CRM = "Microsoft.Dynamics.CRM."
_ENUM_LITERAL_RE = re.compile(r"Microsoft\.Dynamics\.CRM\.[A-Za-z]+('[^']*')")
_NAVIGATIONS = ("Attributes", "ManyToOneRelationships")
_UNSUPPORTED = ("$top", "$skip", "$orderby", "$count")


def _query_error(message: str) -> ApiError:
    return ApiError(400, message, NOT_SUPPORTED_CODE)


def _parse_filter(text: str | None) -> oq.Expr | None:
    """``$filter`` with enum literals reduced to their member names (the values are stored as names)."""
    if not text:
        return None
    return oq.parse_filter(_ENUM_LITERAL_RE.sub(r"\1", text))


def _navigate(row: Mapping[str, Any], segment: str) -> Mapping[str, Any] | None:
    value = row.get(segment)
    return value if isinstance(value, Mapping) else None


_CONTEXT = oq.EvalContext(user_id="", now=datetime(2000, 1, 1, tzinfo=UTC), navigate=_navigate)


def _matches(expr: oq.Expr | None, item: Mapping[str, Any]) -> bool:
    return expr is None or expr.evaluate(item, _CONTEXT) is True


def _select(
    item: dict[str, Any], names: list[str] | None, allowed: frozenset[str] | set[str], type_name: str
) -> dict[str, Any]:
    if names is None:
        return item
    for name in names:
        if name not in allowed:
            raise _query_error(f"Could not find a property named '{name}' on type '{CRM}{type_name}'.")
    keep = {*names, "MetadataId"}
    return {k: v for k, v in item.items() if k in keep or k == "@odata.type"}


def _split_options(text: str) -> dict[str, str]:
    """``$select=a;$filter=b`` (inside an ``$expand`` item) -> {"$select": "a", "$filter": "b"}."""
    out: dict[str, str] = {}
    depth, start = 0, 0
    for index, char in enumerate(text + ";"):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ";" and depth == 0:
            part = text[start:index].strip()
            if part:
                name, _, value = part.partition("=")
                out[name.strip()] = value.strip()
            start = index + 1
    return out


def _expand_items(text: str | None) -> dict[str, dict[str, str]]:
    """``$expand=A($select=x),B`` -> {"A": {"$select": "x"}, "B": {}}."""
    if not text:
        return {}
    out: dict[str, dict[str, str]] = {}
    depth, start = 0, 0
    for index, char in enumerate(text + ","):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            part = text[start:index].strip()
            start = index + 1
            if not part:
                continue
            name, _, inner = part.partition("(")
            out[name.strip()] = _split_options(inner[:-1]) if inner.endswith(")") else {}
    return out


class DefinitionRequests:
    """Answers the ``EntityDefinitions`` requests of one caller."""

    def __init__(
        self,
        root: str,
        params: Mapping[str, str],
        language: int,
        tracking: Callable[[str], bool],
    ) -> None:
        self.root = root
        self.params = params
        self.language = language
        self.tracking = tracking

    def handle(self, method: str, segments: list[str]) -> Response:
        if method != "GET":
            raise ApiError(405, f"The requested resource does not support http method '{method}'.")
        for option in _UNSUPPORTED:
            if option in self.params:
                raise _query_error(f"The query parameter {option} is not supported")
        first = SEGMENT_RE.match(segments[0])
        assert first is not None  # the caller matched it
        key = first.group("key")
        if key is None:
            if len(segments) > 1:
                raise ApiError(
                    404, f"Resource not found for the segment '{segments[1]}'.", NOT_SUPPORTED_CODE
                )
            return self._tables()
        table = table_by_key(key)
        if table is None:
            name = key.split("=", 1)[-1].strip("'")
            raise ApiError(
                404,
                f"Could not find entity with name '{name}'."
                if "=" in key
                else f"Could not find entity with MetadataId '{name}'.",
                "0x80040217",
            )
        if len(segments) == 1:
            return self._table(table)
        nav = SEGMENT_RE.match(segments[1])
        if nav is None or nav.group("name") not in _NAVIGATIONS:
            raise ApiError(404, f"Resource not found for the segment '{segments[1]}'.", NOT_SUPPORTED_CODE)
        if nav.group("name") == "ManyToOneRelationships":
            if len(segments) > 2 or nav.group("key") is not None:
                raise ApiError(
                    404, f"Resource not found for the segment '{segments[-1]}'.", NOT_SUPPORTED_CODE
                )
            return self._many_to_one(table)
        return self._attributes(table, nav.group("key"), segments[2:])

    # -- tables ----------------------------------------------------------------------------------
    def _table_item(self, table: EntityDef) -> dict[str, Any]:
        return entity_json(table, self.language, self.tracking(table.entity_set))

    def _selected_table(self, table: EntityDef, expr: oq.Expr | None = None) -> dict[str, Any] | None:
        item = self._table_item(table)
        if not _matches(expr, item):
            return None
        names = oq.parse_select(self.params.get("$select"))
        out = _select(item, names, set(item) | set(_NAVIGATIONS), "EntityMetadata")
        for navigation, options in _expand_items(self.params.get("$expand")).items():
            if navigation == "Attributes":
                out["Attributes"] = [
                    _select(
                        a.to_json(self.language),
                        oq.parse_select(options.get("$select")),
                        BASE_ATTRIBUTE_PROPERTIES,
                        "AttributeMetadata",
                    )
                    for a in attributes(table)
                    if _matches(_parse_filter(options.get("$filter")), a.to_json(self.language))
                ]
            elif navigation == "ManyToOneRelationships":
                out["ManyToOneRelationships"] = relationships(table)
            else:
                raise _query_error(
                    f"Could not find a property named '{navigation}' on type '{CRM}EntityMetadata'."
                )
        return out

    def _context(self, path: str) -> str:
        select = self.params.get("$select")
        return f"{self.root}/$metadata#{path}" + (f"({select})" if select else "")

    def _tables(self) -> Response:
        expr = _parse_filter(self.params.get("$filter"))
        values = [
            found
            for table in sorted(BY_LOGICAL_NAME.values(), key=lambda t: t.logical_name)
            if (found := self._selected_table(table, expr)) is not None
        ]
        body = {"@odata.context": self._context("EntityDefinitions"), "value": values}
        return Response.json(200, body, collection=True)

    def _table(self, table: EntityDef) -> Response:
        item = self._selected_table(table)
        assert item is not None
        body = {"@odata.context": self._context("EntityDefinitions") + "/$entity", **item}
        return Response.json(200, body)

    def _many_to_one(self, table: EntityDef) -> Response:
        body = {
            "@odata.context": f"{self.root}/$metadata#EntityDefinitions({metadata_id(table.logical_name)})/ManyToOneRelationships",
            "value": relationships(table),
        }
        return Response.json(200, body, collection=True)

    # -- attributes ------------------------------------------------------------------------------
    def _attributes(self, table: EntityDef, key: str | None, rest: list[str]) -> Response:
        cast: str | None = None
        if rest:
            if len(rest) > 2 or not rest[0].startswith(CRM) or rest[0][len(CRM) :] not in DERIVED_PROPERTIES:
                raise ApiError(404, f"Resource not found for the segment '{rest[0]}'.", NOT_SUPPORTED_CODE)
            cast = rest[0][len(CRM) :]
            if len(rest) == 2:
                if key is None or rest[1] != "OptionSet":
                    raise ApiError(
                        404, f"Resource not found for the segment '{rest[1]}'.", NOT_SUPPORTED_CODE
                    )
                return self._option_set_only(table, key, cast)
        allowed = BASE_ATTRIBUTE_PROPERTIES | (
            DERIVED_PROPERTIES[cast] - OPTION_SET_NAVIGATIONS if cast else frozenset()
        )
        type_name = cast or "AttributeMetadata"
        names = oq.parse_select(self.params.get("$select"))
        expand = _expand_items(self.params.get("$expand"))
        for navigation in expand:
            if cast is None or navigation not in DERIVED_PROPERTIES[cast] & OPTION_SET_NAVIGATIONS:
                raise _query_error(
                    f"Could not find a property named '{navigation}' on type '{CRM}{type_name}'."
                )
        base = f"{self.root}/$metadata#EntityDefinitions({metadata_id(table.logical_name)})/Attributes"
        context = base + (f"/{CRM}{cast}" if cast else "")
        inner = [*(names or []), *expand]
        context += f"({','.join(inner)})" if inner else ""
        if key is not None:
            found = attribute_by_key(table, key)
            if found is None or (cast is not None and found.kind[2] != cast):
                raise ApiError(
                    404,
                    f"Could not find attribute with key '{key}' on entity '{table.logical_name}'.",
                    "0x80040217",
                )
            body = {
                "@odata.context": context + "/$entity",
                **self._attribute(found, names, allowed, type_name, expand),
            }
            return Response.json(200, body)
        expr = _parse_filter(self.params.get("$filter"))
        values = [
            self._attribute(a, names, allowed, type_name, expand)
            for a in attributes(table)
            if (cast is None or a.kind[2] == cast) and _matches(expr, a.to_json(self.language))
        ]
        return Response.json(200, {"@odata.context": context, "value": values}, collection=True)

    def _attribute(
        self,
        found: Attribute,
        names: list[str] | None,
        allowed: frozenset[str],
        type_name: str,
        expand: dict[str, dict[str, str]],
    ) -> dict[str, Any]:
        out = _select(found.to_json(self.language), names, allowed, type_name)
        for navigation, options in expand.items():
            option_set = found.option_set(self.language) if navigation == "OptionSet" else None
            selected = oq.parse_select(options.get("$select"))
            out[navigation] = (
                _select(option_set, selected, set(option_set), "OptionSetMetadata") if option_set else None
            )
        return out

    def _option_set_only(self, table: EntityDef, key: str, cast: str) -> Response:
        found = attribute_by_key(table, key)
        option_set = found.option_set(self.language) if found is not None and found.kind[2] == cast else None
        if found is None or option_set is None:
            raise ApiError(
                404,
                f"Could not find attribute with key '{key}' on entity '{table.logical_name}'.",
                "0x80040217",
            )
        names = oq.parse_select(self.params.get("$select"))
        context = (
            f"{self.root}/$metadata#EntityDefinitions({metadata_id(table.logical_name)})/Attributes({found.metadata_id})"
            f"/{CRM}{cast}/OptionSet" + (f"({','.join(names)})" if names else "") + "/$entity"
        )
        body = {"@odata.context": context, **_select(option_set, names, set(option_set), "OptionSetMetadata")}
        return Response.json(200, body)


def relationships(table: EntityDef) -> list[dict[str, Any]]:
    """OneToManyRelationshipMetadata for each lookup target (the table is the referencing side)."""
    out = []
    for lookup in table.lookups.values():
        for target, navigation in lookup.targets.items():
            referenced = BY_LOGICAL_NAME.get(target)
            out.append(
                {
                    "MetadataId": metadata_id(table.logical_name, lookup.attribute, target, "relationship"),
                    "SchemaName": f"{table.logical_name}_{lookup.attribute}_{target}",
                    "RelationshipType": "OneToManyRelationship",
                    "ReferencedEntity": target,
                    "ReferencedAttribute": referenced.primary_key if referenced else f"{target}id",
                    "ReferencingEntity": table.logical_name,
                    "ReferencingAttribute": lookup.attribute,
                    "ReferencingEntityNavigationPropertyName": navigation,
                    "IsCustomRelationship": False,
                    "HasChanged": None,
                }
            )
    return out
