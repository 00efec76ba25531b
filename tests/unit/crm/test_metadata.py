"""Reading table and column definitions in the Web API's documented shapes (wizard.crm.metadata)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from wizard.crm.metadata import (
    GERMAN,
    Attribute,
    Label,
    TableDefinition,
    parse_attribute,
    parse_table,
    read_table,
)
from wizard.odata.errors import (
    MalformedResponseError,
    NotFoundError,
    ODataError,
    ServerError,
    ValidationError,
)


def _label(english: str, german: str) -> dict[str, Any]:
    """A ``Label`` as the Web API writes it (Query table definitions using the Web API)."""
    return {
        "LocalizedLabels": [
            {
                "Label": english,
                "LanguageCode": 1033,
                "IsManaged": True,
                "MetadataId": "x",
                "HasChanged": None,
            },
            {"Label": german, "LanguageCode": 1031, "IsManaged": True, "MetadataId": "y", "HasChanged": None},
        ],
        "UserLocalizedLabel": {"Label": english, "LanguageCode": 1033},
    }


CONTACT = {
    "@odata.context": "https://org.crm.dynamics.com/api/data/v9.2/$metadata#EntityDefinitions(...)/$entity",
    "LogicalName": "contact",
    "EntitySetName": "contacts",
    "PrimaryIdAttribute": "contactid",
    "PrimaryNameAttribute": "fullname",
    "MetadataId": "608861bc-50a4-4c5f-a02c-21fe1943e2cf",
    "DisplayName": _label("Contact", "Kontakt"),
    "Attributes": [
        {
            "@odata.type": "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
            "LogicalName": "lastname",
            "AttributeType": "String",
            "RequiredLevel": {
                "Value": "ApplicationRequired",
                "CanBeChanged": True,
                "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
            },
            "DisplayName": _label("Last Name", "Nachname"),
            "IsValidForCreate": True,
            "IsValidForUpdate": True,
        },
        {
            "@odata.type": "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            "LogicalName": "gendercode",
            "AttributeType": "Picklist",
            "RequiredLevel": {"Value": "None", "CanBeChanged": True},
            "DisplayName": _label("Gender", "Geschlecht"),
        },
    ],
}


class Source:
    """Answers GETs from a table of paths (the casts of read_table); an ODataError in the table is raised."""

    def __init__(self, answers: Mapping[str, dict[str, Any] | ODataError]) -> None:
        self.answers = answers
        self.paths: list[str] = []
        self.params: list[Mapping[str, Any] | None] = []

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self.paths.append(path)
        self.params.append(params)
        for suffix, answer in self.answers.items():
            if path.endswith(suffix):
                if isinstance(answer, ODataError):
                    raise answer
                return answer
        return {"value": []}


#: what an organization without the RetrieveEntity function answers (OData: no such function import)
NO_FUNCTION = NotFoundError(
    "Resource not found for the segment 'RetrieveEntity'.", status=404, code="0x80060888"
)


def test_a_table_definition_with_labels_in_both_languages() -> None:
    table = parse_table(CONTACT)
    assert (table.entity_set, table.primary_id, table.primary_name) == ("contacts", "contactid", "fullname")
    assert table.label() == "Contact" and table.label(GERMAN) == "Kontakt"
    lastname = table.attributes["lastname"]
    assert lastname.required and lastname.label(GERMAN) == "Nachname"
    assert not table.attributes["gendercode"].required
    assert Label.parse(None).text(GERMAN, "fallback") == "fallback"
    assert Label.parse({"LocalizedLabels": [{"Label": "Nur", "LanguageCode": 1031}]}).text() == "Nur"


def test_read_table_reads_the_whole_table_in_one_request() -> None:
    """RetrieveEntity (webapi/reference/retrieveentity) answers every attribute as its derived type: the
    lengths and the option sets come with the one answer."""
    attributes = [
        {**CONTACT["Attributes"][0], "MaxLength": 50},  # type: ignore[index]
        {
            **CONTACT["Attributes"][1],  # type: ignore[index]
            "OptionSet": {
                "Options": [
                    {"Value": 1, "Label": _label("Male", "Männlich")},
                    {"Value": 2, "Label": _label("Female", "Weiblich")},
                ]
            },
            "GlobalOptionSet": None,
        },
        {
            "@odata.type": "#Microsoft.Dynamics.CRM.FileAttributeMetadata",
            "LogicalName": "photo",
        },  # unknown type
    ]
    source = Source(
        {
            "RetrieveAsIfPublished=@p4)": {
                "@odata.context": "https://org.crm.dynamics.com/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.RetrieveEntityResponse",
                "EntityMetadata": {**CONTACT, "Attributes": attributes},
            }
        }
    )
    table = read_table(source, "contact")
    assert source.paths == [
        "RetrieveEntity(EntityFilters=@p1,LogicalName=@p2,MetadataId=@p3,RetrieveAsIfPublished=@p4)"
    ]
    assert source.params[0] == {
        "@p1": "Microsoft.Dynamics.CRM.EntityFilters'Attributes'",
        "@p2": "'contact'",
        "@p3": "00000000-0000-0000-0000-000000000000",
        "@p4": "false",
    }
    assert table.attributes["lastname"].max_length == 50
    gender = table.attributes["gendercode"]
    assert gender.option_values() == {1, 2} and gender.options[1].label.text(GERMAN) == "Weiblich"
    assert table.attributes["photo"].attribute_type == "" and table.label(GERMAN) == "Kontakt"
    with pytest.raises(MalformedResponseError):
        read_table(Source({"RetrieveAsIfPublished=@p4)": {"value": []}}), "contact")
    with pytest.raises(MalformedResponseError):  # another table than asked for
        read_table(Source({"RetrieveAsIfPublished=@p4)": {"EntityMetadata": CONTACT}}), "account")


def test_an_unknown_table_is_not_asked_for_again_the_older_way() -> None:
    missing = NotFoundError("Could not find entity with name 'nosuch'.", status=404, code="0x80040217")
    source = Source({"RetrieveAsIfPublished=@p4)": missing})
    with pytest.raises(NotFoundError):
        read_table(source, "nosuch")
    assert len(source.paths) == 1
    refused = ValidationError("The user has no right to read it.", status=400, code="0x80040220")
    with pytest.raises(ValidationError):
        read_table(Source({"RetrieveAsIfPublished=@p4)": refused}), "contact")


@pytest.mark.parametrize(
    "refusal",
    [
        NO_FUNCTION,
        ServerError("Not Implemented", status=501, code=""),
        ValidationError("The function RetrieveEntity is not supported.", status=400, code="0x80040800"),
    ],
)
def test_read_table_takes_lengths_and_options_from_the_casts(refusal: ODataError) -> None:
    """An organization that refuses RetrieveEntity (an older on-premises version) is read the older way."""
    source = Source(
        {
            "RetrieveAsIfPublished=@p4)": refusal,
            "EntityDefinitions(LogicalName='contact')": CONTACT,
            "StringAttributeMetadata": {"value": [{"LogicalName": "lastname", "MaxLength": 50}]},
            "PicklistAttributeMetadata": {
                "value": [
                    {
                        "LogicalName": "gendercode",
                        "OptionSet": {
                            "Options": [
                                {"Value": 1, "Label": _label("Male", "Männlich")},
                                {"Value": 2, "Label": _label("Female", "Weiblich")},
                            ]
                        },
                    }
                ]
            },
        }
    )
    table = read_table(source, "contact")
    assert table.attributes["lastname"].max_length == 50
    gender = table.attributes["gendercode"]
    assert gender.option_values() == {1, 2} and gender.options[1].label.text(GERMAN) == "Weiblich"
    assert len(source.paths) == 1 + 6  # refused; the table with its columns, then one per derived type
    assert any(
        p.endswith("/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata") for p in source.paths
    )
    # kept for offline use: a round trip through JSON changes nothing
    assert TableDefinition.from_json(table.to_json()) == table


def test_bad_definitions_are_refused_clearly() -> None:
    with pytest.raises(ValueError):
        read_table(Source({}), "contact'); DROP")
    with pytest.raises(MalformedResponseError):
        read_table(
            Source({"RetrieveAsIfPublished=@p4)": {"EntityMetadata": {"LogicalName": "contact"}}}), "contact"
        )
    with pytest.raises(MalformedResponseError):
        read_table(
            Source(
                {
                    "RetrieveAsIfPublished=@p4)": NO_FUNCTION,
                    "EntityDefinitions(LogicalName='contact')": {"LogicalName": "contact"},
                }
            ),
            "contact",
        )
    with pytest.raises(ValueError):
        parse_attribute({"AttributeType": "String"})
    assert Attribute.from_json(parse_attribute({"LogicalName": "x"}).to_json()).required_level == "None"
