"""Table definitions of the Dataverse stand-in as the Web API serves them: EntityMetadata and AttributeMetadata
(with their derived types and option sets) built from :mod:`.schema` (types, lengths, lookups) and :mod:`.labels`
(names in English and German). Identifiers (``MetadataId``) are stable: derived from the logical names.

Shapes follow PAD ``webapi/query-metadata-web-api.md`` and the metadata entity type reference."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from wizard.sandbox.dataverse import labels
from wizard.sandbox.dataverse.schema import (
    BIGINT,
    BOOL,
    BY_LOGICAL_NAME,
    CHOICE,
    DATETIME,
    DECIMAL,
    DEFAULT_STATUS,
    FLOAT,
    GUID,
    INT,
    MEMO,
    STATUS_STATE,
    STRING,
    Column,
    EntityDef,
    Lookup,
)

_NAMESPACE = uuid.UUID("6f1c2a4e-0d36-4c57-9a51-5b1e2f0d9c11")

NONE, RECOMMENDED, APPLICATION_REQUIRED, SYSTEM_REQUIRED = (
    "None",
    "Recommended",
    "ApplicationRequired",
    "SystemRequired",
)

#: (table, column) -> RequiredLevel beyond the primary key, owner and state/status (always SystemRequired)
REQUIRED_LEVELS: dict[tuple[str, str], str] = {
    ("contact", "lastname"): APPLICATION_REQUIRED,
    ("account", "name"): APPLICATION_REQUIRED,
    ("lead", "lastname"): APPLICATION_REQUIRED,
    ("lead", "subject"): APPLICATION_REQUIRED,
    ("lead", "companyname"): RECOMMENDED,
    ("appointment", "subject"): APPLICATION_REQUIRED,
    ("recurringappointmentmaster", "subject"): APPLICATION_REQUIRED,
    ("task", "subject"): APPLICATION_REQUIRED,
    ("userquery", "name"): SYSTEM_REQUIRED,
    ("userquery", "returnedtypecode"): SYSTEM_REQUIRED,
    ("userquery", "fetchxml"): SYSTEM_REQUIRED,
    ("savedquery", "name"): SYSTEM_REQUIRED,
    ("savedquery", "returnedtypecode"): SYSTEM_REQUIRED,
    ("savedquery", "querytype"): SYSTEM_REQUIRED,
}

#: schema kind -> (AttributeType, AttributeTypeName, derived metadata type)
_KINDS: dict[str, tuple[str, str, str]] = {
    STRING: ("String", "StringType", "StringAttributeMetadata"),
    MEMO: ("Memo", "MemoType", "MemoAttributeMetadata"),
    INT: ("Integer", "IntegerType", "IntegerAttributeMetadata"),
    BIGINT: ("BigInt", "BigIntType", "BigIntAttributeMetadata"),
    BOOL: ("Boolean", "BooleanType", "BooleanAttributeMetadata"),
    DATETIME: ("DateTime", "DateTimeType", "DateTimeAttributeMetadata"),
    DECIMAL: ("Decimal", "DecimalType", "DecimalAttributeMetadata"),
    FLOAT: ("Double", "DoubleType", "DoubleAttributeMetadata"),
    GUID: ("Uniqueidentifier", "UniqueidentifierType", "UniqueIdentifierAttributeMetadata"),
}
_MONEY = ("Money", "MoneyType", "MoneyAttributeMetadata")
_CHOICES = {
    "statecode": ("State", "StateType", "StateAttributeMetadata"),
    "statuscode": ("Status", "StatusType", "StatusAttributeMetadata"),
}
_PICKLIST = ("Picklist", "PicklistType", "PicklistAttributeMetadata")
_LOOKUP_TYPES = {"ownerid": ("Owner", "OwnerType"), "parentcustomerid": ("Customer", "CustomerType")}

#: properties every AttributeMetadata has (what ``$select`` may name without a cast)
BASE_ATTRIBUTE_PROPERTIES = frozenset(
    {
        "MetadataId",
        "LogicalName",
        "SchemaName",
        "EntityLogicalName",
        "AttributeType",
        "AttributeTypeName",
        "AttributeOf",
        "ColumnNumber",
        "DisplayName",
        "Description",
        "RequiredLevel",
        "IsPrimaryId",
        "IsPrimaryName",
        "IsCustomAttribute",
        "IsValidForCreate",
        "IsValidForUpdate",
        "IsValidForRead",
        "IsLogical",
        "HasChanged",
    }
)
#: the extra properties of each derived type the stand-in fills in
DERIVED_PROPERTIES: dict[str, frozenset[str]] = {
    "StringAttributeMetadata": frozenset({"MaxLength", "DatabaseLength", "Format", "FormatName"}),
    "MemoAttributeMetadata": frozenset({"MaxLength", "Format"}),
    "IntegerAttributeMetadata": frozenset({"MinValue", "MaxValue", "Format"}),
    "BigIntAttributeMetadata": frozenset({"MinValue", "MaxValue"}),
    "BooleanAttributeMetadata": frozenset({"DefaultValue"}),
    "DateTimeAttributeMetadata": frozenset({"Format", "DateTimeBehavior"}),
    "DecimalAttributeMetadata": frozenset({"Precision", "MinValue", "MaxValue"}),
    "MoneyAttributeMetadata": frozenset({"Precision", "MinValue", "MaxValue"}),
    "DoubleAttributeMetadata": frozenset({"Precision", "MinValue", "MaxValue"}),
    "UniqueIdentifierAttributeMetadata": frozenset(),
    "PicklistAttributeMetadata": frozenset({"DefaultFormValue", "OptionSet", "GlobalOptionSet"}),
    "StateAttributeMetadata": frozenset({"DefaultFormValue", "OptionSet"}),
    "StatusAttributeMetadata": frozenset({"DefaultFormValue", "OptionSet"}),
    "LookupAttributeMetadata": frozenset({"Targets", "Format"}),
}
#: navigation properties (only with ``$expand``)
OPTION_SET_NAVIGATIONS = frozenset({"OptionSet", "GlobalOptionSet"})


def metadata_id(*parts: str) -> str:
    """A stable GUID for a metadata item (the same on every run and in every environment)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def label(english: str, german: str, language: int, *owner: str) -> dict[str, Any]:
    """A Label complex type: both localized labels and the one in the caller's language."""
    localized = [
        {
            "Label": text,
            "LanguageCode": code,
            "IsManaged": True,
            "MetadataId": metadata_id(*owner, "label", str(code)),
            "HasChanged": None,
        }
        for text, code in ((english, labels.ENGLISH), (german, labels.GERMAN))
    ]
    user = next((item for item in localized if item["LanguageCode"] == language), localized[0])
    return {"LocalizedLabels": localized, "UserLocalizedLabel": dict(user)}


def _empty_label() -> dict[str, Any]:
    return {"LocalizedLabels": [], "UserLocalizedLabel": None}


@dataclass(frozen=True)
class Attribute:
    """One column or lookup of a table, as AttributeMetadata describes it."""

    table: EntityDef
    logical_name: str
    column: Column | None
    lookup: Lookup | None

    @property
    def kind(self) -> tuple[str, str, str]:
        """(AttributeType, AttributeTypeName, derived type name)."""
        if self.lookup is not None:
            kind, type_name = _LOOKUP_TYPES.get(self.logical_name, ("Lookup", "LookupType"))
            return kind, type_name, "LookupAttributeMetadata"
        assert self.column is not None
        if self.column.kind == CHOICE:
            return _CHOICES.get(self.logical_name, _PICKLIST)
        if self.column.kind == DECIMAL and self.logical_name == "revenue":
            return _MONEY
        return _KINDS[self.column.kind]

    @property
    def metadata_id(self) -> str:
        return metadata_id(self.table.logical_name, self.logical_name)

    @property
    def required_level(self) -> str:
        table = self.table.logical_name
        if self.logical_name in (self.table.primary_key, "ownerid", "statecode", "statuscode"):
            return SYSTEM_REQUIRED
        return REQUIRED_LEVELS.get((table, self.logical_name), NONE)

    @property
    def max_length(self) -> int | None:
        return self.column.max_length if self.column is not None else None

    @property
    def valid_for_create(self) -> bool:
        if self.logical_name in ("createdby", "modifiedby", "owningbusinessunit"):
            return False
        return not (self.column is not None and self.column.read_only)

    @property
    def valid_for_update(self) -> bool:
        return self.valid_for_create and self.logical_name != self.table.primary_key

    def options(self) -> dict[int, tuple[str, str]]:
        return labels.option_labels(self.table.logical_name, self.logical_name)

    def to_json(self, language: int) -> dict[str, Any]:
        table = self.table.logical_name
        attribute_type, type_name, derived = self.kind
        schema, english, german = labels.column_names(table, self.logical_name)
        out: dict[str, Any] = {
            "@odata.type": f"#Microsoft.Dynamics.CRM.{derived}",
            "MetadataId": self.metadata_id,
            "LogicalName": self.logical_name,
            "SchemaName": schema,
            "EntityLogicalName": table,
            "AttributeType": attribute_type,
            "AttributeTypeName": {"Value": type_name},
            "AttributeOf": None,
            "ColumnNumber": None,
            "DisplayName": label(english, german, language, table, self.logical_name),
            "Description": _empty_label(),
            "RequiredLevel": {
                "Value": self.required_level,
                "CanBeChanged": self.required_level != SYSTEM_REQUIRED,
                "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
            },
            "IsPrimaryId": self.logical_name == self.table.primary_key,
            "IsPrimaryName": self.logical_name == self.table.primary_name,
            "IsCustomAttribute": False,
            "IsValidForCreate": self.valid_for_create,
            "IsValidForUpdate": self.valid_for_update,
            "IsValidForRead": True,
            "IsLogical": False,
            "HasChanged": None,
        }
        if derived in ("StringAttributeMetadata", "MemoAttributeMetadata"):
            out["MaxLength"] = self.max_length
            out["Format"] = "Email" if self.logical_name.startswith("emailaddress") else "Text"
            if derived == "StringAttributeMetadata":
                out["DatabaseLength"] = (self.max_length or 0) * 2
                out["FormatName"] = {"Value": out["Format"]}
        elif derived == "IntegerAttributeMetadata":
            out.update(MinValue=-2_147_483_648, MaxValue=2_147_483_647, Format="None")
        elif derived == "BigIntAttributeMetadata":
            out.update(MinValue=-9_223_372_036_854_775_808, MaxValue=9_223_372_036_854_775_807)
        elif derived == "BooleanAttributeMetadata":
            out["DefaultValue"] = bool(self.table.defaults.get(self.logical_name, False))
        elif derived == "DateTimeAttributeMetadata":
            out.update(Format="DateAndTime", DateTimeBehavior={"Value": "UserLocal"})
        elif derived in ("DecimalAttributeMetadata", "MoneyAttributeMetadata", "DoubleAttributeMetadata"):
            out.update(Precision=2, MinValue=-100_000_000_000, MaxValue=100_000_000_000)
        elif derived in ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata"):
            default = self.table.defaults.get(self.logical_name)
            out["DefaultFormValue"] = default if isinstance(default, int) else -1
        elif derived == "LookupAttributeMetadata":
            assert self.lookup is not None
            out["Targets"] = list(self.lookup.targets)
            out["Format"] = None
        return out

    def option_set(self, language: int) -> dict[str, Any] | None:
        """The OptionSet navigation property's value (choice columns only)."""
        attribute_type, _type_name, derived = self.kind
        if derived not in ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata"):
            return None
        table = self.table.logical_name
        _schema, english, german = labels.column_names(table, self.logical_name)
        states = _state_of_status(self.table) if attribute_type == "Status" else {}
        default_status = _default_status(self.table) if attribute_type == "State" else {}
        options = []
        for value, (option_en, option_de) in self.options().items():
            option: dict[str, Any] = {
                "Value": value,
                "Label": label(option_en, option_de, language, table, self.logical_name, str(value)),
                "Description": _empty_label(),
                "Color": None,
                "IsManaged": True,
                "MetadataId": None,
                "HasChanged": None,
            }
            if attribute_type == "Status":
                option["State"] = states.get(value)
            if attribute_type == "State":
                option["DefaultStatus"] = default_status.get(value)
                option["InvariantName"] = option_en.replace(" ", "")
            options.append(option)
        return {
            "MetadataId": metadata_id(table, self.logical_name, "optionset"),
            "Name": f"{table}_{self.logical_name}",
            "OptionSetType": attribute_type,
            "IsGlobal": False,
            "IsCustomOptionSet": False,
            "IsManaged": True,
            "DisplayName": label(english, german, language, table, self.logical_name, "optionset"),
            "Description": _empty_label(),
            "Options": options,
            "IsCustomizable": {
                "Value": True,
                "CanBeChanged": False,
                "ManagedPropertyLogicalName": "iscustomizable",
            },
            "IntroducedVersion": None,
            "HasChanged": None,
        }


def _state_of_status(table: EntityDef) -> dict[int, int]:
    return STATUS_STATE.get(table.logical_name, {})


def _default_status(table: EntityDef) -> dict[int, int]:
    return DEFAULT_STATUS.get(table.logical_name, {})


def attributes(table: EntityDef) -> list[Attribute]:
    """Every attribute of a table: its columns, then its lookups (by logical name)."""
    out = [Attribute(table, name, column, None) for name, column in table.columns.items()]
    out += [Attribute(table, name, None, lookup) for name, lookup in table.lookups.items()]
    return out


def attribute(table: EntityDef, logical_name: str) -> Attribute | None:
    if logical_name in table.columns:
        return Attribute(table, logical_name, table.columns[logical_name], None)
    if logical_name in table.lookups:
        return Attribute(table, logical_name, None, table.lookups[logical_name])
    return None


_ACTIVITY_PARTIES = frozenset({"account", "contact", "lead", "systemuser"})
_ORGANIZATION_OWNED = frozenset({"organization", "businessunit", "savedquery"})
_NOT_OWNED = frozenset({"systemuser", "usersettings", "activityparty"})


def entity_json(table: EntityDef, language: int, tracking: bool) -> dict[str, Any]:
    """EntityMetadata of one table (without its navigation properties)."""
    name = table.logical_name
    schema, english, english_plural, german, german_plural, type_code = labels.table_names(name)
    if name in _ORGANIZATION_OWNED:
        ownership = "OrganizationOwned"
    elif name in _NOT_OWNED:
        ownership = "BusinessOwned" if name == "systemuser" else "None"
    else:
        ownership = "UserOwned"
    return {
        "MetadataId": metadata_id(name),
        "LogicalName": name,
        "SchemaName": schema,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": schema + ("es" if schema.endswith(("s", "x")) else "s"),
        "PrimaryIdAttribute": table.primary_key,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": type_code,
        "OwnershipType": ownership,
        "ChangeTrackingEnabled": tracking,
        "IsActivity": table.is_activity,
        "IsActivityParty": name in _ACTIVITY_PARTIES,
        "IsCustomEntity": False,
        "IsIntersect": False,
        "IsValidForAdvancedFind": name not in ("activityparty", "usersettings"),
        "DisplayName": label(english, german, language, name, "displayname"),
        "DisplayCollectionName": label(english_plural, german_plural, language, name, "collectionname"),
        "Description": _empty_label(),
        "HasChanged": None,
    }


def table_by_key(key: str) -> EntityDef | None:
    """The table an ``EntityDefinitions(...)`` key names: ``LogicalName='x'`` or a MetadataId."""
    key = key.strip()
    if key.startswith("LogicalName="):
        return BY_LOGICAL_NAME.get(key.split("=", 1)[1].strip().strip("'"))
    bare = key.strip("'").lower()
    return next((t for t in BY_LOGICAL_NAME.values() if metadata_id(t.logical_name) == bare), None)


def attribute_by_key(table: EntityDef, key: str) -> Attribute | None:
    key = key.strip()
    if key.startswith("LogicalName="):
        return attribute(table, key.split("=", 1)[1].strip().strip("'"))
    bare = key.strip("'").lower()
    return next((a for a in attributes(table) if a.metadata_id == bare), None)
