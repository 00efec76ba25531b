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
from wizard.odata.errors import MalformedResponseError


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
    """Answers GETs from a table of paths (the casts of read_table)."""

    def __init__(self, answers: Mapping[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.paths: list[str] = []

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self.paths.append(path)
        for suffix, answer in self.answers.items():
            if path.endswith(suffix):
                return answer
        return {"value": []}


def test_a_table_definition_with_labels_in_both_languages() -> None:
    table = parse_table(CONTACT)
    assert (table.entity_set, table.primary_id, table.primary_name) == ("contacts", "contactid", "fullname")
    assert table.label() == "Contact" and table.label(GERMAN) == "Kontakt"
    lastname = table.attributes["lastname"]
    assert lastname.required and lastname.label(GERMAN) == "Nachname"
    assert not table.attributes["gendercode"].required
    assert Label.parse(None).text(GERMAN, "fallback") == "fallback"
    assert Label.parse({"LocalizedLabels": [{"Label": "Nur", "LanguageCode": 1031}]}).text() == "Nur"


def test_read_table_takes_lengths_and_options_from_the_casts() -> None:
    source = Source(
        {
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
    assert len(source.paths) == 6  # the table with its columns, then one request per derived type
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
            Source({"EntityDefinitions(LogicalName='contact')": {"LogicalName": "contact"}}), "contact"
        )
    with pytest.raises(ValueError):
        parse_attribute({"AttributeType": "String"})
    assert Attribute.from_json(parse_attribute({"LogicalName": "x"}).to_json()).required_level == "None"
