"""The Graph stand-in's recurring events on the wire: instances, exceptions, cancellations, calendarView delta."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.unit.sandbox.test_graph_standin import (  # noqa: F401  (fixtures)
    ANNA,
    directory,
    signer,
    standin,
    tls,
)
from wizard.sandbox.directory import Directory
from wizard.sandbox.graph import GraphStandIn
from wizard.sandbox.graph.instances import occurrence_id, parse_occurrence_id, pattern_dates
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenSigner

JOERG = "joerg.baer@contoso.com"
WINDOW = "startDateTime=2027-01-01T00:00:00Z&endDateTime=2027-06-01T00:00:00Z"
UTC_TIMES = {"Prefer": 'outlook.timezone="UTC"'}


@pytest.fixture
def http(standin: GraphStandIn, tls: SandboxTLS, signer: TokenSigner, directory: Directory) -> Iterator[Any]:  # noqa: F811
    user = directory.user(ANNA)
    assert user is not None
    token = signer.issue(oid=user.oid, upn=user.upn, tenant_id=directory.tenant_id, audience=standin.base_url)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("https://") else standin.url + path
        return session.request(method, url, timeout=10, verify=str(tls.ca_file), **kwargs)

    yield call
    session.close()


def _series(http: Any, count: int = 5, **extra: Any) -> dict[str, Any]:
    body = {
        "subject": "Stand-up",
        "location": {"displayName": "Room 1"},
        "start": {"dateTime": "2027-03-01T08:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-01T08:15:00", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2027-03-01", "numberOfOccurrences": count},
        },
        **extra,
    }
    response = http("POST", "/me/calendar/events", json=body)
    assert response.status_code == 201, response.text
    created = dict(response.json())
    assert created["type"] == "seriesMaster"
    return created


def _instances(http: Any, master_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    response = http("GET", f"/me/events/{master_id}/instances?{WINDOW}", headers=UTC_TIMES, **kwargs)
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def test_instances_list_occurrences_with_their_original_start_and_page(http: Any) -> None:
    master = _series(http)
    assert http("GET", f"/me/events/{master['id']}/instances").status_code == 400  # a window is required
    rows = _instances(http, master["id"])
    assert [r["type"] for r in rows] == ["occurrence"] * 5
    assert {r["seriesMasterId"] for r in rows} == {master["id"]}
    assert [r["originalStart"] for r in rows] == [f"2027-03-0{d}T08:00:00Z" for d in range(1, 6)]
    assert rows[2]["start"]["dateTime"].startswith("2027-03-03T08:00:00") and rows[2]["subject"] == "Stand-up"
    assert len({r["id"] for r in rows}) == 5 and master["id"] not in {r["id"] for r in rows}
    # paging like other lists; a narrower window lists fewer
    page = http("GET", f"/me/events/{master['id']}/instances?{WINDOW}&$top=2").json()
    assert len(page["value"]) == 2 and "$skip=2" in page["@odata.nextLink"]
    narrow = http(
        "GET",
        f"/me/events/{master['id']}/instances?startDateTime=2027-03-02T00:00:00Z&endDateTime=2027-03-03T00:00:00Z",
    ).json()["value"]
    assert [r["originalStart"] for r in narrow] == ["2027-03-02T08:00:00Z"]
    # the events list shows the master, never its instances
    listed = http("GET", "/me/calendar/events").json()["value"]
    assert [e["id"] for e in listed] == [master["id"]]


def test_patch_makes_an_exception_and_delete_cancels_the_occurrence(http: Any, standin: GraphStandIn) -> None:  # noqa: F811
    master = _series(http)
    rows = _instances(http, master["id"])
    moved = {
        "subject": "Stand-up (late)",
        "start": {"dateTime": "2027-03-02T15:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-02T16:00:00", "timeZone": "UTC"},
    }
    stale = http("PATCH", f"/me/events/{rows[1]['id']}", json=moved, headers={"If-Match": 'W/"stale"'})
    assert stale.status_code == 412
    patched = http("PATCH", f"/me/events/{rows[1]['id']}", json=moved, headers=UTC_TIMES)
    assert patched.status_code == 200 and patched.json()["type"] == "exception"
    assert http("DELETE", f"/me/events/{rows[3]['id']}").status_code == 204
    assert http("GET", f"/me/events/{rows[3]['id']}").status_code == 404
    assert http("DELETE", f"/me/events/{rows[3]['id']}").status_code == 404
    after = _instances(http, master["id"])
    assert [(r["originalStart"][:10], r["type"]) for r in after] == [
        ("2027-03-01", "occurrence"),
        ("2027-03-02", "exception"),
        ("2027-03-03", "occurrence"),
        ("2027-03-05", "occurrence"),
    ]
    exception = after[1]
    assert exception["subject"] == "Stand-up (late)" and exception["start"]["dateTime"].startswith(
        "2027-03-02T15:00"
    )
    assert exception["id"] == rows[1]["id"]  # an instance keeps its id when it becomes an exception
    # the exception is kept in the master: its change key moved on
    again = http("GET", f"/me/events/{master['id']}").json()
    assert again["changeKey"] != master["changeKey"] and again["type"] == "seriesMaster"
    # an occurrence cannot get its own pattern; ids of dates the pattern lacks are not found
    bad = http("PATCH", f"/me/events/{rows[0]['id']}", json={"recurrence": master["recurrence"]})
    assert bad.status_code == 400
    assert (
        http(
            "GET",
            f"/me/events/{occurrence_id(master['id'], pattern_dates(master['recurrence'])[-1].replace(year=2030))}",
        ).status_code
        == 404
    )
    assert standin.invitations == [] and standin.cancellations == []


def test_a_new_recurrence_drops_exceptions_other_changes_keep_them(http: Any) -> None:
    master = _series(http)
    rows = _instances(http, master["id"])
    http("PATCH", f"/me/events/{rows[1]['id']}", json={"subject": "Special"})
    http("DELETE", f"/me/events/{rows[2]['id']}")
    assert http("PATCH", f"/me/events/{master['id']}", json={"subject": "Daily"}).status_code == 200
    kept = _instances(http, master["id"])
    assert [r["type"] for r in kept] == ["occurrence", "exception", "occurrence", "occurrence"]
    assert [r["subject"] for r in kept] == ["Daily", "Special", "Daily", "Daily"]
    recurrence = dict(master["recurrence"])
    recurrence["range"] = {**recurrence["range"], "numberOfOccurrences": 6}
    assert http("PATCH", f"/me/events/{master['id']}", json={"recurrence": recurrence}).status_code == 200
    fresh = _instances(http, master["id"])
    assert [r["type"] for r in fresh] == ["occurrence"] * 6
    broken = {"pattern": {"type": "fortnightly", "interval": 1}, "range": recurrence["range"]}
    assert http("PATCH", f"/me/events/{master['id']}", json={"recurrence": broken}).status_code == 400


def test_calendar_view_delta_lists_instances_not_masters_and_cancellations_as_removed(http: Any) -> None:
    master = _series(http, count=3)
    single = http(
        "POST",
        "/me/calendar/events",
        json={
            "subject": "One-off",
            "start": {"dateTime": "2027-03-10T08:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-10T09:00:00", "timeZone": "UTC"},
        },
    ).json()
    select = "$select=id,type,seriesMasterId,originalStart"
    first = http("GET", f"/me/calendarView/delta?{WINDOW}&{select}").json()
    rows = first["value"]
    assert [r.get("type") for r in rows] == ["occurrence"] * 3 + ["singleInstance"]
    assert {r["seriesMasterId"] for r in rows[:3]} == {master["id"]} and rows[3]["id"] == single["id"]
    assert master["id"] not in {r["id"] for r in rows}
    delta_link = first["@odata.deltaLink"]
    assert http("GET", delta_link).json()["value"] == []
    # cancelling one: an @removed row for that instance, the series' other instances listed again
    assert http("DELETE", f"/me/events/{rows[1]['id']}").status_code == 204
    changes = http("GET", delta_link).json()
    assert [(r["id"], "@removed" in r) for r in changes["value"]] == [
        (rows[0]["id"], False),
        (rows[2]["id"], False),
        (rows[1]["id"], True),
    ]
    # deleting the master: the series is reported removed by the master's id
    http("DELETE", f"/me/events/{master['id']}")
    gone = http("GET", changes["@odata.deltaLink"]).json()["value"]
    assert [(r["id"], r["@removed"]["reason"]) for r in gone] == [(master["id"], "deleted")]


def test_instances_of_a_meeting_notify_its_attendees(http: Any, standin: GraphStandIn) -> None:  # noqa: F811
    meeting = _series(http, attendees=[{"emailAddress": {"address": JOERG}, "type": "required"}])
    assert len(standin.invitations) == 1
    rows = _instances(http, meeting["id"])
    http("PATCH", f"/me/events/{rows[0]['id']}", json={"subject": "Moved"})
    http("DELETE", f"/me/events/{rows[1]['id']}")
    assert [s for _, _, s in standin.invitations] == ["Stand-up", "Moved"]
    assert standin.cancellations == [(ANNA, "Stand-up", "2027-03-02")]


@pytest.mark.parametrize(
    ("pattern", "rng", "expected"),
    [
        (
            {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["monday", "thursday"],
                "firstDayOfWeek": "sunday",
            },
            {"type": "numbered", "startDate": "2027-03-02", "numberOfOccurrences": 4},
            ["2027-03-04", "2027-03-15", "2027-03-18", "2027-03-29"],
        ),
        (
            {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
            {"type": "endDate", "startDate": "2027-01-31", "endDate": "2027-04-30"},
            ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"],
        ),
        (
            {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
            {"type": "numbered", "startDate": "2027-01-01", "numberOfOccurrences": 3},
            ["2027-01-29", "2027-02-26", "2027-03-26"],
        ),
        (
            {"type": "relativeYearly", "interval": 1, "daysOfWeek": ["monday"], "index": "first", "month": 9},
            {"type": "numbered", "startDate": "2027-01-01", "numberOfOccurrences": 2},
            ["2027-09-06", "2028-09-04"],
        ),
        (
            {"type": "daily", "interval": 3},
            {"type": "noEnd", "startDate": "2027-01-01"},
            ["2027-01-01", "2027-01-04", "2027-01-07"],
        ),
    ],
    ids=["weekly-every-2", "monthly-31st", "last-friday", "yearly-relative", "daily-no-end"],
)
def test_pattern_expansion(pattern: dict[str, Any], rng: dict[str, Any], expected: list[str]) -> None:
    dates = pattern_dates({"pattern": pattern, "range": rng})
    assert [d.isoformat() for d in dates[: len(expected)]] == expected
    assert len(dates) == (999 if rng["type"] == "noEnd" else len(expected))


def test_occurrence_ids_are_opaque_but_decodable() -> None:
    from datetime import date

    made = occurrence_id("AAMkAbc-_1", date(2027, 3, 1))
    assert "AAMkAbc" not in made[7:] and parse_occurrence_id(made) == ("AAMkAbc-_1", date(2027, 3, 1))
    assert parse_occurrence_id("AAMkAbc") is None and parse_occurrence_id("AAMkOCC!!") is None
