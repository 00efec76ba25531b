"""Change tracking (Prefer: odata.track-changes, delta links, $deletedEntity) of the Dataverse stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from tests.contract.sandbox.conftest import Client
from tests.contract.sandbox.samples import assert_same_shape, load_json

TRACK = {"Prefer": "odata.track-changes"}


def _initial(client: Client, select: str = "name,accountnumber,telephone1,fax") -> dict:
    response = client.get(f"accounts?$select={select}", headers=TRACK)
    assert response.status_code == 200, response.text
    assert response.headers["Preference-Applied"] == "odata.track-changes"
    return response.json()


def test_initial_and_delta_match_samples(client: Client) -> None:
    kept = client.create("accounts", {"name": "Monte Orton", "telephone1": "555000", "fax": "10101"})
    doomed = client.create("accounts", {"name": "Doomed"})
    initial = _initial(client)
    assert_same_shape(initial, load_json("change-tracking-initial-response.json"))
    assert list(initial)[:2] == ["@odata.context", "@odata.deltaLink"]
    assert {r["accountid"] for r in initial["value"]} == {kept, doomed}
    assert "$deltatoken=" in initial["@odata.deltaLink"]
    assert initial["@odata.deltaLink"].startswith(
        client.env.url + "/api/data/v9.2/accounts?$select=name,accountnumber"
    )

    client.patch(f"accounts({kept})", json={"telephone1": "555001"})
    client.delete(f"accounts({doomed})")
    delta = client.get(initial["@odata.deltaLink"], headers=TRACK).json()
    sample = load_json("change-tracking-delta-response-with-deleted.json")
    assert_same_shape(
        delta, {**sample, "value": [sample["value"][0] | {"accountnumber": None}, sample["value"][1]]}
    )
    assert delta["@odata.context"].endswith("/$metadata#accounts(name,accountnumber,telephone1,fax)/$delta")
    assert delta["@odata.context"].startswith(client.env.url + "/api/data/v9.2/")
    changed, deleted = delta["value"]
    assert changed["accountid"] == kept and changed["telephone1"] == "555001"
    assert deleted == {
        "@odata.context": client.env.url + "/api/data/v9.2/$metadata#accounts/$deletedEntity",
        "id": doomed,
        "reason": "deleted",
    }
    again = client.get(delta["@odata.deltaLink"], headers=TRACK).json()
    assert again["value"] == []
    assert again["@odata.deltaLink"] != ""


def test_created_and_deleted_between_polls_is_reported_deleted_and_news_first(client: Client) -> None:
    initial = _initial(client, "name")
    ghost = client.create("accounts", {"name": "Ghost"})
    client.delete(f"accounts({ghost})")
    fresh = client.create("accounts", {"name": "Fresh"})
    delta = client.get(initial["@odata.deltaLink"]).json()
    assert [v.get("accountid") or v.get("id") for v in delta["value"]] == [fresh, ghost]
    assert delta["value"][1]["reason"] == "deleted"


def test_token_is_opaque_version_and_timestamp(client: Client) -> None:
    link = _initial(client, "name")["@odata.deltaLink"]
    token = unquote(link.split("$deltatoken=")[1])
    version, stamp = token.split("!")
    assert version.isdigit()
    datetime.strptime(stamp, "%m/%d/%Y %H:%M:%S")
    assert "%21" in link and "%2f" in link  # encoded like the sample's token


def test_expired_token_after_seven_days(client: Client) -> None:
    store = client.env.store
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    store.clock = lambda: start
    link = _initial(client, "name")["@odata.deltaLink"]
    store.clock = lambda: start + timedelta(days=6, hours=23)
    assert client.get(link).status_code == 200
    store.clock = lambda: start + timedelta(days=7, seconds=1)
    expired = client.get(link)
    assert expired.status_code == 400
    assert expired.json() == {
        "error": {
            "code": "0x80044352",
            "message": "Version stamp associated with the client has expired. Please perform a full sync.",
        }
    }


def test_table_without_tracking_answers_the_service_error(client: Client) -> None:
    client.env.store.set_tracking("accounts", False)
    response = client.get("accounts?$select=name", headers=TRACK)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80072491",
        "message": "Entity account isn't enabled for change tracking.",
    }
    # the fallback the client uses still works
    assert client.get("accounts?$select=name&$filter=modifiedon gt 2020-01-01T00:00:00Z").status_code == 200
    client.env.store.set_tracking("accounts", True)
    assert client.get("accounts?$select=name", headers=TRACK).status_code == 200


@pytest.mark.parametrize(
    "option", ["$filter=name eq 'x'", "$orderby=name", "$expand=primarycontactid", "$top=5"]
)
def test_forbidden_query_options(client: Client, option: str) -> None:
    response = client.get(f"accounts?$select=name&{option}", headers=TRACK)
    assert response.status_code == 400
    name = option.split("=")[0]
    assert (
        response.json()["error"]["message"]
        == f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.'
    )


def test_tracking_pages_and_delta_after_paging(client: Client) -> None:
    client.env.store.bulk_create("contacts", ({"lastname": f"L{i}"} for i in range(5)))
    headers = {"Prefer": "odata.track-changes,odata.maxpagesize=2"}
    url = "contacts?$select=lastname"
    ids: list[str] = []
    delta_link = ""
    while url:
        document = client.get(url, headers=headers).json()
        ids += [r["contactid"] for r in document["value"]]
        if "@odata.nextLink" in document:
            assert "@odata.deltaLink" not in document
            # a change during paging must show up in the next delta
            if len(ids) == 2:
                client.patch(f"contacts({ids[0]})", json={"lastname": "Changed"})
        delta_link = document.get("@odata.deltaLink", delta_link)
        url = document.get("@odata.nextLink", "")
    assert len(set(ids)) == 5
    changes = client.get(delta_link).json()["value"]
    assert [c["contactid"] for c in changes] == [ids[0]]
