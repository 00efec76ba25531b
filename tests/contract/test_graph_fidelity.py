"""The Graph stand-in against Microsoft's documentation, on the wire, for what clients nobody here wrote send:
the ``delta()`` function-call form, OData action parameters in any case, ``Prefer: outlook.timezone`` with
Windows and IANA zone names, and ``$filter`` on messages (issue 13). Each test names the page it follows."""

from __future__ import annotations

import http.client as http_client
import json
import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from wizard.sandbox.directory import Directory, demo_directory
from wizard.sandbox.graph import GraphStandIn
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner

ANNA = "anna.schmidt@contoso.com"
JOERG = "joerg.baer@contoso.com"
WINDOW = "startDateTime=2026-01-01T00:00:00Z&endDateTime=2027-12-31T00:00:00Z"
Http = Any  # call(method, path, **kwargs) -> requests.Response


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return make_tls(tmp_path_factory.mktemp("graph-fidelity-ca"))


@pytest.fixture
def directory() -> Directory:
    return demo_directory()


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner()


@pytest.fixture
def standin(directory: Directory, tls: SandboxTLS, signer: TokenSigner) -> Iterator[GraphStandIn]:
    with GraphStandIn(directory, tls=tls, signer=signer) as server:
        yield server


@pytest.fixture
def http(standin: GraphStandIn, tls: SandboxTLS, signer: TokenSigner, directory: Directory) -> Iterator[Http]:
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


def _ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


def _event(http: Http, subject: str, start: str, end: str, zone: str, **extra: Any) -> dict[str, Any]:
    body = {
        "subject": subject,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        **extra,
    }
    return _ok(http("POST", "/me/events", json=body), 201)


def _deliver(standin: GraphStandIn, subject: str, sender: str = "bernd.weber@fabrikam.example") -> str:
    raw = (
        f"From: Bernd <{sender}>\r\nTo: {ANNA}\r\nSubject: {subject}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHallo\r\n"
    ).encode()
    return standin.deliver(ANNA, raw).id


def _inbox_item(standin: GraphStandIn, item_id: str) -> dict[str, Any]:
    """The stored resource of a message in Anna's Inbox (to date it back, as mail received earlier)."""
    entry = standin.data.get(standin.mailbox(ANNA), item_id, ("inbox",))
    assert entry is not None
    return entry.resource


# -- 1. delta() ----------------------------------------------------------------------------------------------


def _round(http: Http, first: str) -> tuple[list[str], list[str], str]:
    """One delta round from ``first`` to its deltaLink, two rows a page: (ids, link paths, deltaLink)."""
    prefer = {"Prefer": "odata.maxpagesize=2"}
    page = _ok(http("GET", first, headers=prefer))
    ids: list[str] = []
    links: list[str] = []
    while True:
        ids += [row["id"] for row in page["value"]]
        assert not ("@odata.nextLink" in page and "@odata.deltaLink" in page)
        link = page.get("@odata.nextLink") or page["@odata.deltaLink"]
        links.append(link.split("?", 1)[0])
        if "@odata.deltaLink" in page:
            return ids, links, link
        page = _ok(http("GET", link, headers=prefer))


@pytest.mark.parametrize("function", ["delta()", "microsoft.graph.delta()", "microsoft.graph.delta", "delta"])
@pytest.mark.parametrize(
    "family", ["contacts", "contactFolder", "calendarView", "messages", "messagesByKey", "tasks"]
)
def test_delta_is_accepted_in_its_function_call_forms(
    http: Http, standin: GraphStandIn, family: str, function: str
) -> None:
    """Delta query overview ("Use delta query to track changes in Microsoft Graph data",
    learn.microsoft.com/graph/delta-query-overview): "/delta is a shortcut for the fully qualified name
    /microsoft.graph.delta"; Graph's API description (and every SDK generated from it) calls the function as
    ``…/delta()``. The per-resource pages: contact-delta (``/me/contactFolders/{id}/contacts/delta``),
    event-delta (``/me/calendarView/delta?startDateTime=&endDateTime=``), message-delta
    (``/me/mailFolders/{id}/messages/delta``; its response example links to ``/me/mailfolders/{id}/messages/
    delta?$skiptoken=``), todoTask-delta (``/me/todo/lists/{id}/tasks/delta``). The links of a round keep the
    request's own path, so a client follows them as given."""
    folder = ""
    if family in ("contacts", "contactFolder"):
        made = [_ok(http("POST", "/me/contacts", json={"givenName": f"C{n}"}), 201) for n in range(3)]
        folder = made[0]["parentFolderId"]
    elif family == "calendarView":
        made = [
            _event(http, f"E{n}", f"2026-0{n + 1}-05T09:00:00", f"2026-0{n + 1}-05T10:00:00", "UTC")
            for n in range(3)
        ]
    elif family == "tasks":
        list_id = _ok(http("GET", "/me/todo/lists"))["value"][0]["id"]
        made = [
            _ok(http("POST", f"/me/todo/lists/{list_id}/tasks", json={"title": f"T{n}"}), 201)
            for n in range(3)
        ]
    else:
        made = [{"id": _deliver(standin, f"M{n}")} for n in range(3)]
    path = {
        "contacts": f"/me/contacts/{function}",
        "contactFolder": f"/me/contactFolders/{folder}/contacts/{function}",
        "calendarView": f"/me/calendarView/{function}?{WINDOW}",
        "messages": f"/me/mailFolders/inbox/messages/{function}",
        "messagesByKey": f"/me/mailFolders('Inbox')/messages/{function}",
        "tasks": f"/me/todo/lists/{list_id}/tasks/{function}" if family == "tasks" else "",
    }[family]
    ids, links, delta_link = _round(http, path)
    assert ids == [m["id"] for m in made]
    assert set(links) == {standin.url + path.split("?", 1)[0]}
    quiet = _ok(http("GET", delta_link))
    assert quiet["value"] == [] and "@odata.deltaLink" in quiet


@pytest.mark.parametrize("path", ["/me/events/{f}", "/me/messages/{f}"])
def test_delta_where_v1_has_none_is_refused_in_every_form(http: Http, path: str) -> None:
    """event-delta documents v1.0 change tracking of events on calendarView only, message-delta per mail
    folder only: ``/me/events/delta`` and ``/me/messages/delta`` answer 400 in every spelling."""
    answers = [http("GET", path.format(f=f)) for f in ("delta", "delta()", "microsoft.graph.delta()")]
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert len({a.json()["error"]["code"] for a in answers}) == 1


# -- 2. action parameters --------------------------------------------------------------------------------------


def test_send_mail_parameters_match_case_insensitively(http: Http, standin: GraphStandIn) -> None:
    """user-sendmail (learn.microsoft.com/graph/api/user-sendmail): the action's parameters are ``Message`` and
    ``SaveToSentItems`` (so spelt in Graph's metadata, and so sent by generated clients); OData matches action
    parameters case-insensitively in Graph, as it does segments and query options, and refuses a parameter the
    action does not have."""
    message = {
        "subject": "Gruß",
        "body": {"contentType": "Text", "content": "Hallo"},
        "toRecipients": [{"emailAddress": {"address": JOERG}}],
    }
    response = http("POST", "/me/sendMail", json={"Message": message, "SaveToSentItems": False})
    assert response.status_code == 202, response.text
    assert [to for _, to, _ in standin.transport] == [[JOERG]]
    assert standin.data.items(standin.mailbox(ANNA), "sentitems") == []
    assert [e.resource["subject"] for e in standin.data.items(standin.mailbox(JOERG), "inbox")] == ["Gruß"]
    # the camel-case spelling of the reference page keeps working; a missing message is still refused
    _ok(http("POST", "/me/sendMail", json={"message": message, "saveToSentItems": True}), 202)
    assert len(standin.data.items(standin.mailbox(ANNA), "sentitems")) == 1
    missing = http("POST", "/me/sendMail", json={"SaveToSentItems": True})
    assert missing.status_code == 400 and "message" in missing.json()["error"]["message"].lower()
    unknown = http("POST", "/me/sendMail", json={"Message": message, "SaveToDrafts": True})
    assert unknown.status_code == 400 and "'SaveToDrafts'" in unknown.json()["error"]["message"]
    # the same action inside a $batch
    batch = {
        "requests": [
            {
                "id": "1",
                "method": "POST",
                "url": "/me/sendMail",
                "headers": {"Content-Type": "application/json"},
                "body": {"MESSAGE": message, "saveToSentItems": False},
            }
        ]
    }
    assert _ok(http("POST", "/$batch", json=batch))["responses"][0]["status"] == 202


# -- 3. time zones ---------------------------------------------------------------------------------------------


def _start(resource: dict[str, Any]) -> tuple[str, str]:
    return resource["start"]["dateTime"][:19], resource["start"]["timeZone"]


@pytest.mark.parametrize(
    ("written", "zone"),
    [
        ("2026-01-15T09:00:00", "W. Europe Standard Time"),
        ("2026-01-15T09:00:00", "Europe/Berlin"),
        ("2026-01-15T00:00:00", "Pacific Standard Time"),
        ("2026-01-15T03:00:00", "America/New_York"),
        ("2026-01-15T08:00:00", "UTC"),
    ],
)
def test_event_times_come_back_in_utc_unless_a_zone_is_preferred(http: Http, written: str, zone: str) -> None:
    """event-get / user-list-events, "Support various time zones": "If the Prefer: outlook.timezone header is
    not specified, the start and end times are returned in UTC"; with it, in that zone (Windows names such as
    "Eastern Standard Time" and the IANA names of dateTimeTimeZone's list). The answer carries
    ``Preference-Applied`` (RFC 7240 section 3; the Graph pages show it for ``odata.maxpagesize`` only).
    Windows names map with CLDR's windowsZones. An 08:00 UTC meeting never reads 09:00.
    "List calendarView" (learn.microsoft.com/graph/api/user-list-calendarview) and event-delta take the header
    the same way."""
    end = written[:11] + f"{int(written[11:13]) + 1:02d}" + written[13:]
    created = _event(http, "Termin", written, end, zone)
    assert created["originalStartTimeZone"] == zone
    plain = http("GET", f"/me/events/{created['id']}")
    assert _start(_ok(plain)) == ("2026-01-15T08:00:00", "UTC")
    assert "Preference-Applied" not in plain.headers
    for preferred, local in [
        ("W. Europe Standard Time", "09:00"),
        ("Europe/Berlin", "09:00"),
        ("Pacific Standard Time", "00:00"),
        ("UTC", "08:00"),
    ]:
        header = f'outlook.timezone="{preferred}"'
        answer = http("GET", f"/me/events/{created['id']}", headers={"Prefer": header})
        assert _start(_ok(answer)) == (f"2026-01-15T{local}:00", preferred)
        assert answer.headers["Preference-Applied"] == header
    listed = http("GET", "/me/events", headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'})
    assert [_start(e) for e in _ok(listed)["value"]] == [("2026-01-15T00:00:00", "Pacific Standard Time")]
    assert listed.headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'
    view = http("GET", f"/me/calendarView?{WINDOW}", headers={"Prefer": 'outlook.timezone="Europe/Berlin"'})
    assert [_start(e) for e in _ok(view)["value"]] == [("2026-01-15T09:00:00", "Europe/Berlin")]
    assert view.headers["Preference-Applied"] == 'outlook.timezone="Europe/Berlin"'
    delta = http("GET", f"/me/calendarView/delta()?{WINDOW}")
    assert [_start(e) for e in _ok(delta)["value"]] == [("2026-01-15T08:00:00", "UTC")]


def test_a_windows_zone_series_keeps_its_wall_clock_time_across_dst(http: Http) -> None:
    """event resource / patternedRecurrence (recurrenceRange.recurrenceTimeZone "the time zone for the
    startDate and endDate"): a weekly 09:00 series in W. Europe Standard Time is 08:00 UTC in winter and 07:00
    UTC after the clocks change (29 March 2026); instances and calendarView delta read in UTC by default."""
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "monday"},
        "range": {
            "type": "numbered",
            "numberOfOccurrences": 3,
            "startDate": "2026-03-23",
            "recurrenceTimeZone": "W. Europe Standard Time",
        },
    }
    zone = "W. Europe Standard Time"
    master = _event(
        http, "Jour fixe", "2026-03-23T09:00:00", "2026-03-23T10:00:00", zone, recurrence=recurrence
    )
    window = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-05-01T00:00:00Z"
    instances = _ok(http("GET", f"/me/events/{master['id']}/instances?{window}"))["value"]
    assert [_start(i) for i in instances] == [
        ("2026-03-23T08:00:00", "UTC"),
        ("2026-03-30T07:00:00", "UTC"),
        ("2026-04-06T07:00:00", "UTC"),
    ]
    view = _ok(http("GET", f"/me/calendarView?{window}&$top=2"))
    assert [_start(i) for i in view["value"]] == [
        ("2026-03-23T08:00:00", "UTC"),
        ("2026-03-30T07:00:00", "UTC"),
    ]
    assert all(i["type"] == "occurrence" and i["seriesMasterId"] == master["id"] for i in view["value"])
    assert [_start(i) for i in _ok(http("GET", view["@odata.nextLink"]))["value"]] == [
        ("2026-04-06T07:00:00", "UTC")
    ]
    local = http("GET", f"/me/calendarView/delta?{window}", headers={"Prefer": f'outlook.timezone="{zone}"'})
    assert {_start(i) for i in _ok(local)["value"]} == {
        ("2026-03-23T09:00:00", zone),
        ("2026-03-30T09:00:00", zone),
        ("2026-04-06T09:00:00", zone),
    }


def test_preferences_in_separate_prefer_headers_all_apply(
    http: Http, standin: GraphStandIn, tls: SandboxTLS, signer: TokenSigner, directory: Directory
) -> None:
    """RFC 7240 / RFC 9110 section 5.3: ``Prefer`` may be sent as several header lines, one preference each (as
    some clients do for ``odata.maxpagesize`` and ``outlook.timezone``); they combine into one list."""
    for day in (15, 16):
        _event(http, "P", f"2026-01-{day}T09:00:00", f"2026-01-{day}T10:00:00", "W. Europe Standard Time")
    user = directory.user(ANNA)
    assert user is not None
    token = signer.issue(oid=user.oid, upn=user.upn, tenant_id=directory.tenant_id, audience=standin.base_url)
    host, port = standin.base_url.split("//", 1)[1].split(":")
    connection = http_client.HTTPSConnection(
        host, int(port), context=ssl.create_default_context(cafile=str(tls.ca_file))
    )
    try:
        connection.putrequest("GET", "/v1.0/me/events")
        connection.putheader("Authorization", f"Bearer {token}")
        connection.putheader("Prefer", "odata.maxpagesize=1")
        connection.putheader("Prefer", 'outlook.timezone="Pacific Standard Time"')
        connection.endheaders()
        answer = connection.getresponse()
        page = json.loads(answer.read())
    finally:
        connection.close()
    assert answer.status == 200 and len(page["value"]) == 1 and "@odata.nextLink" in page
    assert _start(page["value"][0]) == ("2026-01-15T00:00:00", "Pacific Standard Time")


def test_all_day_events_keep_their_dates_and_zone(http: Http) -> None:
    """An all-day event's dates are not moved by ``Prefer: outlook.timezone`` (the service keeps the zone it was
    made in, as reported on Microsoft Q&A "all day events are not obeying prefer outlook timezone")."""
    made = _event(http, "Heiligabend", "2026-12-24T00:00:00", "2026-12-25T00:00:00", "W. Europe Standard Time",
                  isAllDay=True)  # fmt: skip
    for prefer in ({}, {"Prefer": 'outlook.timezone="Pacific Standard Time"'}):
        read = _ok(http("GET", f"/me/events/{made['id']}", headers=prefer))
        assert _start(read) == ("2026-12-24T00:00:00", "W. Europe Standard Time")


def test_unknown_zones_are_refused_on_write(http: Http) -> None:
    """dateTimeTimeZone (learn.microsoft.com/graph/api/resources/datetimetimezone): timeZone is one of the
    listed Windows or IANA names; another one is refused with 400, not read as UTC."""
    body = {
        "subject": "Nirgendwo",
        "start": {"dateTime": "2026-01-15T09:00:00", "timeZone": "Mars Standard Time"},
        "end": {"dateTime": "2026-01-15T10:00:00", "timeZone": "Mars Standard Time"},
    }
    answer = http("POST", "/me/events", json=body)
    assert answer.status_code == 400 and "Mars Standard Time" in answer.json()["error"]["message"]


def test_preferred_zone_inside_a_batch(http: Http) -> None:
    """JSON batching: each request carries its own headers, and so does each answer."""
    created = _event(http, "B", "2026-01-15T09:00:00", "2026-01-15T10:00:00", "W. Europe Standard Time")
    header = 'outlook.timezone="Eastern Standard Time"'
    batch = {"requests": [{"id": "1", "method": "GET", "url": f"/me/events/{created['id']}",
                           "headers": {"Prefer": header}}]}  # fmt: skip
    (answer,) = _ok(http("POST", "/$batch", json=batch))["responses"]
    assert _start(answer["body"]) == ("2026-01-15T03:00:00", "Eastern Standard Time")
    assert answer["headers"]["Preference-Applied"] == header


# -- 4. $filter on messages ------------------------------------------------------------------------------------


def _subjects(http: Http, expression: str, folder: str = "inbox") -> list[str]:
    answer = _ok(
        http("GET", f"/me/mailFolders/{folder}/messages?$filter={quote(expression)}&$select=subject")
    )
    return sorted(m["subject"] for m in answer["value"])


def test_message_filters_of_use_query_parameters(http: Http, standin: GraphStandIn) -> None:
    """ "Use query parameters" (learn.microsoft.com/graph/query-parameters) and "Use the $filter query
    parameter" (learn.microsoft.com/graph/filter-query-parameter): ``eq``/``ne``, ``ge``/``le``/``gt``/``lt``
    on date-times, ``startswith``, ``and``/``or``/``not``, parentheses, a path such as
    ``from/emailAddress/address``, Boolean literals; property names as in the metadata (Graph also reads
    them case-insensitively)."""
    first = _deliver(standin, "Angebot Maier")
    _deliver(standin, "Angebot O'Brien", sender="ob@example.org")
    _deliver(standin, "Rechnung 42")
    _inbox_item(standin, first).update(receivedDateTime="2026-01-02T10:00:00Z", isRead=True)
    assert _subjects(http, "subject eq 'Rechnung 42'") == ["Rechnung 42"]
    assert _subjects(http, "subject eq 'Angebot O''Brien'") == ["Angebot O'Brien"]
    assert _subjects(http, "startswith(subject,'Angebot')") == ["Angebot Maier", "Angebot O'Brien"]
    assert _subjects(http, "receivedDateTime le 2026-01-03T00:00:00Z") == ["Angebot Maier"]
    assert _subjects(http, "ReceivedDateTime ge 2026-01-03T00:00:00Z") == ["Angebot O'Brien", "Rechnung 42"]
    assert _subjects(http, "from/emailAddress/address eq 'ob@example.org'") == ["Angebot O'Brien"]
    assert _subjects(http, "isRead eq false") == ["Angebot O'Brien", "Rechnung 42"]
    assert _subjects(http, "isRead eq false and startswith(subject,'Angebot')") == ["Angebot O'Brien"]
    assert _subjects(http, "subject eq 'Rechnung 42' or isRead eq true") == ["Angebot Maier", "Rechnung 42"]
    assert _subjects(http, "not (startswith(subject,'Angebot')) and subject ne 'x'") == ["Rechnung 42"]
    assert _subjects(http, "(isRead eq true or subject eq 'Rechnung 42') and importance eq 'normal'") == [
        "Angebot Maier",
        "Rechnung 42",
    ]
    assert _subjects(http, "subject eq 'nothing'") == []


@pytest.mark.parametrize(
    "expression",
    [
        "subject eq",
        "subject eq 'open",
        "contains(body/content,'x') or",
        "nosuchproperty eq 'x'",
        "subject eq 'a' and",
        "subject has 'a'",
        "endswith(subject,'x'",
        "receivedDateTime ge 2026-13-45T00:00:00Z",
        "isRead gt true",
        "startswith(subject,5)",
        "categories/any(c: c eq 'x'",
        "subject eq 'a' subject",
        pytest.param("(" * 5000 + "isRead eq true" + ")" * 5000, id="deeply-nested"),
    ],
)
def test_unsupported_message_filters_are_400_error_invalid_url_query_filter(
    http: Http, expression: str
) -> None:
    """What Exchange answers for a filter it cannot run: 400 ``ErrorInvalidUrlQueryFilter`` "The query filter
    contains one or more invalid nodes." with Graph's error shape (``code``, ``message``, ``innerError``)."""
    answer = http("GET", f"/me/mailFolders/inbox/messages?$filter={quote(expression)}")
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (
        error["code"] == "ErrorInvalidUrlQueryFilter"
        and error["message"]
        and "request-id" in error["innerError"]
    )


def test_event_filters_compare_start_in_utc(http: Http) -> None:
    """ "Use the $filter query parameter" on events (learn.microsoft.com/graph/filter-query-parameter): ``start/
    dateTime`` is text compared in UTC, whatever zone the event was made in; ``$top``/``$skip`` that are not
    whole numbers are a 400, not a stand-in failure."""
    _event(http, "Berlin", "2026-01-15T09:00:00", "2026-01-15T10:00:00", "W. Europe Standard Time")
    _event(http, "Seattle", "2026-01-15T09:00:00", "2026-01-15T10:00:00", "Pacific Standard Time")
    expression = quote("start/dateTime ge '2026-01-15T08:00:00' and start/dateTime lt '2026-01-15T09:00:00'")
    found = _ok(http("GET", f"/me/events?$filter={expression}"))["value"]
    assert [e["subject"] for e in found] == ["Berlin"]
    assert http("GET", "/me/events?$top=zwei").status_code == 400
    assert http("GET", "/me/events?$skip=-1").status_code == 400


def test_message_delta_takes_only_a_received_date_filter_and_keeps_it(
    http: Http, standin: GraphStandIn
) -> None:
    """message-delta (learn.microsoft.com/graph/api/message-delta), "OData query parameters": "The only supported
    $filter expressions are $filter=receivedDateTime+ge+{value} or $filter=receivedDateTime+gt+{value}"; like
    every query option it is encoded into the nextLink and deltaLink tokens and applies to the whole round and
    the rounds after it."""
    old = _deliver(standin, "Alt")
    _inbox_item(standin, old)["receivedDateTime"] = "2026-01-02T10:00:00Z"
    fresh = [_deliver(standin, f"Neu {n}") for n in range(2)]
    query = "$filter=" + quote("receivedDateTime ge 2026-06-01T00:00:00Z")
    ids, _, delta_link = _round(http, f"/me/mailFolders/inbox/messages/delta()?{query}")
    assert ids == fresh and "$filter" not in delta_link
    assert _ok(http("PATCH", f"/me/messages/{old}", json={"isRead": True}))["isRead"] is True
    newest = _deliver(standin, "Neuer")
    assert [row["id"] for row in _ok(http("GET", delta_link))["value"]] == [newest]
    for refused in ("subject eq 'Alt'", "receivedDateTime le 2026-06-01T00:00:00Z"):
        answer = http("GET", "/me/mailFolders/inbox/messages/delta?$filter=" + quote(refused))
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "ErrorInvalidUrlQueryFilter"


def test_filters_page_and_keep_the_filter_in_the_next_link(http: Http, standin: GraphStandIn) -> None:
    """Paging ("Paging Microsoft Graph data in your app"): the nextLink carries the query, $filter included."""
    for n in range(5):
        _deliver(standin, f"Angebot {n}")
    _deliver(standin, "Rechnung")
    url = "/me/mailFolders/inbox/messages?$top=2&$filter=" + quote("startswith(subject,'Angebot')")
    seen: list[str] = []
    while url:
        page = _ok(http("GET", url))
        seen += [m["subject"] for m in page["value"]]
        url = page.get("@odata.nextLink", "")
    assert sorted(seen) == [f"Angebot {n}" for n in range(5)]


def test_send_mail_answers_202_with_no_body_and_no_media_type(http: Http) -> None:
    """user-sendmail: "If successful, this method returns 202 Accepted response code. It doesn't return anything
    in the response body." An empty answer has no ``Content-Type`` (RFC 9110 §8.3: a sender generates one only for
    content); Microsoft's JavaScript client parses every non-204 answer by its media type and failed on
    ``application/json`` with no body (found by tests/thirdparty)."""
    message = {"subject": "Leer", "toRecipients": [{"emailAddress": {"address": JOERG}}]}
    response = http("POST", "/me/sendMail", json={"message": message})
    assert response.status_code == 202, response.text
    assert response.content == b""
    assert "Content-Type" not in response.headers


def test_a_contact_created_from_its_name_parts_gets_a_display_name(http: Http) -> None:
    """user-post-contacts ("Create contact"): the request sends ``givenName`` "Pavel" and ``surname`` "Bansky"
    only; the response has ``"displayName": "Pavel Bansky"``. A display name the client sends is kept."""
    made = http("POST", "/me/contacts", json={"givenName": "Pavel", "surname": "Bansky"})
    assert made.status_code == 201, made.text
    assert made.json()["displayName"] == "Pavel Bansky"
    again = http("GET", f"/me/contacts/{made.json()['id']}")
    assert again.json()["displayName"] == "Pavel Bansky"
    named = http(
        "POST", "/me/contacts", json={"givenName": "Pavel", "surname": "Bansky", "displayName": "PB"}
    )
    assert named.json()["displayName"] == "PB"
