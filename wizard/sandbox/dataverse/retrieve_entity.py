"""``GET …/RetrieveEntity(EntityFilters=@p1,LogicalName=@p2,MetadataId=@p3,RetrieveAsIfPublished=@p4)``: one
table's whole definition in one request, as the Web API's ``RetrieveEntity`` function answers it.

Documented at learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrieveentity (parameters
``EntityFilters`` (the flags enum ``EntityFilters``: Entity = Default = 1, Attributes = 2, Privileges = 4,
Relationships = 8, All = 15; not nullable), ``LogicalName`` (``Edm.String``, nullable), ``MetadataId``
(``Edm.Guid``, not nullable), ``RetrieveAsIfPublished`` (``Edm.Boolean``, not nullable); return type
``RetrieveEntityResponse`` with its one property ``EntityMetadata``) and "Use Web API functions"
(…/webapi/use-web-api-functions: parameter values inline or as ``@alias`` query parameters; enum values written
``Microsoft.Dynamics.CRM.EntityFilters'Attributes'``, several flags ``'Entity,Attributes'``). Unlike
``EntityDefinitions(…)?$expand=Attributes`` (only the common AttributeMetadata properties, "query-metadata-web-api"),
the function answers each attribute as its derived type with that type's properties and, for choices, its
``OptionSet`` inline — what the organization service's ``RetrieveEntityRequest`` returns.

Errors: parameters that bind to no overload (an unknown or a missing required name) are 404 "Resource not found
for the segment" as for any unknown function; a value that is no literal of the parameter's type, or an alias
that is not given, is 400; neither a name nor a MetadataId is 400; an unknown table is 404 ``0x80040217``. The
stand-in has no unpublished customizations, so ``RetrieveAsIfPublished`` changes nothing, and it knows no
privileges (``Privileges`` is an empty list) or many-to-many relationships."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from wizard.sandbox.dataverse.definitions import CRM, relationships
from wizard.sandbox.dataverse.metadata import attributes, entity_json, table_by_key
from wizard.sandbox.dataverse.protocol import GUID_RE, NOT_SUPPORTED_CODE, ApiError, Response
from wizard.sandbox.dataverse.schema import BY_LOGICAL_NAME, EntityDef

NAME = "RetrieveEntity"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
#: the EntityFilters flags (Microsoft.Xrm.Sdk.Metadata.EntityFilters; the Web API enum type of the same name)
ENTITY_FILTERS = {"Entity": 1, "Default": 1, "Attributes": 2, "Privileges": 4, "Relationships": 8, "All": 15}
PARAMETERS = ("EntityFilters", "LogicalName", "MetadataId", "RetrieveAsIfPublished")
REQUIRED = frozenset({"EntityFilters", "MetadataId", "RetrieveAsIfPublished"})
NOT_FOUND_CODE = "0x80040217"
INVALID_ARGUMENT_CODE = "0x80040203"
_ENUM_RE = re.compile(r"^Microsoft\.Dynamics\.CRM\.EntityFilters'(?P<members>[^']*)'$")
_FUNCTION_RE = re.compile(rf"^{NAME}\((?P<arguments>.*)\)$", re.DOTALL)


def is_call(segment: str) -> bool:
    """Whether a path segment calls this function (with or without arguments)."""
    return segment == NAME or segment.startswith(NAME + "(")


def _syntax_error(text: str) -> ApiError:
    return ApiError(400, f"Bad Request - Error in query syntax: {text}", NOT_SUPPORTED_CODE)


def _no_overload(segment: str) -> ApiError:
    return ApiError(404, f"Resource not found for the segment '{segment}'.", NOT_SUPPORTED_CODE)


def split_arguments(text: str) -> list[tuple[str, str]]:
    """``a=1,b='x,y'`` -> [("a", "1"), ("b", "'x,y'")]: commas inside quotes ('' is a quote) do not split."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise _syntax_error(f"unterminated string literal in '{text}'")
    parts.append("".join(current))
    out: list[tuple[str, str]] = []
    for part in parts:
        if not part.strip():
            continue
        name, equals, value = part.partition("=")
        if not equals:
            raise _syntax_error(f"'{part}' is not name=value")
        out.append((name.strip(), value.strip()))
    return out


def _resolve(value: str, params: Mapping[str, str]) -> str:
    if value.startswith("@"):
        if value not in params:
            raise _syntax_error(f"the parameter alias '{value}' has no value in the query")
        return params[value].strip()
    return value


def _filters(value: str) -> int:
    match = _ENUM_RE.match(value)
    if match is None:
        raise _syntax_error(f"'{value}' is not a value of the enum type '{CRM}EntityFilters'")
    flags = 0
    for member in match.group("members").split(","):
        member = member.strip()
        if member not in ENTITY_FILTERS:
            raise _syntax_error(f"'{member}' is not a member of the enum type '{CRM}EntityFilters'")
        flags |= ENTITY_FILTERS[member]
    return flags


def _string(value: str) -> str | None:
    if value == "null":
        return None
    if len(value) < 2 or not (value.startswith("'") and value.endswith("'")):
        raise _syntax_error(f"'{value}' is not an Edm.String literal")
    return value[1:-1].replace("''", "'")


def _guid(value: str) -> str:
    if not GUID_RE.match(value):
        raise _syntax_error(f"'{value}' is not an Edm.Guid literal")
    return value.lower()


def _boolean(value: str) -> bool:
    if value not in ("true", "false"):
        raise _syntax_error(f"'{value}' is not an Edm.Boolean literal")
    return value == "true"


def _table(logical_name: str | None, metadata: str) -> EntityDef:
    if metadata != EMPTY_GUID:
        found = table_by_key(metadata)
        if found is None:
            raise ApiError(404, f"Could not find entity with MetadataId '{metadata}'.", NOT_FOUND_CODE)
        return found
    if not logical_name:
        raise ApiError(400, "Either LogicalName or MetadataId must be given.", INVALID_ARGUMENT_CODE)
    found = BY_LOGICAL_NAME.get(logical_name)
    if found is None:
        raise ApiError(404, f"Could not find entity with name '{logical_name}'.", NOT_FOUND_CODE)
    return found


def _one_to_many(table: EntityDef) -> list[dict[str, Any]]:
    """The relationships in which other tables (or this one) refer to ``table``."""
    return [
        relationship
        for other in sorted(BY_LOGICAL_NAME.values(), key=lambda t: t.logical_name)
        for relationship in relationships(other)
        if relationship["ReferencedEntity"] == table.logical_name
    ]


def entity_metadata(table: EntityDef, flags: int, language: int, tracking: bool) -> dict[str, Any]:
    """The EntityMetadata the function answers for ``flags``: attributes as their derived types with option
    sets inline, relationships and privileges when asked for."""
    out = entity_json(table, language, tracking)
    if flags & ENTITY_FILTERS["Attributes"]:
        items = []
        for attribute in attributes(table):
            item = attribute.to_json(language)
            option_set = attribute.option_set(language)
            if option_set is not None:
                item["OptionSet"] = option_set
                item["GlobalOptionSet"] = None
            items.append(item)
        out["Attributes"] = items
    if flags & ENTITY_FILTERS["Privileges"]:
        out["Privileges"] = []
    if flags & ENTITY_FILTERS["Relationships"]:
        out["ManyToOneRelationships"] = relationships(table)
        out["OneToManyRelationships"] = _one_to_many(table)
        out["ManyToManyRelationships"] = []
    return out


def handle(
    method: str,
    segment: str,
    params: Mapping[str, str],
    root: str,
    language: int,
    tracking: Callable[[str], bool],
) -> Response:
    """Answer one call of the function (``segment`` is the whole path segment with its arguments)."""
    if method != "GET":
        raise ApiError(405, f"The requested resource does not support http method '{method}'.")
    match = _FUNCTION_RE.match(segment)
    if match is None:
        raise _no_overload(segment)
    arguments = split_arguments(match.group("arguments"))
    names = [name for name, _value in arguments]
    if len(set(names)) != len(names) or not set(names) <= set(PARAMETERS) or not set(names) >= REQUIRED:
        raise _no_overload(NAME)
    values = {name: _resolve(value, params) for name, value in arguments}
    flags = _filters(values["EntityFilters"])
    logical_name = _string(values["LogicalName"]) if "LogicalName" in values else None
    metadata = _guid(values["MetadataId"])
    _boolean(values["RetrieveAsIfPublished"])  # no unpublished customizations here: the same answer
    table = _table(logical_name, metadata)
    body = {
        "@odata.context": f"{root}/$metadata#{CRM}RetrieveEntityResponse",
        "EntityMetadata": entity_metadata(table, flags, language, tracking(table.entity_set)),
    }
    return Response.json(200, body)
