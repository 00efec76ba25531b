"""What the offline work of issue 14 needs of the Dataverse stand-in: client-chosen primary keys, duplicate
detection, server-side validation, the offline sync intervals, offline filters and their templates, and demo
rows that refer to each other."""

from __future__ import annotations

import uuid

from tests.contract.sandbox.conftest import Client
from wizard.sandbox.dataverse.server import DataverseEnvironment
from wizard.sandbox.directory import Directory
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenSigner

SUPPRESS = "MSCRM.SuppressDuplicateDetection"
DUPLICATE = "A record was not created or updated because a duplicate of the current record already exists."


def test_client_chosen_primary_key_and_a_second_create_with_it(client: Client) -> None:
    """PAD: developer/data-platform/webapi/create-entity-web-api.md (a create may set the primary key value) and
    reference/web-service-error-codes.md (DuplicateRecord 0x80040237: "A record with matching key values already
    exists.")."""
    chosen = str(uuid.uuid4())
    first = client.post("contacts", json={"contactid": chosen, "lastname": "Offline"})
    assert first.status_code == 204, first.text
    assert first.headers["OData-EntityId"].endswith(f"contacts({chosen})")
    again = client.post("contacts", json={"contactid": chosen, "lastname": "Again"})
    assert again.status_code == 412
    assert again.json()["error"] == {
        "code": "0x80040237",
        "message": "A record with matching key values already exists.",
    }
    assert client.get(f"contacts({chosen})?$select=lastname").json()["lastname"] == "Offline"


def test_duplicate_detection_for_contacts_and_leads_by_email(client: Client) -> None:
    """PAD: developer/data-platform/webapi/manage-duplicate-detection-create-update.md (``MSCRM.
    SuppressDuplicateDetection: false`` on POST and PATCH; 500 with code 0x80040333; default rules for contacts
    and leads; without the header a create is not checked and an update never is)."""
    for entity_set in ("contacts", "leads"):
        body = {"firstname": "Monte", "lastname": "Orton", "emailaddress1": "monteorton@example.com"}
        if entity_set == "leads":
            body["subject"] = "Interest"
        assert client.post(entity_set, json=body).status_code == 204
        refused = client.post(
            entity_set, json={**body, "emailaddress1": "MonteOrton@example.com"}, headers={SUPPRESS: "false"}
        )
        assert refused.status_code == 500, refused.text
        assert refused.json()["error"] == {"code": "0x80040333", "message": DUPLICATE}
        # without the header, or with true, the duplicate is created
        assert client.post(entity_set, json=body).status_code == 204
        assert client.post(entity_set, json=body, headers={SUPPRESS: "true"}).status_code == 204
        other = client.create(entity_set, {**body, "emailaddress1": "someone.else@example.com"})
        patched = client.patch(
            f"{entity_set}({other})",
            json={"emailaddress1": "monteorton@example.com"},
            headers={SUPPRESS: "false"},
        )
        assert patched.status_code == 500
        assert patched.json()["error"]["code"] == "0x80040333"
        # the row's own address is no duplicate of itself
        same = client.patch(
            f"{entity_set}({other})",
            json={"emailaddress1": "someone.else@example.com"},
            headers={SUPPRESS: "false"},
        )
        assert same.status_code == 204
    # no rule for tasks: the header changes nothing
    task = {"subject": "Same"}
    assert client.post("tasks", json=task, headers={SUPPRESS: "false"}).status_code == 204
    assert client.post("tasks", json=task, headers={SUPPRESS: "false"}).status_code == 204


def test_required_columns_max_length_and_option_values(client: Client, env: DataverseEnvironment) -> None:
    """PAD: developer/data-platform/webapi/reference/attributerequiredlevel.md (SystemRequired / ApplicationRequired,
    as EntityDefinitions reports them) and the validation error shape of
    ``tests/samples/dataverse/error-body-simple-validation.json``."""
    view = client.post(
        "userqueries", json={"returnedtypecode": "contact", "fetchxml": "<fetch/>", "querytype": 16}
    )
    assert view.status_code == 400  # name is SystemRequired
    assert view.json()["error"]["code"] == "0x80044331"
    assert "'name'" in view.json()["error"]["message"]
    # ApplicationRequired is enforced by forms, not by the platform, unless a test asks for it
    assert client.post("accounts", json={"telephone1": "1"}).status_code == 204
    env.api.application_required = True
    for entity_set, body, column in (
        ("accounts", {"telephone1": "1"}, "name"),
        ("contacts", {"firstname": "Only"}, "lastname"),
        ("leads", {"lastname": "Lead"}, "subject"),
    ):
        refused = client.post(entity_set, json=body)
        assert refused.status_code == 400, (entity_set, refused.text)
        assert f"'{column}'" in refused.json()["error"]["message"]
    account = client.create("accounts", {"name": "Contoso"})
    cleared = client.patch(f"accounts({account})", json={"name": ""})
    assert cleared.status_code == 400
    assert client.patch(f"accounts({account})", json={"telephone1": "2"}).status_code == 204
    too_long = client.post("accounts", json={"name": "x" * 161})
    assert too_long.status_code == 400
    assert "maximum allowed length of '160'" in too_long.json()["error"]["message"]
    bad_option = client.post("contacts", json={"lastname": "Option", "gendercode": 7})
    assert bad_option.status_code == 400
    error = bad_option.json()["error"]
    assert error["code"] == "0x80044331"
    assert "outside the valid range" in error["message"] and "1,2" in error["message"]
    assert client.post("contacts", json={"lastname": "Option", "gendercode": 2}).status_code == 204


def test_offline_sync_intervals(client: Client) -> None:
    """PAD: developer/data-platform/reference/entities/organization.md (MinOfflineSyncInterval) and
    reference/entities/usersettings.md (OfflineSyncInterval)."""
    organization = client.get("organizations?$select=minofflinesyncinterval,minoutlooksyncinterval").json()
    assert organization["value"][0]["minofflinesyncinterval"] == 15
    settings = client.get(f"usersettingscollection({client.user_id})?$select=offlinesyncinterval").json()
    assert settings["offlinesyncinterval"] == 15
    assert (
        client.patch(
            f"usersettingscollection({client.user_id})", json={"offlinesyncinterval": 30}
        ).status_code
        == 204
    )
    assert client.get(f"usersettingscollection({client.user_id})").json()["offlinesyncinterval"] == 30


def test_offline_filter_templates_and_offline_filters(client: Client) -> None:
    """PAD: developer/data-platform/reference/entities/savedquery.md and userquery.md (QueryType: 8192
    OfflineTemplate, 16 OfflineFilters, 256 OutlookFilters; the templates are system views) and
    developer/data-platform/webapi/retrieve-and-execute-predefined-queries.md (``?savedQuery=``,
    ``?userQuery=``)."""
    templates = client.get(
        "savedqueries?$select=name,returnedtypecode,fetchxml,isdefault&$filter=querytype eq 8192"
    ).json()["value"]
    by_table = {t["returnedtypecode"]: t for t in templates}
    assert {"contact", "account", "lead", "appointment", "task"} <= set(by_table)
    assert all(t["isdefault"] for t in templates)
    assert by_table["contact"]["name"] == "My Contacts"
    mine = client.create("contacts", {"lastname": "Mine"})  # owned by the caller
    rows = client.get(f"contacts?savedQuery={by_table['contact']['savedqueryid']}").json()["value"]
    assert mine in {r["contactid"] for r in rows}
    # a user's offline filter made from the template: readable and writable like an Outlook filter (256)
    created = client.post(
        "userqueries",
        json={
            "name": by_table["contact"]["name"],
            "returnedtypecode": "contact",
            "querytype": 16,
            "fetchxml": by_table["contact"]["fetchxml"],
            "parentqueryid@odata.bind": f"/savedqueries({by_table['contact']['savedqueryid']})",
        },
    )
    assert created.status_code == 204, created.text
    filters = client.get(
        "userqueries?$select=name,querytype,_parentqueryid_value&$filter=querytype eq 16"
    ).json()
    assert [(f["name"], f["_parentqueryid_value"]) for f in filters["value"]] == [
        ("My Contacts", by_table["contact"]["savedqueryid"])
    ]
    filter_id = filters["value"][0]["userqueryid"]
    assert client.patch(f"userqueries({filter_id})", json={"name": "Meine Kontakte"}).status_code == 204
    assert client.get(f"contacts?userQuery={filter_id}").status_code == 200
    assert client.delete(f"userqueries({filter_id})").status_code == 204


def test_demo_rows_refer_to_each_other(directory: Directory, signer: TokenSigner, tls: SandboxTLS) -> None:
    """Demo data for the offline issue (14): accounts with a primary contact that works for them, leads that came
    from a contact and its account, activities regarding contacts, accounts and leads."""
    env = DataverseEnvironment(
        directory, directory.orgs[0], signer=signer, tls=tls, authority_url="https://a"
    )
    try:
        store = env.store
        contacts = {r["contactid"]: r for r in store.rows("contacts")}
        accounts = store.rows("accounts")
        with_primary = [a for a in accounts if a.get("_primarycontactid_value")]
        assert len(with_primary) >= 50
        for account in with_primary:
            assert (
                contacts[account["_primarycontactid_value"]]["_parentcustomerid_value"]
                == account["accountid"]
            )
        leads = store.rows("leads")
        from_contacts = [lead for lead in leads if lead.get("_parentcontactid_value")]
        assert len(from_contacts) >= 20
        assert all(lead["_parentcontactid_value"] in contacts for lead in from_contacts)
        assert any(lead.get("_parentaccountid_value") for lead in from_contacts)
        regarding = {
            (row.get("_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname") or "")
            for entity_set in ("appointments", "tasks")
            for row in store.rows(entity_set)
        }
        assert {"contact", "account", "lead"} <= regarding
    finally:
        env.store.close()
