"""The Graph stand-in on the wire: delta rounds, JSON $batch, errors, auth, extended properties."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from wizard.sandbox.directory import Directory, demo_directory
from wizard.sandbox.graph import GraphStandIn
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner

ANNA = "anna.schmidt@contoso.com"
CRMID = "String {00020329-0000-0000-C000-000000000046} Name crmid"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return make_tls(tmp_path_factory.mktemp("graph-ca"))


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
def http(standin: GraphStandIn, tls: SandboxTLS, signer: TokenSigner, directory: Directory) -> Iterator[Any]:
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


def _contact(http: Any, name: str, **extra: Any) -> dict[str, Any]:
    response = http("POST", "/me/contacts", json={"givenName": name, "surname": "Test", **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_delta_pages_then_reports_changes_and_removals(http: Any) -> None:
    ids = [_contact(http, f"C{n}")["id"] for n in range(5)]
    prefer = {"Prefer": "odata.maxpagesize=2"}
    page = http("GET", "/me/contacts/delta", headers=prefer).json()
    seen, pages = [], 0
    while True:
        pages += 1
        seen += [row["id"] for row in page["value"]]
        assert not ("@odata.nextLink" in page and "@odata.deltaLink" in page)
        if "@odata.deltaLink" in page:
            break
        page = http("GET", page["@odata.nextLink"], headers=prefer).json()
    assert seen == ids and pages == 3
    delta_link = page["@odata.deltaLink"]
    quiet = http("GET", delta_link).json()
    assert quiet["value"] == [] and "@odata.deltaLink" in quiet

    assert http("DELETE", f"/me/contacts/{ids[0]}").status_code == 204
    assert http("PATCH", f"/me/contacts/{ids[1]}", json={"jobTitle": "CEO"}).status_code == 200
    changes = http("GET", delta_link).json()["value"]
    assert [r["id"] for r in changes] == [ids[0], ids[1]]
    assert changes[0]["@removed"] == {"reason": "deleted"} and changes[1]["jobTitle"] == "CEO"


def test_damaged_or_expired_tokens_are_410_sync_state_not_found(http: Any, standin: GraphStandIn) -> None:
    _contact(http, "A")
    delta_link = http("GET", "/me/contacts/delta").json()["@odata.deltaLink"]
    damaged = http("GET", delta_link[:-5] + "AAAAA")
    assert damaged.status_code == 410
    error = damaged.json()["error"]
    assert error["code"] == "SyncStateNotFound" and error["message"] and "request-id" in error["innerError"]
    standin.expire_delta_tokens(ANNA)
    assert http("GET", delta_link).status_code == 410
    # a token of another collection is not accepted either
    fresh = http("GET", "/me/contacts/delta").json()["@odata.deltaLink"]
    token = fresh.split("$deltatoken=", 1)[1]
    assert http("GET", f"/me/mailFolders/inbox/messages/delta?$deltatoken={token}").status_code == 410


def test_calendar_view_delta_needs_a_window(http: Any) -> None:
    assert http("GET", "/me/calendarView/delta").status_code == 400
    created = http(
        "POST",
        "/me/calendar/events",
        json={
            "subject": "In",
            "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
        },
    ).json()
    assert created["organizer"]["emailAddress"]["address"] == ANNA and created["iCalUId"]
    inside = http(
        "GET", "/me/calendarView/delta?startDateTime=2026-11-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z"
    )
    outside = http(
        "GET", "/me/calendarView/delta?startDateTime=2025-01-01T00:00:00Z&endDateTime=2025-02-01T00:00:00Z"
    )
    assert [r["id"] for r in inside.json()["value"]] == [created["id"]]
    assert outside.json()["value"] == []


def test_batch_answers_each_request_and_throttles_them_one_by_one(http: Any, standin: GraphStandIn) -> None:
    existing = _contact(http, "Da")
    standin.faults.throttle(retry_after=7, remaining=1, path_contains="/me/contacts/" + existing["id"])
    body = {
        "requests": [
            {"id": "1", "method": "POST", "url": "/me/contacts", "body": {"givenName": "Neu"},
             "headers": {"Content-Type": "application/json"}},
            {"id": "2", "method": "GET", "url": "/me/contacts/" + existing["id"]},
            {"id": "3", "method": "GET", "url": "/me/contacts/AAMkNichtDa"},
            {"id": "4", "method": "POST", "url": "/me/contacts", "body": {"nope": 1},
             "headers": {"Content-Type": "application/json"}},
        ]
    }  # fmt: skip
    answer = http("POST", "/$batch", json=body)
    assert answer.status_code == 200
    by_id = {r["id"]: r for r in answer.json()["responses"]}
    assert by_id["1"]["status"] == 201 and by_id["1"]["body"]["givenName"] == "Neu"
    assert by_id["2"]["status"] == 429 and by_id["2"]["headers"]["Retry-After"] == "7"
    assert by_id["2"]["body"]["error"]["code"] == "TooManyRequests"
    assert by_id["3"]["status"] == 404 and by_id["3"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert by_id["4"]["status"] == 400 and by_id["4"]["body"]["error"]["code"] == "RequestBodyRead"


def test_batch_limits(http: Any) -> None:
    many = [{"id": str(n), "method": "GET", "url": "/me"} for n in range(21)]
    assert http("POST", "/$batch", json={"requests": many}).status_code == 400
    twice = [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}]
    assert http("POST", "/$batch", json={"requests": twice}).status_code == 400
    no_type = [{"id": "1", "method": "POST", "url": "/me/contacts", "body": {"givenName": "x"}}]
    (only,) = http("POST", "/$batch", json={"requests": no_type}).json()["responses"]
    assert only["status"] == 400


def test_bad_or_missing_tokens(
    standin: GraphStandIn, tls: SandboxTLS, signer: TokenSigner, directory: Directory
) -> None:
    missing = requests.get(standin.url + "/me", verify=str(tls.ca_file), timeout=10)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    user = directory.user(ANNA)
    assert user is not None
    wrong = signer.issue(
        oid=user.oid, upn=user.upn, tenant_id=directory.tenant_id, audience="https://other.example"
    )
    answer = requests.get(
        standin.url + "/me", headers={"Authorization": f"Bearer {wrong}"}, verify=str(tls.ca_file), timeout=10
    )
    assert answer.status_code == 401 and "audience" in answer.json()["error"]["message"]


def test_if_match_and_extended_properties(http: Any) -> None:
    contact = _contact(http, "Ext", singleValueExtendedProperties=[{"id": CRMID, "value": "c-1"}])
    _contact(http, "Other")
    stale = http(
        "PATCH", f"/me/contacts/{contact['id']}", json={"jobTitle": "x"}, headers={"If-Match": 'W/"old"'}
    )
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "ErrorIrresolvableConflict"
    fine = http(
        "PATCH",
        f"/me/contacts/{contact['id']}",
        json={"jobTitle": "y"},
        headers={"If-Match": contact["@odata.etag"]},
    )
    assert fine.status_code == 200 and fine.json()["changeKey"] != contact["changeKey"]
    query = f"$filter=singleValueExtendedProperties/Any(ep: ep/id eq '{CRMID}' and ep/value eq 'c-1')"
    found = http(
        "GET", f"/me/contacts?{query}&$expand=singleValueExtendedProperties($filter=id eq '{CRMID}')"
    ).json()
    assert [r["id"] for r in found["value"]] == [contact["id"]]
    assert found["value"][0]["singleValueExtendedProperties"] == [{"id": CRMID, "value": "c-1"}]
    starting = http("GET", "/me/contacts?$filter=startswith(givenName,'E')").json()["value"]
    assert [r["id"] for r in starting] == [contact["id"]]
    assert http("GET", "/me/contacts?$filter=endswith(givenName,'t')").status_code == 400


def test_send_mail_strips_bcc_on_the_way_out_and_keeps_a_copy(http: Any, standin: GraphStandIn) -> None:
    raw = (
        b"From: Anna <anna.schmidt@contoso.com>\r\nTo: joerg.baer@contoso.com\r\nBcc: secret@contoso.example\r\n"
        b"Subject: Hallo\r\nMessage-ID: <m1@contoso.com>\r\n\r\nText\r\n"
    )
    answer = http("POST", "/me/sendMail", data=base64.b64encode(raw), headers={"Content-Type": "text/plain"})
    assert answer.status_code == 202
    ((sender, recipients, sent),) = standin.transport
    assert sender == ANNA
    assert recipients == ["joerg.baer@contoso.com", "secret@contoso.example"] and b"Bcc" not in sent
    (copy,) = standin.data.items(standin.mailbox(ANNA), "sentitems")
    assert copy.resource["bccRecipients"][0]["emailAddress"]["address"] == "secret@contoso.example"
    bad = http("POST", "/me/sendMail", data=b"%%%", headers={"Content-Type": "text/plain"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ErrorMimeContentInvalidBase64String"
    header = {"message": {"subject": "x", "toRecipients": [{"emailAddress": {"address": "a@b.example"}}],
                          "internetMessageHeaders": [{"name": "In-Reply-To", "value": "<x@y>"}]}}  # fmt: skip
    assert http("POST", "/me/sendMail", json=header).status_code == 400
