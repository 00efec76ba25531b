"""``d365sync offline …`` and ``d365sync records …`` against the stand-ins (issue 14, DESIGN §3)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from wizard.app.factory import Factory


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
