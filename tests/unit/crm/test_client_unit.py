"""DataverseClient, change reads, records helpers and discovery against the replay server (no stand-in)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.unit.odata.replay import ReplayServer, closed_port, json_answer
from wizard.crm.changes import make_token, parse_token
from wizard.crm.client import DataverseClient, decode_paging_cookie, guid, odata_string
from wizard.crm.discovery import (
    CLOUDS,
    NotDataverseError,
    check_org_url,
    discover_instances,
    normalize_org_url,
)
from wizard.crm.records import Claim, parse_claim, replace_claim
from wizard.odata import FailFast, InsecureURLError, InvalidURLError, NetworkError, ODataSession


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer()
    yield server
    server.stop()


def client_for(server: ReplayServer) -> DataverseClient:
    return DataverseClient(ODataSession(server.root, retry_policy=FailFast()))


def test_whoami_and_create_ids(replay: ReplayServer) -> None:
    replay.on("GET", "WhoAmI", replay.sample_http("whoami-response.http"))
    replay.on(
        "POST",
        "accounts?",
        replay.sample_http("create-return-representation.http"),
    )
    replay.on(
        "POST",
        "accounts",
        (
            204,
            {"OData-EntityId": f"{replay.url}/api/data/v9.0/accounts(7eb682f1-ca75-e511-80d4-00155d2a68d1)"},
            b"",
        ),
    )
    client = client_for(replay)
    assert client.whoami().organization_id == "4faf1f34-f06d-e511-80d0-00155db07cb1"
    assert client.create("accounts", {"name": "Sample Account"}) == "7eb682f1-ca75-e511-80d4-00155d2a68d1"
    row = client.create("accounts", {"name": "Sample Account"}, True, select=["name"])
    assert row["accountid"] == "d6f193fc-ce85-e611-80d8-00155d2a68de" and row["@odata.etag"] == 'W/"536530"'
    assert replay.requests[-1].headers["Prefer"] == "return=representation"


def test_update_sends_if_match_star_or_etag(replay: ReplayServer) -> None:
    replay.on("PATCH", "accounts(", (204, {}, b""))
    replay.on("DELETE", "accounts(", (204, {}, b""))
    client = client_for(replay)
    row = "00000000-0000-0000-0000-000000000001"
    client.update("accounts", row, {"name": "x"})
    client.update("accounts", row, {"name": "y"}, etag='W/"470867"')
    client.delete("accounts", row)
    client.delete("accounts", row, etag='W/"1"')
    assert [r.headers.get("If-Match") for r in replay.requests] == ["*", 'W/"470867"', None, 'W/"1"']


def test_keys_and_literals_are_safe() -> None:
    with pytest.raises(ValueError):
        guid("1) or (1")
    assert guid("{D5026A4D-D01C-ED11-B83E-000D3A572421}") == "d5026a4d-d01c-ed11-b83e-000d3a572421"
    assert odata_string("O'Brien") == "'O''Brien'"


def test_paging_cookie_decoding() -> None:
    annotation = (
        '<cookie pagenumber="2" pagingcookie="%253ccookie%2520page%253d%25221%2522%253e'
        "%253caccountid%2520last"
        "%253d%2522%257b5B0E6F15-4B4F-EE11-BE6F-000D3A993550%257d%2522%2520first"
        "%253d%2522%257b4EEE3D6B-4B4F-EE11-"
        'BE6F-000D3A993550%257d%2522%2520%252f%253e%253c%252fcookie%253e" istracking="False" />'
    )
    page, cookie = decode_paging_cookie(annotation)
    assert page == 2
    assert cookie == (
        '<cookie page="1"><accountid last="{5B0E6F15-4B4F-EE11-BE6F-000D3A993550}" '
        'first="{4EEE3D6B-4B4F-EE11-BE6F-000D3A993550}" /></cookie>'
    )
    assert decode_paging_cookie("not xml <") == (None, None)


def test_fetch_follows_morerecords_with_cookie(replay: ReplayServer) -> None:
    def answer(recorded: object) -> tuple[int, dict[str, str], bytes]:
        query = parse_qs(urlsplit(recorded.path).query)  # type: ignore[attr-defined]
        fetch = query["fetchXml"][0]
        page = 2 if 'page="2"' in fetch else 1
        document: dict[str, object] = {"value": [{"accountid": f"{page}"}]}
        if page == 1:
            assert 'count="1"' in fetch and "paging-cookie" not in fetch
            document["@Microsoft.Dynamics.CRM.morerecords"] = True
            document["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"] = (
                '<cookie pagenumber="2" '
                'pagingcookie="%253ccookie%2520page%253d%25221%2522%253e%253c%252fcookie%253e" />'
            )
        else:
            assert 'paging-cookie="&lt;cookie page=&quot;1&quot;&gt;&lt;/cookie&gt;"' in fetch
            document["@Microsoft.Dynamics.CRM.morerecords"] = False
        return json_answer(document)

    replay.on("GET", "accounts?fetchXml=", answer)
    rows = list(client_for(replay).fetch("accounts", '<fetch><entity name="account"/></fetch>', page_size=1))
    assert [r["accountid"] for r in rows] == ["1", "2"]
    assert "fetchxmlpagingcookie" in unquote(replay.requests[0].headers["Prefer"])


def test_change_token_round_trip() -> None:
    assert parse_token(None) == (None, "")
    assert parse_token(make_token("delta", "https://x/a?$deltatoken=1!2")) == (
        "delta",
        "https://x/a?$deltatoken=1!2",
    )
    assert parse_token(make_token("modifiedon", "2026-01-01T00:00:00Z"))[0] == "modifiedon"
    with pytest.raises(ValueError):
        parse_token("garbage")


def test_read_changes_falls_back_when_tracking_is_off(replay: ReplayServer) -> None:
    not_enabled = {
        "error": {"code": "0x80072491", "message": "Entity contact isn't enabled for change tracking."}
    }

    def answer(recorded: object) -> tuple[int, dict[str, str], bytes]:
        if "odata.track-changes" in recorded.headers.get("Prefer", ""):  # type: ignore[attr-defined]
            return json_answer(not_enabled, 400)
        query = parse_qs(urlsplit(recorded.path).query)  # type: ignore[attr-defined]
        if "$filter" in query:
            assert query["$filter"] == ["modifiedon ge 2026-03-01T10:00:00Z"]
            return json_answer({"value": [{"contactid": "b", "modifiedon": "2026-03-02T08:00:00Z"}]})
        assert query["$select"] == ["fullname,modifiedon"]
        return json_answer(
            {
                "value": [
                    {"contactid": "a", "modifiedon": "2026-03-01T10:00:00Z"},
                    {"contactid": "b", "modifiedon": "2026-02-01T10:00:00Z"},
                ]
            }
        )

    replay.on("GET", "contacts", answer)
    client = client_for(replay)
    first = client.read_changes("contacts", ["fullname"], None)
    assert first.mode == "modifiedon" and first.full_read and not first.deletes_detected
    assert first.next_token == make_token("modifiedon", "2026-03-01T10:00:00Z")
    assert first.notices and "Track changes" in first.notices[0]
    second = client.read_changes("contacts", ["fullname"], first.next_token)
    assert [r["contactid"] for r in second.rows] == ["b"] and not second.full_read
    assert second.next_token == make_token("modifiedon", "2026-03-02T08:00:00Z")


def test_read_changes_full_reread_after_expiry(replay: ReplayServer) -> None:
    expired = {
        "error": {
            "code": "0x80044352",
            "message": "Version stamp associated with the client has expired. Please perform a full sync.",
        }
    }
    replay.on("GET", "accounts?$deltatoken=old", json_answer(expired, 400))
    replay.on("GET", "accounts", replay.sample_json("change-tracking-initial-response.json"))
    client = client_for(replay)
    changes = client.read_changes(
        "accounts", ["name"], make_token("delta", replay.root + "accounts?$deltatoken=old")
    )
    assert changes.full_read and changes.resync_reason == "expired"
    assert changes.mode == "delta" and "$deltatoken=919042" in changes.next_token
    assert [r["name"] for r in changes.rows] == ["Monte Orton"]


def test_claim_xml_preserves_foreign_content() -> None:
    import datetime as dt

    foreign = '<SyncState xmlns="urn:x"><Folder id="1" state="a&amp;b"/></SyncState>'
    when = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    claim = Claim("7d1c", 'ANNA-"LAPTOP"<1>', when, when)
    with_claim = replace_claim(foreign, claim)
    assert with_claim.startswith(foreign)
    parsed = parse_claim(with_claim)
    assert parsed == claim
    later = Claim("7d1c", "ANNA-LAPTOP", when, when + dt.timedelta(minutes=5))
    replaced = replace_claim(with_claim, later)
    assert replaced.count("<d365syncclaim") == 1 and parse_claim(replaced) == later
    assert replace_claim(replaced, None) == foreign
    assert parse_claim("") is None and parse_claim("<d365syncclaim broken") is None


def test_discovery_samples(replay: ReplayServer) -> None:
    replay.on(
        "GET", "/api/discovery/v2.0/Instances", replay.sample_json("global-discovery-instances-response.json")
    )
    session = ODataSession(replay.url + "/api/discovery/v2.0/", retry_policy=FailFast())
    instances = discover_instances(session)
    assert len(instances) == 1 and instances[0].usable
    assert instances[0].api_url == "https://orgurlname.api.crm.dynamics.com"
    assert instances[0].unique_name == "myorg"
    sample = json.loads(replay.sample_text("global-discovery-instances-response.json"))
    disabled = dict(sample["value"][0], State=1, FriendlyName="Old", Region="EMEA", TenantId="t")
    replay.routes.clear()
    replay.on("GET", "/api/discovery/v2.0/Instances", json_answer({"value": [*sample["value"], disabled]}))
    assert len(discover_instances(session)) == 1
    assert [i.friendly_name for i in discover_instances(session, include_disabled=True)] == ["My Org", "Old"]


def test_discovery_select_sample_shape(replay: ReplayServer) -> None:
    replay.on(
        "GET", "/api/discovery/v2.0/Instances", replay.sample_http("global-discovery-select-response.http")
    )
    session = ODataSession(replay.url + "/api/discovery/v2.0/", retry_policy=FailFast())
    (instance,) = discover_instances(session)
    assert instance.friendly_name == "Your Organization" and instance.state == 0


def test_clouds() -> None:
    assert CLOUDS["commercial"].discovery_root == "https://globaldisco.crm.dynamics.com/api/discovery/v2.0/"
    assert CLOUDS["usg"].login_host == "login.microsoftonline.us"
    assert CLOUDS["china"].discovery_url.endswith(".cn")


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (
            "https://contoso.crm4.dynamics.com/main.aspx?appid=1&pagetype=dashboard",
            "https://contoso.crm4.dynamics.com",
        ),
        ("contoso.crm4.dynamics.com", "https://contoso.crm4.dynamics.com"),
        ("https://Contoso.CRM.dynamics.com/", "https://contoso.crm.dynamics.com"),
        ("https://crm.contoso.local/ContosoOrg/main.aspx#123", "https://crm.contoso.local/ContosoOrg"),
        ("https://crm.contoso.local/ContosoOrg/api/data/v9.0/", "https://crm.contoso.local/ContosoOrg"),
        ("https://crm.contoso.local:8443/Org", "https://crm.contoso.local:8443/Org"),
        ("http://127.0.0.1:5555", "http://127.0.0.1:5555"),
    ],
)
def test_normalize_org_url(pasted: str, expected: str) -> None:
    assert normalize_org_url(pasted) == expected


def test_normalize_refuses_bad_urls() -> None:
    with pytest.raises(InsecureURLError):
        normalize_org_url("http://contoso.crm.dynamics.com")
    with pytest.raises(InvalidURLError):
        normalize_org_url("https://")


def test_check_org_url(replay: ReplayServer) -> None:
    replay.on("GET", "WhoAmI", replay.sample_http("whoami-response.http"))
    identity = check_org_url(
        replay.url + "/main.aspx?x=1", lambda root: ODataSession(root, retry_policy=FailFast())
    )
    assert identity.url == replay.url and identity.api_root == replay.root
    assert identity.user_id == "d96e9f55-f06d-e511-80d0-00155db07cb1"


def test_check_org_url_not_dataverse(replay: ReplayServer) -> None:
    replay.on("GET", "/", (200, {"Content-Type": "text/html"}, b"<html>intranet</html>"))
    with pytest.raises(NotDataverseError) as info:
        check_org_url(replay.url + "/Org", lambda root: ODataSession(root, retry_policy=FailFast()))
    assert "not like a Dynamics 365 organization" in info.value.user_text


def test_check_org_url_unreachable() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(NetworkError) as info:
        check_org_url(url, lambda root: ODataSession(root, retry_policy=FailFast()))
    assert "could not be reached" in info.value.user_text


def test_discover_authority_from_bearer_challenge(replay: ReplayServer) -> None:
    from wizard.crm.discovery import discover_authority

    challenge = (
        "Bearer authorization_uri=https://login.microsoftonline.com/"
        "4faf1f34-f06d-e511-80d0-00155db07cb1/oauth2/authorize, resource_id=https://org.crm.dynamics.com/"
    )
    replay.on("GET", "WhoAmI", (401, {"WWW-Authenticate": challenge, "Content-Length": "0"}, b""))
    authority = discover_authority(replay.root)
    assert authority == "https://login.microsoftonline.com/4faf1f34-f06d-e511-80d0-00155db07cb1"
    assert "Authorization" not in replay.requests[0].headers


def test_discover_authority_without_challenge(replay: ReplayServer) -> None:
    from wizard.crm.discovery import discover_authority

    replay.on("GET", "WhoAmI", (401, {"WWW-Authenticate": "NTLM"}, b""))
    with pytest.raises(NotDataverseError):
        discover_authority(replay.root)
