"""Table and column definitions (metadata) of a Dataverse environment, read through the Web API.

One request per table: the ``RetrieveEntity`` function (learn.microsoft.com/power-apps/developer/data-platform/
webapi/reference/retrieveentity; parameters passed as aliases, "Use Web API functions", .../webapi/
use-web-api-functions) with ``EntityFilters'Attributes'`` answers ``RetrieveEntityResponse.EntityMetadata``: the
table with every attribute as its derived type, ``MaxLength`` and the choices' ``OptionSet`` included.
``EntityDefinitions(...)?$expand=Attributes`` cannot do that: it carries only the common AttributeMetadata
properties and no option sets ("Query table definitions using the Web API", "Querying EntityMetadata attributes").
A service that refuses the function (404 "Resource not found for the segment", 501, "not supported") is read
the older way, described next: six requests.

The shapes are the documented ones ("Query table definitions using the Web API",
learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api; "Retrieve table
definitions by name or MetadataId", .../webapi/retrieve-metadata-name-metadataid):

* ``EntityDefinitions(LogicalName='contact')?$select=LogicalName,EntitySetName,PrimaryIdAttribute,
  PrimaryNameAttribute,DisplayName`` with ``$expand=Attributes($select=LogicalName,AttributeType,
  RequiredLevel,DisplayName,IsValidForCreate,IsValidForUpdate)``;
* ``DisplayName`` is a ``Label``: ``{"LocalizedLabels": [{"Label": "Contact", "LanguageCode": 1033}, ...],
  "UserLocalizedLabel": {...}}``; ``RequiredLevel`` is ``{"Value": "ApplicationRequired", ...}`` (None,
  SystemRequired, ApplicationRequired, Recommended);
* the properties of a derived attribute type need the type cast in the path: ``MaxLength`` through
  ``.../Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata`` (and ``MemoAttributeMetadata``), option
  values and labels through ``.../Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet``
  (and the State/Status casts), each option ``{"Value": 1, "Label": <Label>}``.

Values are plain dataclasses that serialize to JSON (the offline store keeps them for use without a
connection). Labels keep every language; :meth:`Label.text` picks the user's, then English, then any.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from wizard.odata.errors import ODataError, malformed

log = logging.getLogger(__name__)

ENGLISH = 1033
GERMAN = 1031

REQUIRED_LEVELS = ("None", "Recommended", "ApplicationRequired", "SystemRequired")

STRING_CAST = "Microsoft.Dynamics.CRM.StringAttributeMetadata"
MEMO_CAST = "Microsoft.Dynamics.CRM.MemoAttributeMetadata"
PICKLIST_CAST = "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
STATE_CAST = "Microsoft.Dynamics.CRM.StateAttributeMetadata"
STATUS_CAST = "Microsoft.Dynamics.CRM.StatusAttributeMetadata"

#: ``RetrieveEntity`` with its parameters as aliases (the values go in the query: :func:`_retrieve_entity_params`)
RETRIEVE_ENTITY = "RetrieveEntity(EntityFilters=@p1,LogicalName=@p2,MetadataId=@p3,RetrieveAsIfPublished=@p4)"
ENTITY_FILTERS = "Microsoft.Dynamics.CRM.EntityFilters"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
OBJECT_DOES_NOT_EXIST = "0x80040217"  # the table is unknown: no point asking the older way
NOT_SUPPORTED_CODES = frozenset({"0x80060888", "0x8006088a", "0x80040800"})

_ENTITY_SELECT = "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,DisplayName"
_ATTRIBUTE_SELECT = "LogicalName,AttributeType,RequiredLevel,DisplayName,IsValidForCreate,IsValidForUpdate"


class MetadataSource(Protocol):
    """What reading metadata needs: a JSON GET relative to the service root (an ODataSession has it)."""

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Label:
    """A localized label: language code -> text."""

    texts: dict[int, str] = field(default_factory=dict)

    def text(self, language: int = ENGLISH, default: str = "") -> str:
        if language in self.texts:
            return self.texts[language]
        if ENGLISH in self.texts:
            return self.texts[ENGLISH]
        return next(iter(self.texts.values()), default)

    @classmethod
    def parse(cls, value: Any) -> Label:
        """A ``Label`` complex value (``LocalizedLabels`` plus ``UserLocalizedLabel``); anything else: empty."""
        texts: dict[int, str] = {}
        if isinstance(value, Mapping):
            entries = list(value.get("LocalizedLabels") or [])
            user = value.get("UserLocalizedLabel")
            if isinstance(user, Mapping):
                entries.append(user)
            for entry in entries:
                if not isinstance(entry, Mapping):
                    continue
                code, text = entry.get("LanguageCode"), entry.get("Label")
                if isinstance(code, int) and isinstance(text, str) and code not in texts:
                    texts[code] = text
        return cls(texts)

    def to_json(self) -> dict[str, str]:
        return {str(code): text for code, text in self.texts.items()}

    @classmethod
    def from_json(cls, value: Mapping[str, str]) -> Label:
        return cls({int(code): str(text) for code, text in value.items()})


@dataclass(frozen=True)
class Option:
    value: int
    label: Label


@dataclass(frozen=True)
class Attribute:
    """One column: its type, requirement, length limit and options, as far as the definitions say."""

    logical_name: str
    attribute_type: str
    required_level: str = "None"
    display_name: Label = field(default_factory=Label)
    valid_for_create: bool = True
    valid_for_update: bool = True
    max_length: int | None = None
    options: tuple[Option, ...] = ()

    @property
    def required(self) -> bool:
        """Required for saving (Dataverse refuses the row without it): ApplicationRequired or SystemRequired."""
        return self.required_level in ("ApplicationRequired", "SystemRequired")

    def label(self, language: int = ENGLISH) -> str:
        return self.display_name.text(language, self.logical_name)

    def option_values(self) -> set[int]:
        return {option.value for option in self.options}

    def to_json(self) -> dict[str, Any]:
        return {
            "LogicalName": self.logical_name,
            "AttributeType": self.attribute_type,
            "RequiredLevel": self.required_level,
            "DisplayName": self.display_name.to_json(),
            "IsValidForCreate": self.valid_for_create,
            "IsValidForUpdate": self.valid_for_update,
            "MaxLength": self.max_length,
            "Options": [[o.value, o.label.to_json()] for o in self.options],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Attribute:
        return cls(
            logical_name=str(value["LogicalName"]),
            attribute_type=str(value.get("AttributeType") or ""),
            required_level=str(value.get("RequiredLevel") or "None"),
            display_name=Label.from_json(value.get("DisplayName") or {}),
            valid_for_create=bool(value.get("IsValidForCreate", True)),
            valid_for_update=bool(value.get("IsValidForUpdate", True)),
            max_length=value.get("MaxLength") if isinstance(value.get("MaxLength"), int) else None,
            options=tuple(Option(int(v), Label.from_json(lab)) for v, lab in value.get("Options") or []),
        )


@dataclass(frozen=True)
class TableDefinition:
    """One table's definition with its columns by logical name."""

    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    display_name: Label = field(default_factory=Label)
    attributes: dict[str, Attribute] = field(default_factory=dict)

    def label(self, language: int = ENGLISH) -> str:
        return self.display_name.text(language, self.logical_name)

    def to_json(self) -> dict[str, Any]:
        return {
            "LogicalName": self.logical_name,
            "EntitySetName": self.entity_set,
            "PrimaryIdAttribute": self.primary_id,
            "PrimaryNameAttribute": self.primary_name,
            "DisplayName": self.display_name.to_json(),
            "Attributes": [a.to_json() for a in self.attributes.values()],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> TableDefinition:
        attributes = [Attribute.from_json(a) for a in value.get("Attributes") or []]
        return cls(
            logical_name=str(value["LogicalName"]),
            entity_set=str(value["EntitySetName"]),
            primary_id=str(value["PrimaryIdAttribute"]),
            primary_name=str(value.get("PrimaryNameAttribute") or ""),
            display_name=Label.from_json(value.get("DisplayName") or {}),
            attributes={a.logical_name: a for a in attributes},
        )


def _required_level(value: Any) -> str:
    level = value.get("Value") if isinstance(value, Mapping) else value
    return str(level) if level in REQUIRED_LEVELS else "None"


def parse_attribute(row: Mapping[str, Any]) -> Attribute:
    """An ``AttributeMetadata`` row (any derived type) as an :class:`Attribute`."""
    name = row.get("LogicalName")
    if not isinstance(name, str) or not name:
        raise ValueError("an attribute definition without LogicalName")
    max_length = row.get("MaxLength")
    return Attribute(
        logical_name=name,
        attribute_type=str(row.get("AttributeType") or ""),
        required_level=_required_level(row.get("RequiredLevel")),
        display_name=Label.parse(row.get("DisplayName")),
        valid_for_create=row.get("IsValidForCreate") is not False,
        valid_for_update=row.get("IsValidForUpdate") is not False,
        max_length=max_length if isinstance(max_length, int) and max_length > 0 else None,
        options=parse_options(row.get("OptionSet")),
    )


def parse_options(option_set: Any) -> tuple[Option, ...]:
    """The options of an ``OptionSet`` (``{"Options": [{"Value": 1, "Label": ...}, ...]}``)."""
    if not isinstance(option_set, Mapping):
        return ()
    out: list[Option] = []
    for option in option_set.get("Options") or []:
        if isinstance(option, Mapping) and isinstance(option.get("Value"), int):
            out.append(Option(int(option["Value"]), Label.parse(option.get("Label"))))
    return tuple(out)


def parse_table(row: Mapping[str, Any]) -> TableDefinition:
    """An ``EntityMetadata`` row (with ``Attributes`` expanded or not)."""
    try:
        logical_name = str(row["LogicalName"])
        entity_set = str(row["EntitySetName"])
        primary_id = str(row["PrimaryIdAttribute"])
    except KeyError as missing:
        raise ValueError(f"a table definition without {missing.args[0]}") from None
    attributes = [parse_attribute(a) for a in row.get("Attributes") or [] if isinstance(a, Mapping)]
    return TableDefinition(
        logical_name=logical_name,
        entity_set=entity_set,
        primary_id=primary_id,
        primary_name=str(row.get("PrimaryNameAttribute") or ""),
        display_name=Label.parse(row.get("DisplayName")),
        attributes={a.logical_name: a for a in attributes},
    )


def _quoted(logical_name: str) -> str:
    if not logical_name.replace("_", "").isalnum() or not logical_name.isascii():
        raise ValueError(f"not a logical name: {logical_name!r}")
    return f"EntityDefinitions(LogicalName='{logical_name}')"


def _rows(document: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
    rows = document.get("value")
    if not isinstance(rows, list):
        raise malformed(f"{what} without a value list", status=200, url=None)
    return [row for row in rows if isinstance(row, Mapping)]


def read_table(source: MetadataSource, logical_name: str) -> TableDefinition:
    """A table's definition with its columns, their maximum lengths and option values, in one request
    (``RetrieveEntity``); where the service refuses that function, :func:`read_table_by_casts`."""
    _quoted(logical_name)  # refuses what is no logical name before anything is sent
    try:
        document = source.get_json(RETRIEVE_ENTITY, params=_retrieve_entity_params(logical_name))
    except ODataError as error:
        if not _function_refused(error):
            raise
        log.info("RetrieveEntity refused (%s): reading %s with the attribute casts", error, logical_name)
        return read_table_by_casts(source, logical_name)
    row = document.get("EntityMetadata")
    if not isinstance(row, Mapping):
        raise malformed(f"RetrieveEntity for {logical_name} without EntityMetadata", status=200, url=None)
    try:
        table = parse_table(row)
    except ValueError as error:
        raise malformed(f"the definition of {logical_name}: {error}", status=200, url=None) from None
    if table.logical_name != logical_name:
        raise malformed(
            f"RetrieveEntity for {logical_name} answered {table.logical_name}", status=200, url=None
        )
    return table


def _retrieve_entity_params(logical_name: str) -> dict[str, str]:
    return {
        "@p1": f"{ENTITY_FILTERS}'Attributes'",
        "@p2": f"'{logical_name}'",
        "@p3": EMPTY_GUID,
        "@p4": "false",
    }


def _function_refused(error: ODataError) -> bool:
    """Whether the service does not know the function (an older version), rather than the table."""
    if error.code == OBJECT_DOES_NOT_EXIST:
        return False
    if error.status in (404, 501):
        return True
    return error.status == 400 and (
        error.code in NOT_SUPPORTED_CODES or "not supported" in error.message.lower()
    )


def read_table_by_casts(source: MetadataSource, logical_name: str) -> TableDefinition:
    """A table's definition the older way: one request for the table and its columns, then one per derived
    type (string, memo, picklist, state, status)."""
    base = _quoted(logical_name)
    row = source.get_json(
        base, params={"$select": _ENTITY_SELECT, "$expand": f"Attributes($select={_ATTRIBUTE_SELECT})"}
    )
    try:
        table = parse_table(row)
    except ValueError as error:
        raise malformed(f"the definition of {logical_name}: {error}", status=200, url=None) from None
    extra: dict[str, dict[str, Any]] = {}
    for cast in (STRING_CAST, MEMO_CAST):
        document = source.get_json(f"{base}/Attributes/{cast}", params={"$select": "LogicalName,MaxLength"})
        for item in _rows(document, cast):
            if isinstance(item.get("MaxLength"), int):
                extra.setdefault(str(item.get("LogicalName")), {})["MaxLength"] = item["MaxLength"]
    for cast in (PICKLIST_CAST, STATE_CAST, STATUS_CAST):
        document = source.get_json(
            f"{base}/Attributes/{cast}",
            params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
        )
        for item in _rows(document, cast):
            extra.setdefault(str(item.get("LogicalName")), {})["OptionSet"] = item.get("OptionSet")
    attributes = dict(table.attributes)
    for name, values in extra.items():
        known = attributes.get(name)
        if known is None:
            continue
        max_length = values.get("MaxLength")
        attributes[name] = Attribute(
            logical_name=known.logical_name,
            attribute_type=known.attribute_type,
            required_level=known.required_level,
            display_name=known.display_name,
            valid_for_create=known.valid_for_create,
            valid_for_update=known.valid_for_update,
            max_length=max_length if isinstance(max_length, int) and max_length > 0 else known.max_length,
            options=parse_options(values.get("OptionSet")) or known.options,
        )
    return TableDefinition(
        logical_name=table.logical_name,
        entity_set=table.entity_set,
        primary_id=table.primary_id,
        primary_name=table.primary_name,
        display_name=table.display_name,
        attributes=attributes,
    )


def read_labels(source: MetadataSource, logical_name: str) -> dict[str, Label]:
    """The display names of a table's columns in every language the organization has (one request): what the
    Synchronization Fields dialog shows for the Dynamics 365 side."""
    document = source.get_json(
        f"{_quoted(logical_name)}/Attributes", params={"$select": "LogicalName,DisplayName"}
    )
    labels: dict[str, Label] = {}
    for row in _rows(document, f"the columns of {logical_name}"):
        name, label = row.get("LogicalName"), Label.parse(row.get("DisplayName"))
        if isinstance(name, str) and label.texts:
            labels[name] = label
    return labels
