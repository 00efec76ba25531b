"""Checks before saving, from the table's definitions, naming the field in the user's language."""

from __future__ import annotations

import pytest

from wizard.crm.metadata import GERMAN, Attribute, Label, Option, TableDefinition
from wizard.offline.fields import body, kept
from wizard.offline.tables import CONTACT
from wizard.offline.validate import InvalidRecord, check, coerce

ACME = "22222222-2222-2222-2222-222222222222"

DEFINITION = TableDefinition(
    "contact",
    "contacts",
    "contactid",
    "fullname",
    attributes={
        "lastname": Attribute(
            "lastname",
            "String",
            "ApplicationRequired",
            Label({1033: "Last Name", 1031: "Nachname"}),
            max_length=50,
        ),
        "jobtitle": Attribute("jobtitle", "String", display_name=Label({1033: "Job Title"}), max_length=100),
        "statecode": Attribute(
            "statecode",
            "State",
            "SystemRequired",
            options=(Option(0, Label({1033: "Active"})), Option(1, Label())),
        ),
        "parentcustomerid": Attribute(
            "parentcustomerid", "Customer", display_name=Label({1033: "Company Name"})
        ),
    },
)


def test_required_length_and_choices_name_the_field() -> None:
    problems = check(
        CONTACT, DEFINITION, {"jobtitle": "x" * 101, "statecode": 7}, creating=True, language=GERMAN
    )
    texts = [p.message for p in problems]
    assert "Job Title: at most 100 characters (101 given)." in texts
    assert any(t.startswith("statecode: 7 is not one of the choices") for t in texts)
    assert "Nachname: a value is required." in texts
    assert check(CONTACT, DEFINITION, {"lastname": "Bär"}, creating=True) == []
    assert (
        check(CONTACT, DEFINITION, {"jobtitle": "CEO"}, creating=False) == []
    )  # an update sets what it sets
    assert [p.field for p in check(CONTACT, DEFINITION, {"lastname": ""}, creating=False)] == ["lastname"]


def test_unknown_and_read_only_fields_are_refused_without_definitions() -> None:
    problems = check(CONTACT, None, {"nosuch": 1, "fullname": "x", "lastname": "ok"}, creating=True)
    assert [p.field for p in problems] == ["nosuch", "fullname"]


def test_typed_values_become_column_values() -> None:
    assert coerce(DEFINITION.attributes["statecode"], "1") == 1
    assert coerce(Attribute("donotemail", "Boolean"), "ja") is True
    assert coerce(None, "") is None
    with pytest.raises(InvalidRecord, match="not a number"):
        coerce(DEFINITION.attributes["statecode"], "one")


def test_lookups_are_kept_as_value_and_table_and_sent_bound() -> None:
    fields = kept(CONTACT, {"parentcustomerid": f"account:{ACME.upper()}", "lastname": "Bär"})
    assert fields["_parentcustomerid_value"] == ACME
    assert fields["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert body(CONTACT, fields) == {
        "parentcustomerid_account@odata.bind": f"/accounts({ACME})",
        "lastname": "Bär",
    }
    with pytest.raises(ValueError, match="say which table"):
        kept(CONTACT, {"parentcustomerid": ACME})
    with pytest.raises(ValueError, match="points to account, contact, not lead"):
        kept(CONTACT, {"parentcustomerid": f"lead:{ACME}"})
    cleared = kept(CONTACT, {"parentcustomerid": ""})
    assert body(CONTACT, cleared, base=fields) == {"parentcustomerid_account@odata.bind": None}
