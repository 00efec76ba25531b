"""Recurring appointment masters in the Dataverse stand-in: instances, exceptions, deleted occurrences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.contract.sandbox.conftest import Client

SELECT = "activityid,subject,scheduledstart,originalstartdate,instancetypecode,_seriesid_value,statecode"


def _start() -> datetime:
    """Tomorrow 08:00 UTC, so every occurrence is inside the expansion window."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _master(client: Client, **extra: Any) -> str:
    start = _start()
    body = {
        "subject": "Stand-up",
        "location": "Room 1",
        "starttime": _iso(start),
        "endtime": _iso(start + timedelta(minutes=15)),
        "recurrencepatterntype": 0,
        "interval": 1,
        "patternstartdate": _iso(start.replace(hour=0)),
        "patternendtype": 2,
        "occurrences": 4,
        "recurringappointmentmaster_activity_parties": [
            {"participationtypemask": 7, "partyid_systemuser@odata.bind": f"systemusers({client.user_id})"}
        ],
        **extra,
    }
    return client.create("recurringappointmentmasters", body)


def _instances(client: Client, master_id: str) -> list[dict[str, Any]]:
    response = client.get(
        f"appointments?$select={SELECT}&$filter=_seriesid_value eq {master_id}&$orderby=originalstartdate"
        "&$expand=appointment_activity_parties($select=participationtypemask,_partyid_value)"
    )
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def test_a_new_master_gets_its_instances_with_parties(client: Client) -> None:
    master_id = _master(client)
    rows = _instances(client, master_id)
    start = _start()
    assert [r["scheduledstart"] for r in rows] == [_iso(start + timedelta(days=n)) for n in range(4)]
    assert {r["instancetypecode"] for r in rows} == {2}
    assert {r["subject"] for r in rows} == {"Stand-up"}
    assert all(r["originalstartdate"] == r["scheduledstart"] for r in rows)
    assert all(r["appointment_activity_parties"][0]["_partyid_value"] == client.user_id for r in rows)


def test_changing_an_instance_makes_an_exception_and_deleting_it_a_deleted_occurrence(client: Client) -> None:
    master_id = _master(client)
    first, second, third, _ = _instances(client, master_id)
    moved = _iso(_start() + timedelta(days=1, hours=3))
    assert (
        client.patch(f"appointments({second['activityid']})", json={"scheduledstart": moved}).status_code
        == 204
    )
    assert client.delete(f"appointments({third['activityid']})").status_code == 204
    rows = {r["activityid"]: r for r in _instances(client, master_id)}
    assert rows[second["activityid"]]["instancetypecode"] == 3
    assert rows[second["activityid"]]["originalstartdate"] == second["originalstartdate"]
    assert rows[first["activityid"]]["instancetypecode"] == 2 and third["activityid"] not in rows
    master = client.get(f"recurringappointmentmasters({master_id})?$select=deletedexceptionslist").json()
    assert master["deletedexceptionslist"] == third["originalstartdate"]
    # the list is the server's: what a client writes to it is ignored
    client.patch(f"recurringappointmentmasters({master_id})", json={"deletedexceptionslist": ""})
    master = client.get(f"recurringappointmentmasters({master_id})?$select=deletedexceptionslist").json()
    assert master["deletedexceptionslist"] == third["originalstartdate"]


def test_master_updates_reach_instances_and_a_new_pattern_regenerates(client: Client) -> None:
    master_id = _master(client)
    first, second, _, _ = _instances(client, master_id)
    client.patch(f"appointments({second['activityid']})", json={"subject": "Special"})
    client.delete(f"appointments({first['activityid']})")
    client.patch(f"recurringappointmentmasters({master_id})", json={"location": "Room 2"})
    rows = _instances(client, master_id)
    assert len(rows) == 3
    assert [r["subject"] for r in rows] == ["Special", "Stand-up", "Stand-up"]
    client.patch(f"recurringappointmentmasters({master_id})", json={"occurrences": 2})
    rows = _instances(client, master_id)
    assert [(r["subject"], r["instancetypecode"]) for r in rows] == [("Stand-up", 2), ("Stand-up", 2)]
    master = client.get(f"recurringappointmentmasters({master_id})?$select=deletedexceptionslist").json()
    assert master["deletedexceptionslist"] is None
    assert client.delete(f"recurringappointmentmasters({master_id})").status_code == 204
    assert _instances(client, master_id) == []


def test_instances_exist_only_inside_the_organizations_expansion_window(client: Client) -> None:
    """The partial expansion model: instances from pastexpansionwindow months ago to futureexpansionwindow
    months ahead (organization columns); the expansion job adds the later ones as the window moves, and
    leaves deleted occurrences and exceptions alone."""
    env = client.env
    org = client.get(f"organizations({env.org.id})?$select=pastexpansionwindow,futureexpansionwindow").json()
    assert (org["pastexpansionwindow"], org["futureexpansionwindow"]) == (1, 4)
    weekly = {  # every week, no end
        "recurrencepatterntype": 1,
        "daysofweekmask": 1 << ((_start().weekday() + 1) % 7),
        "patternendtype": 1,
        "occurrences": None,
    }
    master_id = _master(client, **weekly)
    first = _instances(client, master_id)
    last = datetime.fromisoformat(first[-1]["originalstartdate"].replace("Z", "+00:00"))
    assert 15 <= len(first) <= 19 and last - _start() <= timedelta(days=124)  # four months of weeks
    # an exception and a deleted occurrence, then the window grows to a year and the job runs
    response = client.patch(f"appointments({first[1]['activityid']})", json={"subject": "Moved"})
    assert response.status_code == 204, response.text
    assert client.delete(f"appointments({first[2]['activityid']})").status_code == 204
    assert env.run_expansion_job() == 0  # nothing new inside the same window
    env.store.update("organizations", env.org.id, {"futureexpansionwindow": 12})
    made = env.run_expansion_job()
    later = _instances(client, master_id)
    assert 30 <= made <= 38 and len(later) == len(first) - 1 + made
    by_date = {r["originalstartdate"]: r for r in later}
    assert by_date[first[1]["originalstartdate"]]["instancetypecode"] == 3  # the exception stays as it was
    assert first[2]["originalstartdate"] not in by_date  # a deleted occurrence is not made again
    assert env.run_expansion_job() == 0
