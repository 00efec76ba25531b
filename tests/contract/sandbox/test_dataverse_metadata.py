"""Table definitions (``EntityDefinitions``) and the CSDL ``$metadata`` document of the Dataverse stand-in.

Before issue 13 both answered 404 "Resource not found for the segment …"; every test here failed then."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from tests.contract.sandbox.conftest import Client

CONTACT = "EntityDefinitions(LogicalName='contact')"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def _labels(label: dict[str, Any]) -> dict[int, str]:
    return {item["LanguageCode"]: item["Label"] for item in label["LocalizedLabels"]}


def test_filter_select_and_metadata_id(client: Client) -> None:
    """PAD: developer/data-platform/webapi/query-metadata-web-api.md ("The MetadataId property value is always
    returned"; "There is no paging")."""
    response = client.get(
        "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute"
        "&$filter=LogicalName eq 'contact' or LogicalName eq 'account'"
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["@odata.context"].endswith(
        "/$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute)"
    )
    assert "@odata.nextLink" not in document
    by_name = {item["LogicalName"]: item for item in document["value"]}
    assert set(by_name) == {"contact", "account"}
    assert set(by_name["contact"]) == {"LogicalName", "EntitySetName", "PrimaryIdAttribute", "MetadataId"}
    assert by_name["contact"]["EntitySetName"] == "contacts"
    assert by_name["account"]["PrimaryIdAttribute"] == "accountid"
    # stable: the same id on the next request
    again = client.get("EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'contact'").json()
    assert again["value"][0]["MetadataId"] == by_name["contact"]["MetadataId"]


def test_single_table_by_logical_name_and_by_metadata_id(client: Client) -> None:
    """PAD: developer/data-platform/webapi/query-metadata-web-api.md (``EntityDefinitions(LogicalName='account')``)
    and webapi/reference/entitymetadata.md (the properties)."""
    table = client.get(CONTACT).json()
    assert table["@odata.context"].endswith("/$metadata#EntityDefinitions/$entity")
    assert table["LogicalName"] == "contact"
    assert table["EntitySetName"] == "contacts"
    assert table["PrimaryIdAttribute"] == "contactid"
    assert table["PrimaryNameAttribute"] == "fullname"
    assert table["ObjectTypeCode"] == 2
    assert table["ChangeTrackingEnabled"] is True
    assert table["IsActivity"] is False
    assert "Attributes" not in table  # a navigation property: only with $expand
    by_id = client.get(f"EntityDefinitions({table['MetadataId']})?$select=LogicalName").json()
    assert by_id["LogicalName"] == "contact"
    appointment = client.get(
        "EntityDefinitions(LogicalName='appointment')?$select=IsActivity,ObjectTypeCode"
    ).json()
    assert appointment["IsActivity"] is True
    assert appointment["ObjectTypeCode"] == 4201
    settings = client.get(
        "EntityDefinitions(LogicalName='usersettings')?$select=ChangeTrackingEnabled"
    ).json()
    assert settings["ChangeTrackingEnabled"] is False


def test_labels_in_english_and_german_follow_the_callers_language(client: Client) -> None:
    """PAD: developer/data-platform/webapi/reference/label.md (LocalizedLabels, UserLocalizedLabel) and
    reference/usersettings.md (uilanguageid: the user's UI language)."""
    table = client.get(f"{CONTACT}?$select=DisplayName,DisplayCollectionName").json()
    assert _labels(table["DisplayName"]) == {1033: "Contact", 1031: "Kontakt"}
    assert _labels(table["DisplayCollectionName"]) == {1033: "Contacts", 1031: "Kontakte"}
    # the demo users work in German (usersettings.uilanguageid 1031)
    assert table["DisplayName"]["UserLocalizedLabel"]["Label"] == "Kontakt"
    jobtitle = client.get(f"{CONTACT}/Attributes(LogicalName='jobtitle')?$select=DisplayName").json()
    assert _labels(jobtitle["DisplayName"]) == {1033: "Job Title", 1031: "Position"}
    patched = client.patch(f"usersettingscollection({client.user_id})", json={"uilanguageid": 1033})
    assert patched.status_code == 204, patched.text
    table = client.get(f"{CONTACT}?$select=DisplayName").json()
    assert table["DisplayName"]["UserLocalizedLabel"]["Label"] == "Contact"
    account = client.get("EntityDefinitions(LogicalName='account')?$select=DisplayName").json()
    assert _labels(account["DisplayName"]) == {1033: "Account", 1031: "Firma"}


def test_attributes_with_select_and_filter(client: Client) -> None:
    """PAD: developer/data-platform/webapi/query-metadata-web-api.md ("Querying EntityMetadata attributes",
    enum literals ``Microsoft.Dynamics.CRM.AttributeTypeCode'…'``, "Filtering by required level")."""
    response = client.get(
        f"{CONTACT}/Attributes?$select=LogicalName,AttributeType,IsValidForCreate"
        "&$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'String' and AttributeOf eq null"
        " and IsValidForCreate eq true"
    )
    assert response.status_code == 200, response.text
    names = {a["LogicalName"] for a in response.json()["value"]}
    assert {"firstname", "lastname", "jobtitle", "emailaddress1", "telephone1"} <= names
    assert "fullname" not in names  # computed: not valid for create
    required = client.get(
        f"{CONTACT}/Attributes?$select=SchemaName,RequiredLevel"
        "&$filter=RequiredLevel/Value eq Microsoft.Dynamics.CRM.AttributeRequiredLevel'ApplicationRequired'"
    ).json()["value"]
    assert [(a["SchemaName"], a["RequiredLevel"]["Value"]) for a in required] == [
        ("LastName", "ApplicationRequired")
    ]
    everything = client.get(f"{CONTACT}/Attributes").json()["value"]
    parent = next(a for a in everything if a["LogicalName"] == "parentcustomerid")
    assert parent["AttributeType"] == "Customer"
    assert parent["AttributeTypeName"] == {"Value": "CustomerType"}
    assert parent["@odata.type"] == "#Microsoft.Dynamics.CRM.LookupAttributeMetadata"
    # a derived type's property needs the cast
    bad = client.get(f"{CONTACT}/Attributes?$select=LogicalName,MaxLength")
    assert bad.status_code == 400
    assert "MaxLength" in bad.json()["error"]["message"]


def test_casts_string_picklist_state_status_lookup(client: Client) -> None:
    """PAD: developer/data-platform/webapi/query-metadata-web-api.md ("you must cast the Attributes
    collection-valued navigation property to the type you want"; "Retrieving attributes" with
    ``$expand=OptionSet``)."""
    strings = client.get(
        f"{CONTACT}/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength"
    ).json()["value"]
    lengths = {a["LogicalName"]: a["MaxLength"] for a in strings}
    assert lengths["lastname"] == 50
    assert lengths["emailaddress1"] == 100
    picklists = client.get(
        f"{CONTACT}/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        "?$select=LogicalName&$expand=OptionSet($select=Options)"
    ).json()
    assert "/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata(" in picklists["@odata.context"]
    gender = next(a for a in picklists["value"] if a["LogicalName"] == "gendercode")
    options = {o["Value"]: _labels(o["Label"]) for o in gender["OptionSet"]["Options"]}
    assert options == {1: {1033: "Male", 1031: "Männlich"}, 2: {1033: "Female", 1031: "Weiblich"}}
    status = client.get(
        "EntityDefinitions(LogicalName='task')/Attributes(LogicalName='statuscode')"
        "/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$select=LogicalName&$expand=OptionSet"
    ).json()
    assert status["@odata.context"].endswith("/$entity")
    by_value = {o["Value"]: o for o in status["OptionSet"]["Options"]}
    assert by_value[5]["State"] == 1
    assert _labels(by_value[2]["Label"]) == {1033: "Not Started", 1031: "Nicht begonnen"}
    state = client.get(
        f"{CONTACT}/Attributes(LogicalName='statecode')/Microsoft.Dynamics.CRM.StateAttributeMetadata"
        "?$expand=OptionSet"
    ).json()
    assert {o["Value"]: o["DefaultStatus"] for o in state["OptionSet"]["Options"]} == {0: 1, 1: 2}
    lookups = client.get(
        f"{CONTACT}/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,Targets"
    ).json()["value"]
    assert {a["LogicalName"]: sorted(a["Targets"]) for a in lookups}["parentcustomerid"] == [
        "account",
        "contact",
    ]
    options_only = client.get(
        f"{CONTACT}/Attributes(LogicalName='gendercode')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        "/OptionSet?$select=Options"
    ).json()
    assert [o["Value"] for o in options_only["Options"]] == [1, 2]


def test_expand_attributes_and_many_to_one(client: Client) -> None:
    """PAD: developer/data-platform/webapi/query-metadata-web-api.md (``$expand=Attributes($select=…;$filter=…)``,
    "Querying relationship metadata")."""
    table = client.get(
        f"{CONTACT}?$select=LogicalName&$expand=Attributes($select=LogicalName;"
        "$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist')"
    ).json()
    assert [a["LogicalName"] for a in table["Attributes"]] == ["gendercode"]
    relations = client.get(f"{CONTACT}/ManyToOneRelationships").json()["value"]
    parent = [r for r in relations if r["ReferencingAttribute"] == "parentcustomerid"]
    assert {r["ReferencedEntity"] for r in parent} == {"account", "contact"}
    assert {r["ReferencingEntityNavigationPropertyName"] for r in parent} == {
        "parentcustomerid_account",
        "parentcustomerid_contact",
    }


def test_unknown_table_or_column_is_404_with_an_error_body(client: Client) -> None:
    """PAD: developer/data-platform/webapi/compose-http-requests-handle-errors.md (error body
    ``{"error": {"code", "message"}}``)."""
    for path in (
        "EntityDefinitions(LogicalName='nosuchtable')",
        f"{CONTACT}/Attributes(LogicalName='nosuch')",
    ):
        response = client.get(path)
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] and "nosuch" in error["message"]


def test_every_entity_set_has_a_definition(client: Client) -> None:
    """PAD: developer/data-platform/webapi/web-api-service-documents.md (the service document lists the entity
    sets; each has an EntityMetadata with that EntitySetName)."""
    sets = {item["name"] for item in client.get("").json()["value"]}
    defined = {
        t["EntitySetName"] for t in client.get("EntityDefinitions?$select=EntitySetName").json()["value"]
    }
    assert sets <= defined
    for needed in (
        "contacts",
        "accounts",
        "leads",
        "appointments",
        "recurringappointmentmasters",
        "tasks",
        "emails",
        "activityparties",
        "systemusers",
        "usersettingscollection",
        "organizations",
        "userqueries",
        "savedqueries",
    ):
        assert needed in defined


def test_csdl_metadata_document(client: Client) -> None:
    """PAD: developer/data-platform/webapi/web-api-service-documents.md ("CSDL $metadata document": EntityType
    with Key and Property, NavigationProperty, EntitySet in the EntityContainer) and OData CSDL XML 4.0."""
    response = client.get("$metadata", headers={"Accept": "application/xml"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "{http://docs.oasis-open.org/odata/ns/edmx}Edmx"
    schema = root.find(f".//{EDM}Schema")
    assert schema is not None and schema.get("Namespace") == "Microsoft.Dynamics.CRM"
    types = {t.get("Name"): t for t in schema.findall(f"{EDM}EntityType")}
    contact = types["contact"]
    keys = [ref.get("Name") for ref in contact.findall(f"{EDM}Key/{EDM}PropertyRef")]
    assert keys == ["contactid"]
    properties = {p.get("Name"): p.get("Type") for p in contact.findall(f"{EDM}Property")}
    assert properties["contactid"] == "Edm.Guid"
    assert properties["lastname"] == "Edm.String"
    assert properties["_parentcustomerid_value"] == "Edm.Guid"
    assert properties["modifiedon"] == "Edm.DateTimeOffset"
    navigations = {n.get("Name"): n.get("Type") for n in contact.findall(f"{EDM}NavigationProperty")}
    assert navigations["parentcustomerid_account"] == "mscrm.account"
    # every reference resolves: keys to properties, navigation types to entity types
    for name, entity_type in types.items():
        if entity_type.get("Abstract") == "true":
            continue
        own = {p.get("Name") for p in entity_type.findall(f"{EDM}Property")}
        for ref in entity_type.findall(f"{EDM}Key/{EDM}PropertyRef"):
            assert ref.get("Name") in own, name
        for navigation in entity_type.findall(f"{EDM}NavigationProperty"):
            target = str(navigation.get("Type")).removeprefix("Collection(").rstrip(")").split(".")[-1]
            assert target in types, (name, navigation.get("Name"))
    container = schema.find(f"{EDM}EntityContainer")
    assert container is not None
    sets = {s.get("Name"): s.get("EntityType") for s in container.findall(f"{EDM}EntitySet")}
    assert sets["contacts"] == "Microsoft.Dynamics.CRM.contact"
    for set_type in sets.values():
        assert str(set_type).split(".")[-1] in types


RETRIEVE_ENTITY = (
    "RetrieveEntity(EntityFilters=@p1,LogicalName=@p2,MetadataId=@p3,RetrieveAsIfPublished=@p4)"
    "?@p1=Microsoft.Dynamics.CRM.EntityFilters'{filters}'&@p2='{name}'"
    "&@p3=00000000-0000-0000-0000-000000000000&@p4=false"
)
#: the keys of the OptionSet and of one option in PAD webapi/query-metadata-web-api.md ("Retrieving attributes", the
#: sample answer of ``…/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet``)
DOC_OPTION_SET_KEYS = {
    "Options",
    "Description",
    "DisplayName",
    "IsCustomOptionSet",
    "IsGlobal",
    "IsManaged",
    "IsCustomizable",
    "Name",
    "OptionSetType",
    "IntroducedVersion",
    "MetadataId",
    "HasChanged",
}
DOC_OPTION_KEYS = {"Value", "Label", "Description", "Color", "IsManaged", "MetadataId", "HasChanged"}
DOC_LABEL_KEYS = {"Label", "LanguageCode", "IsManaged", "MetadataId", "HasChanged"}


def test_retrieve_entity_answers_the_whole_table_in_one_request(client: Client) -> None:
    """PAD webapi/reference/retrieveentity.md (parameters EntityFilters, LogicalName, MetadataId,
    RetrieveAsIfPublished; RetrieveEntityResponse.EntityMetadata) and webapi/use-web-api-functions.md (parameter
    aliases). Each attribute comes as its derived type, with MaxLength and the option set inline."""
    response = client.get(RETRIEVE_ENTITY.format(filters="Attributes", name="contact"))
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["@odata.context"].endswith("/$metadata#Microsoft.Dynamics.CRM.RetrieveEntityResponse")
    table = document["EntityMetadata"]
    assert (table["LogicalName"], table["EntitySetName"], table["PrimaryIdAttribute"]) == (
        "contact",
        "contacts",
        "contactid",
    )
    assert _labels(table["DisplayName"]) == {1033: "Contact", 1031: "Kontakt"}
    by_name = {a["LogicalName"]: a for a in table["Attributes"]}
    lastname = by_name["lastname"]
    assert lastname["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert lastname["MaxLength"] == 50
    assert lastname["RequiredLevel"]["Value"] == "ApplicationRequired"
    status = by_name["statuscode"]
    assert status["@odata.type"] == "#Microsoft.Dynamics.CRM.StatusAttributeMetadata"
    assert set(status["OptionSet"]) >= DOC_OPTION_SET_KEYS
    options = status["OptionSet"]["Options"]
    assert options and set(options[0]) >= DOC_OPTION_KEYS
    assert set(options[0]["Label"]["LocalizedLabels"][0]) == DOC_LABEL_KEYS
    assert set(options[0]["Label"]["UserLocalizedLabel"]) == DOC_LABEL_KEYS
    assert {o["Value"] for o in options} >= {1, 2}
    assert by_name["statecode"]["OptionSet"]["OptionSetType"] == "State"
    assert "OptionSet" not in lastname
    # the same answer as the casts give (EntityDefinitions(...)/Attributes/<cast>)
    cast = client.get(
        f"{CONTACT}/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$select=LogicalName&$expand=OptionSet"
    ).json()
    assert cast["value"][0]["OptionSet"]["Options"] == options
    # inline parameter values work as well, and Entity alone leaves the attributes out
    inline = client.get(
        "RetrieveEntity(EntityFilters=Microsoft.Dynamics.CRM.EntityFilters'Entity',LogicalName='account',"
        "MetadataId=00000000-0000-0000-0000-000000000000,RetrieveAsIfPublished=true)"
    )
    assert inline.status_code == 200, inline.text
    assert inline.json()["EntityMetadata"]["EntitySetName"] == "accounts"
    assert "Attributes" not in inline.json()["EntityMetadata"]
    # several flags; by MetadataId without a name
    both = client.get(
        RETRIEVE_ENTITY.format(filters="Attributes,Relationships", name="contact").replace(
            "00000000-0000-0000-0000-000000000000", table["MetadataId"]
        )
    ).json()["EntityMetadata"]
    assert both["Attributes"] and any(
        r["ReferencedEntity"] == "account" for r in both["ManyToOneRelationships"]
    )


def test_retrieve_entity_refuses_bad_parameters(client: Client) -> None:
    """Parameters that bind to no overload: 404 as any unknown function; bad literals: 400; unknown table: 404
    with 0x80040217, as EntityDefinitions(LogicalName='x') answers."""

    def error(path: str) -> tuple[int, str]:
        response = client.get(path)
        return response.status_code, response.json()["error"]["code"]

    assert error(RETRIEVE_ENTITY.format(filters="Attributes", name="nosuchtable")) == (404, "0x80040217")
    assert error(RETRIEVE_ENTITY.format(filters="Everything", name="contact"))[0] == 400
    assert (
        error(RETRIEVE_ENTITY.format(filters="Attributes", name="contact").replace("@p4=false", "@p4=maybe"))[
            0
        ]
        == 400
    )
    assert (
        error(RETRIEVE_ENTITY.format(filters="Attributes", name="contact").replace("&@p3=", "&@x="))[0] == 400
    )
    missing = "RetrieveEntity(EntityFilters=@p1,LogicalName=@p2)?@p1=Microsoft.Dynamics.CRM.EntityFilters'Entity'&@p2='contact'"
    assert error(missing)[0] == 404
    assert (
        error(
            RETRIEVE_ENTITY.format(filters="Attributes", name="contact").replace("@p2='contact'", "@p2=null")
        )[0]
        == 400
    )
    assert (
        client.post(RETRIEVE_ENTITY.format(filters="Attributes", name="contact"), json={}).status_code == 405
    )


def test_csdl_declares_retrieve_entity(client: Client) -> None:
    """The function, its enum and its response type are in $metadata (webapi/reference/retrieveentity.md)."""
    root = ElementTree.fromstring(client.get("$metadata").content)
    schema = root.find(f".//{EDM}Schema")
    assert schema is not None
    function = next(f for f in schema.findall(f"{EDM}Function") if f.get("Name") == "RetrieveEntity")
    parameters = {p.get("Name"): p.get("Type") for p in function.findall(f"{EDM}Parameter")}
    assert parameters == {
        "EntityFilters": "mscrm.EntityFilters",
        "LogicalName": "Edm.String",
        "MetadataId": "Edm.Guid",
        "RetrieveAsIfPublished": "Edm.Boolean",
    }
    flags = next(e for e in schema.findall(f"{EDM}EnumType") if e.get("Name") == "EntityFilters")
    assert flags.get("IsFlags") == "true"
    assert {m.get("Name"): m.get("Value") for m in flags}["Attributes"] == "2"
    container = schema.find(f"{EDM}EntityContainer")
    assert container is not None
    assert "RetrieveEntity" in {i.get("Name") for i in container.findall(f"{EDM}FunctionImport")}
