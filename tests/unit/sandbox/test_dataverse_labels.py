"""The Dataverse stand-in's label and rule tables name only tables and columns that ``schema.py`` has, and every
table has names in both languages (so ``EntityDefinitions`` never fails for a table that is added later)."""

from __future__ import annotations

from wizard.sandbox.dataverse import labels
from wizard.sandbox.dataverse.metadata import REQUIRED_LEVELS, attributes, entity_json
from wizard.sandbox.dataverse.rules import DUPLICATE_RULES
from wizard.sandbox.dataverse.schema import BY_LOGICAL_NAME, CHOICE


def test_every_table_has_english_and_german_names() -> None:
    assert set(BY_LOGICAL_NAME) <= set(labels.TABLES)
    for name, table in BY_LOGICAL_NAME.items():
        item = entity_json(table, labels.GERMAN, tracking=True)
        texts = {label["LanguageCode"]: label["Label"] for label in item["DisplayName"]["LocalizedLabels"]}
        assert set(texts) == {1033, 1031} and all(texts.values()), name
        assert item["DisplayName"]["UserLocalizedLabel"]["LanguageCode"] == 1031


def test_type_codes_are_unique() -> None:
    codes = [entry[5] for entry in labels.TABLES.values()]
    assert len(codes) == len(set(codes))


def test_rule_and_option_tables_name_existing_columns() -> None:
    for table, column in [*REQUIRED_LEVELS, *labels.OVERRIDES]:
        definition = BY_LOGICAL_NAME[table]
        assert column in definition.columns or column in definition.lookups, (table, column)
    for table, column in labels.OPTIONS:
        tables = BY_LOGICAL_NAME.values() if table == "*" else [BY_LOGICAL_NAME[table]]
        assert any(column in t.columns and t.columns[column].kind == CHOICE for t in tables), (table, column)
    for table, columns in DUPLICATE_RULES.items():
        assert set(columns) <= set(BY_LOGICAL_NAME[table].columns)


def test_metadata_ids_are_stable_and_distinct() -> None:
    contact = BY_LOGICAL_NAME["contact"]
    first = [a.metadata_id for a in attributes(contact)]
    assert first == [a.metadata_id for a in attributes(contact)]
    assert len(first) == len(set(first))
    known = {a.logical_name: a.to_json(labels.ENGLISH) for a in attributes(contact)}
    assert known["telephone1"]["DisplayName"]["UserLocalizedLabel"]["Label"] == "Business Phone"
    assert {
        x["LanguageCode"]: x["Label"] for x in known["mobilephone"]["DisplayName"]["LocalizedLabels"]
    } == {
        1033: "Mobile Phone",
        1031: "Mobiltelefon",
    }
