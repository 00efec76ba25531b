"""``d365sync offline …`` and ``d365sync records …`` against the stand-ins (issue 14, DESIGN §3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from wizard.app import offline, orgs
from wizard.app.factory import Factory
from wizard.app.instance import claim_instance
from wizard.app.mailbox import bind_mailbox
from wizard.sandbox import Sandbox
from wizard.settings import MailboxBinding
from wizard.sync.state import StateDB


def test_offline_round_trip_on_the_command_line(signed_in_factory: Factory, isolated_home: Path) -> None:
    client = signed_in_factory.dataverse(signed_in_factory.require_sync_org())
    anna = client.create("contacts", {"firstname": "Anna", "lastname": "Bär", "telephone1": "555-0100"})

    status = run_cli(isolated_home, "offline", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] == "none"

    refused = run_cli(isolated_home, "offline", "go")  # no terminal, no --yes
    assert refused.returncode == 1

    went = run_cli(isolated_home, "offline", "go", "--yes")
    assert went.returncode == 0, went.stderr
    assert "Offline — 1 records." in went.stdout

    overall = json.loads(run_cli(isolated_home, "status", "--json").stdout)
    assert overall["offline"]["state"] == "offline" and overall["offline"]["records"] == {"contact": 1}
    status_json = json.loads(run_cli(isolated_home, "offline", "status", "--json").stdout)
    assert status_json["state"] == "offline"
    assert status_json["records"]["contact"] == 1
    assert status_json["queued_changes"] == 0

    listed = run_cli(isolated_home, "records", "list", "contacts", "--search", "bä", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [anna]

    assert (
        run_cli(isolated_home, "records", "update", "contacts", anna, "--set", "jobtitle=Buyer").returncode
        == 0
    )
    created = run_cli(isolated_home, "records", "create", "accounts", "--set", "name=Northwind")
    assert created.returncode == 0, created.stderr
    bad = run_cli(isolated_home, "records", "create", "accounts", "--set", "nosuchfield=1")
    assert bad.returncode == 1
    assert "nosuchfield" in bad.stderr
    assert json.loads(run_cli(isolated_home, "offline", "status", "--json").stdout)["queued_changes"] == 2

    online = run_cli(isolated_home, "offline", "online", "--yes")
    assert online.returncode == 0, online.stderr
    assert "Sent 1 new, 1 changed and 0 deleted record(s) in 1 batch request(s)." in online.stdout
    assert client.get("contacts", anna, select=["jobtitle"])["jobtitle"] == "Buyer"

    # online, records come from Dynamics 365
    shown = run_cli(isolated_home, "records", "show", "contacts", anna, "--json")
    assert json.loads(shown.stdout)["fields"]["jobtitle"] == "Buyer"
    unknown = run_cli(isolated_home, "records", "list", "widgets")
    assert unknown.returncode == 1 and "widgets" in unknown.stderr

    filters = json.loads(run_cli(isolated_home, "offline", "filters", "list", "--json").stdout)
    contacts_filter = next(f for f in filters if f["table"] == "contact")
    assert contacts_filter["active"] is True
    assert run_cli(isolated_home, "offline", "filters", "disable", contacts_filter["id"]).returncode == 0
    filters = json.loads(run_cli(isolated_home, "offline", "filters", "list", "--json").stdout)
    assert next(f for f in filters if f["id"] == contacts_filter["id"])["active"] is False


def test_switching_or_removing_an_organization_with_queued_changes_warns_and_keeps_them(
    signed_in_factory: Factory, isolated_home: Path
) -> None:
    info = signed_in_factory  # Contoso Sales synchronizes; Contoso Test is added beside it
    sales = info.require_sync_org()
    client = info.dataverse(sales)
    anna = client.create("contacts", {"firstname": "Anna", "lastname": "Bär"})
    assert run_cli(isolated_home, "offline", "go", "--yes").returncode == 0
    assert (
        run_cli(isolated_home, "records", "update", "contacts", anna, "--set", "jobtitle=Buyer").returncode
        == 0
    )
    store = offline.store_file(info)
    assert offline.queued_changes(info, sales.id) == 1

    refused = run_cli(isolated_home, "orgs", "remove", sales.id)  # no terminal, no --yes
    assert refused.returncode == 1
    assert "Nothing was removed" in refused.stderr
    assert "1 offline change that has not been sent" in refused.stderr
    assert store.exists() and offline.queued_changes(info, sales.id) == 1
    with pytest.raises(orgs.QueuedChangesWaiting):  # the application layer refuses too without a yes
        orgs.remove_org(info, info.org(sales.id))
    assert store.exists()

    removed = run_cli(isolated_home, "orgs", "remove", sales.id, "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not store.exists()  # the organization's store goes with it, as the user said


def test_set_sync_names_the_queued_changes_of_the_organization_left(
    signed_in_factory: Factory, isolated_home: Path, sandbox: Sandbox
) -> None:
    info = sandbox.port_info()
    user = info["users"][0]
    sales = signed_in_factory.require_sync_org()
    anna = signed_in_factory.dataverse(sales).create("contacts", {"firstname": "Anna", "lastname": "Bär"})
    test = orgs.connect_org(
        signed_in_factory,
        info["environments"][1]["url"],
        username=user["upn"],
        password=user["password"],
        ca_file=info["ca_file"],
    )
    orgs.save_org(signed_in_factory, test, make_sync_if_first=False)
    assert run_cli(isolated_home, "offline", "go", "--yes").returncode == 0
    assert run_cli(isolated_home, "records", "delete", "contacts", anna, "--yes").returncode == 0

    refused = run_cli(isolated_home, "orgs", "set-sync", test.org.id)
    assert refused.returncode == 1
    changed = run_cli(isolated_home, "orgs", "set-sync", test.org.id, "--yes")
    assert changed.returncode == 0, changed.stderr
    assert "Contoso Sales has 1 offline change that has not been sent" in changed.stderr
    assert offline.queued_changes(signed_in_factory, sales.id) == 1  # kept for when it synchronizes again


def test_going_online_ends_with_the_messaging_sync_unless_no_sync(
    signed_in_factory: Factory, isolated_home: Path, sandbox: Sandbox
) -> None:
    factory = signed_in_factory
    info = sandbox.port_info()
    user = info["users"][0]
    claim_instance(factory, force=True)
    bind_mailbox(factory,
        MailboxBinding(address=user["primary_email"], kind="exchange", auth="basic",
                       autodiscover_url=info["autodiscover_url"], ca_file=info["ca_file"]),
        user["ews_password"],
    )  # fmt: skip
    factory.profile.sync.kinds = {"email": False, "contacts": True, "appointments": False, "tasks": False}
    factory.save()
    assert run_cli(isolated_home, "offline", "go", "--yes").returncode == 0
    assert run_cli(isolated_home, "offline", "online", "--yes", "--no-sync").returncode == 0
    assert not factory.where.state_db.exists()  # no messaging sync ran

    assert run_cli(isolated_home, "offline", "go", "--yes").returncode == 0
    created = run_cli(isolated_home, "records", "create", "contacts", "--set", "lastname=Offline-Zander")
    assert created.returncode == 0, created.stderr
    online = run_cli(isolated_home, "offline", "online", "--yes")
    assert online.returncode == 0, online.stderr
    assert "Sent 1 new" in online.stdout
    assert "Synchronizing email, contacts, appointments and tasks" in online.stderr
    with StateDB.open(factory.where.state_db) as state:
        assert len(state.runs(5)) == 1  # the messaging sync ran once, after the replay
