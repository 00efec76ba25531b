"""``GET …/$metadata``: the CSDL (OData v4 XML) service description of the stand-in's tables.

One ``EntityType`` per table in :mod:`.schema` (``Key``, a ``Property`` per column with its Edm type, the
``_x_value`` lookup properties, a ``NavigationProperty`` per lookup target), an ``EntitySet`` per table in the
``System`` container, the ``WhoAmI`` function, and the ``RetrieveEntity`` function with the table-definition
types it answers with (``EntityMetadata``, ``AttributeMetadata``, the ``EntityFilters`` flags). Follows PAD ``webapi/web-api-service-documents.md`` (the
namespace ``Microsoft.Dynamics.CRM``, alias ``mscrm``, base type ``crmbaseentity``) and OData CSDL XML 4.0."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from wizard.sandbox.dataverse.schema import (
    BIGINT,
    BOOL,
    BY_LOGICAL_NAME,
    CHOICE,
    DATETIME,
    DECIMAL,
    ENTITIES,
    FLOAT,
    GUID,
    INT,
    MEMO,
    STRING,
    EntityDef,
)

NAMESPACE = "Microsoft.Dynamics.CRM"
EDM_TYPES = {
    STRING: "Edm.String",
    MEMO: "Edm.String",
    INT: "Edm.Int32",
    BIGINT: "Edm.Int64",
    BOOL: "Edm.Boolean",
    DATETIME: "Edm.DateTimeOffset",
    DECIMAL: "Edm.Decimal",
    FLOAT: "Edm.Double",
    GUID: "Edm.Guid",
    CHOICE: "Edm.Int32",
}


def _entity_type(definition: EntityDef) -> list[str]:
    lines = [
        f'<EntityType Name="{definition.logical_name}" BaseType="mscrm.crmbaseentity">',
        f'<Key><PropertyRef Name="{definition.primary_key}"/></Key>',
    ]
    for column in definition.columns.values():
        attrs = f'Name="{column.name}" Type="{EDM_TYPES[column.kind]}"'
        if column.name == definition.primary_key:
            attrs += ' Nullable="false"'
        if column.kind in (STRING, MEMO):
            attrs += ' Unicode="false"'
        lines.append(f"<Property {attrs}/>")
    for lookup in definition.lookups.values():
        lines.append(f'<Property Name="{lookup.value_name}" Type="Edm.Guid"/>')
    for lookup in definition.lookups.values():
        for target, navigation in lookup.targets.items():
            referenced = BY_LOGICAL_NAME.get(target)
            if referenced is None:  # a table the stand-in does not have (queue, activitypointer)
                continue
            lines += [
                f'<NavigationProperty Name="{navigation}" Type="mscrm.{target}">',
                f'<ReferentialConstraint Property="{lookup.value_name}" '
                f'ReferencedProperty="{referenced.primary_key}"/>',
                "</NavigationProperty>",
            ]
    if definition.party_collection:
        lines.append(
            f'<NavigationProperty Name="{definition.party_collection}" Type="Collection(mscrm.activityparty)"/>'
        )
    lines.append("</EntityType>")
    return lines


def _entity_set(definition: EntityDef) -> list[str]:
    known = {d.logical_name: d.entity_set for d in ENTITIES.values()}
    lines = [f'<EntitySet Name="{definition.entity_set}" EntityType="{NAMESPACE}.{definition.logical_name}">']
    for lookup in definition.lookups.values():
        for target, navigation in lookup.targets.items():
            if target in known:
                lines.append(
                    f"<NavigationPropertyBinding Path={quoteattr(navigation)} Target={quoteattr(known[target])}/>"
                )
    lines.append("</EntitySet>")
    return lines


def _metadata_declarations() -> list[str]:
    """The table-definition types the ``RetrieveEntity`` function answers with (reduced to the properties every
    metadata item has), the ``EntityFilters`` flags and the function itself (webapi/reference/retrieveentity)."""
    members = [
        f'<Member Name="{name}" Value="{value}"/>'
        for name, value in (
            ("Entity", 1),
            ("Default", 1),
            ("Attributes", 2),
            ("Privileges", 4),
            ("Relationships", 8),
            ("All", 15),
        )
    ]
    return [
        '<EntityType Name="MetadataBase" Abstract="true">',
        '<Key><PropertyRef Name="MetadataId"/></Key>',
        '<Property Name="MetadataId" Type="Edm.Guid" Nullable="false"/>',
        '<Property Name="HasChanged" Type="Edm.Boolean"/>',
        "</EntityType>",
        '<EntityType Name="AttributeMetadata" BaseType="mscrm.MetadataBase">',
        '<Property Name="LogicalName" Type="Edm.String" Unicode="false"/>',
        '<Property Name="AttributeType" Type="Edm.String" Unicode="false"/>',
        "</EntityType>",
        '<EntityType Name="EntityMetadata" BaseType="mscrm.MetadataBase">',
        '<Property Name="LogicalName" Type="Edm.String" Unicode="false"/>',
        '<Property Name="EntitySetName" Type="Edm.String" Unicode="false"/>',
        '<Property Name="PrimaryIdAttribute" Type="Edm.String" Unicode="false"/>',
        '<Property Name="PrimaryNameAttribute" Type="Edm.String" Unicode="false"/>',
        '<NavigationProperty Name="Attributes" Type="Collection(mscrm.AttributeMetadata)"/>',
        "</EntityType>",
        '<EnumType Name="EntityFilters" UnderlyingType="Edm.Int32" IsFlags="true">',
        *members,
        "</EnumType>",
        '<ComplexType Name="RetrieveEntityResponse">',
        '<Property Name="EntityMetadata" Type="mscrm.EntityMetadata" Nullable="false"/>',
        "</ComplexType>",
        '<Function Name="RetrieveEntity">',
        '<Parameter Name="EntityFilters" Type="mscrm.EntityFilters" Nullable="false"/>',
        '<Parameter Name="LogicalName" Type="Edm.String" Unicode="false"/>',
        '<Parameter Name="MetadataId" Type="Edm.Guid" Nullable="false"/>',
        '<Parameter Name="RetrieveAsIfPublished" Type="Edm.Boolean" Nullable="false"/>',
        '<ReturnType Type="mscrm.RetrieveEntityResponse" Nullable="false"/>',
        "</Function>",
    ]


def csdl_document() -> str:
    """The whole ``$metadata`` document."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        "<edmx:DataServices>",
        f'<Schema Namespace="{NAMESPACE}" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
        '<EntityType Name="crmbaseentity" Abstract="true"/>',
    ]
    for definition in ENTITIES.values():
        lines += _entity_type(definition)
    lines += [
        '<ComplexType Name="WhoAmIResponse">',
        '<Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/>',
        '<Property Name="UserId" Type="Edm.Guid" Nullable="false"/>',
        '<Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/>',
        "</ComplexType>",
        '<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function>',
        *_metadata_declarations(),
        '<EntityContainer Name="System">',
    ]
    for definition in ENTITIES.values():
        lines += _entity_set(definition)
    lines += [
        '<EntitySet Name="EntityDefinitions" EntityType="Microsoft.Dynamics.CRM.EntityMetadata"/>',
        '<FunctionImport Name="WhoAmI" Function="Microsoft.Dynamics.CRM.WhoAmI"/>',
        '<FunctionImport Name="RetrieveEntity" Function="Microsoft.Dynamics.CRM.RetrieveEntity"/>',
        "</EntityContainer>",
        "</Schema>",
        "</edmx:DataServices>",
        "</edmx:Edmx>",
    ]
    return "\n".join(lines)
