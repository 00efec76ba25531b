"""Paging (odata.maxpagesize + $skiptoken) and FetchXML paging cookies of the Dataverse stand-in."""

from __future__ import annotations

import re
import time
from urllib.parse import quote, unquote

from tests.contract.sandbox.conftest import Client
from tests.contract.sandbox.samples import assert_same_shape, load_json


def _bulk_contacts(client: Client, count: int) -> None:
    client.env.store.bulk_create(
        "contacts",
        (
            {"firstname": f"Vorname{i:05d}", "lastname": f"Nachname{i:05d}", "_ownerid_value": client.user_id}
            for i in range(count)
        ),
        user_id=client.user_id,
    )


def test_first_page_matches_sample_and_skiptoken_format(client: Client) -> None:
    _bulk_contacts(client, 5)
    response = client.get("contacts?$select=fullname", headers={"Prefer": "odata.maxpagesize=2"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    document = response.json()
    assert_same_shape(document, load_json("contacts-page1-with-etag-nextlink.json"))
    sample_link = load_json("contacts-page1-with-etag-nextlink.json")["@odata.nextLink"]
    pattern = re.escape(sample_link.split("?")[1].split("$skiptoken=")[0]) + r"\$skiptoken=(.*)$"
    token = re.search(pattern, document["@odata.nextLink"])
    assert token is not None
    cookie = unquote(token.group(1))
    first, last = document["value"][0]["contactid"].upper(), document["value"][1]["contactid"].upper()
    inner = f'<cookie page="1"><contactid last="{{{last}}}" first="{{{first}}}" /></cookie>'
    # .NET-style URL encoding: lower-case escapes, as in the sample's pagingcookie
    expected = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(inner, safe="-_.!*()"))
    assert cookie == f'<cookie pagenumber="2" pagingcookie="{expected}" istracking="False" />'
    # the sample's encoding of the outer cookie: '=' and '/' stay, the rest is escaped
    assert token.group(1).startswith(
        "%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d"
    )


def test_walk_all_pages_without_duplicates(client: Client) -> None:
    _bulk_contacts(client, 7)
    seen: list[str] = []
    url = "contacts?$select=lastname"
    while url:
        document = client.get(url, headers={"Prefer": "odata.maxpagesize=3"}).json()
        seen += [r["contactid"] for r in document["value"]]
        url = document.get("@odata.nextLink", "")
    assert len(seen) == len(set(seen)) == 7


def test_ten_thousand_contacts_in_pages_of_5000(client: Client) -> None:
    _bulk_contacts(client, 10_000)
    client.env.server.reset_counts()
    url = "contacts?$select=fullname,emailaddress1"
    total = 0
    started = time.perf_counter()
    slowest = 0.0
    while url:
        began = time.perf_counter()
        response = client.get(url, headers={"Prefer": "odata.maxpagesize=5000"})
        slowest = max(slowest, time.perf_counter() - began)
        document = response.json()
        assert len(document["value"]) <= 5000
        total += len(document["value"])
        url = document.get("@odata.nextLink", "")
    assert total == 10_000
    assert client.env.server.request_count == 2
    assert slowest < 1.5, f"a 5000-row page took {slowest:.2f}s"
    assert time.perf_counter() - started < 5


def test_maxpagesize_is_capped_and_default_is_5000(client: Client) -> None:
    _bulk_contacts(client, 5001)
    capped = client.get("contacts?$select=lastname", headers={"Prefer": "odata.maxpagesize=9000"})
    assert "Preference-Applied" not in capped.headers  # the service ignores sizes above 5000
    assert len(capped.json()["value"]) == 5000
    default = client.get("contacts?$select=lastname").json()
    assert len(default["value"]) == 5000
    assert "@odata.nextLink" in default


FETCH = (
    '<fetch version="1.0" mapping="logical" count="2" page="{page}"{cookie}>'
    '<entity name="contact"><attribute name="fullname" /><attribute name="contactid" />'
    '<order attribute="fullname" descending="false" />'
    '<filter><condition attribute="ownerid" operator="eq-userid" /></filter>'
    "</entity></fetch>"
)
COOKIE = "Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
PAGING = f'odata.include-annotations="{COOKIE},Microsoft.Dynamics.CRM.morerecords"'


def test_fetchxml_paging_with_cookie(client: Client) -> None:
    _bulk_contacts(client, 5)
    names: list[str] = []
    page, cookie = 1, ""
    while True:
        fetch = FETCH.format(page=page, cookie=cookie)
        response = client.get("contacts", params={"fetchXml": fetch}, headers={"Prefer": PAGING})
        assert response.status_code == 200, response.text
        document = response.json()
        names += [r["fullname"] for r in document["value"]]
        assert all(r["@odata.etag"].startswith('W/"') for r in document["value"])
        if not document.get("@Microsoft.Dynamics.CRM.morerecords"):
            break
        raw = document["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"]
        match = re.fullmatch(r'<cookie pagenumber="(\d+)" pagingcookie="([^"]+)" istracking="False" />', raw)
        assert match is not None, raw
        assert match.group(1) == str(page + 1)
        inner = unquote(unquote(match.group(2)))
        assert inner.startswith(f'<cookie page="{page}"><fullname last="')
        page += 1
        cookie = (
            ' paging-cookie="' + inner.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;") + '"'
        )
    assert names == sorted(names)
    assert len(names) == 5


def test_fetchxml_last_page_has_neither_cookie_nor_morerecords(client: Client) -> None:
    """PAD: developer/data-platform/fetchxml/page-results.md, "Last page": "On the final page, the
    @Microsoft.Dynamics.CRM.morerecords and @Microsoft.Dynamics.CRM.fetchxmlpagingcookie annotations aren't
    included in the response" (first and following pages carry both, morerecords true). The page's own Web API
    example loops while the morerecords annotation is present, so a client written from it must stop."""
    _bulk_contacts(client, 5)
    pages: list[dict[str, object]] = []
    page, cookie = 1, ""
    while len(pages) < 10:
        document = client.get(
            "contacts",
            params={"fetchXml": FETCH.format(page=page, cookie=cookie)},
            headers={"Prefer": PAGING},
        ).json()
        pages.append(document)
        if "@Microsoft.Dynamics.CRM.morerecords" not in document:  # as the page's RetrieveAll sample tests it
            break
        raw = str(document["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"])
        inner = unquote(unquote(raw.split('pagingcookie="')[1].split('"')[0]))
        cookie = (
            ' paging-cookie="' + inner.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;") + '"'
        )
        page += 1
    assert [len(p["value"]) for p in pages] == [2, 2, 1]  # type: ignore[arg-type]
    for document in pages[:-1]:
        assert document["@Microsoft.Dynamics.CRM.morerecords"] is True
        assert COOKIE_ANNOTATION in document
    assert "@Microsoft.Dynamics.CRM.morerecords" not in pages[-1]
    assert COOKIE_ANNOTATION not in pages[-1]
    # a page past the end: no rows and no cookie
    beyond = client.get(
        "contacts",
        params={"fetchXml": FETCH.format(page=page + 1, cookie=cookie)},
        headers={"Prefer": PAGING},
    ).json()
    assert beyond["value"] == []
    assert COOKIE_ANNOTATION not in beyond
    assert "@Microsoft.Dynamics.CRM.morerecords" not in beyond
    # one page that holds everything is the last page too
    whole = client.get(
        "contacts",
        params={"fetchXml": FETCH.replace('count="2" ', "").format(page=1, cookie="")},
        headers={"Prefer": PAGING},
    ).json()
    assert COOKIE_ANNOTATION not in whole


COOKIE_ANNOTATION = "@" + COOKIE


def test_fetchxml_without_annotations_has_no_cookie(client: Client) -> None:
    _bulk_contacts(client, 3)
    document = client.get("contacts", params={"fetchXml": FETCH.format(page=1, cookie="")}).json()
    assert "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie" not in document
    assert len(document["value"]) == 2


def test_fetchxml_entity_mismatch_and_syntax_errors(client: Client) -> None:
    wrong = client.get("accounts", params={"fetchXml": FETCH.format(page=1, cookie="")})
    assert wrong.status_code == 400
    broken = client.get("contacts", params={"fetchXml": "<fetch><entity name='contact'>"})
    assert broken.status_code == 400
    assert set(broken.json()["error"]) == {"code", "message"}


def test_user_query_runs_its_fetchxml(client: Client) -> None:
    _bulk_contacts(client, 3)
    client.env.store.create(
        "contacts", {"lastname": "Someone else's", "_ownerid_value": "00000000-0000-0000-0000-0000000000ff"}
    )
    view = client.create(
        "userqueries",
        {
            "name": "My Contacts",
            "returnedtypecode": "contact",
            "querytype": 256,
            "fetchxml": FETCH.format(page=1, cookie="").replace(' count="2" page="1"', ""),
        },
    )
    rows = client.get(f"contacts?userQuery={view}").json()["value"]
    assert len(rows) == 3
    assert client.get("contacts?userQuery=00000000-0000-0000-0000-000000000abc").status_code == 404


AGGREGATE = (
    "<fetch aggregate='true'><entity name='contact'>"
    "<attribute name='contactid' alias='n' aggregate='count'/>"
    "<attribute name='lastname' alias='who' groupby='true'/><order alias='who'/>"
    "</entity></fetch>"
)


def test_fetchxml_aggregate_answers_one_row_per_group(client: Client) -> None:
    """PAD fetchxml/aggregate-data.md through the Web API (webapi/use-fetchxml-web-api.md): rows of aliases."""
    _bulk_contacts(client, 3)
    client.env.store.bulk_create(
        "contacts", [{"lastname": "Nachname00000", "_ownerid_value": client.user_id}], user_id=client.user_id
    )
    response = client.get("contacts", params={"fetchXml": AGGREGATE})
    assert response.status_code == 200, response.text
    rows = response.json()["value"]
    assert [(r["who"], r["n"]) for r in rows] == [
        ("Nachname00000", 2),
        ("Nachname00001", 1),
        ("Nachname00002", 1),
    ]
    assert all("@odata.etag" not in r and "contactid" not in r for r in rows)


def test_fetchxml_aggregate_over_50000_records_is_refused_as_documented(client: Client) -> None:
    """PAD fetchxml/aggregate-data.md, "Limitations": 0x8004E023 AggregateQueryRecordLimit exceeded."""
    _bulk_contacts(client, 50_001)
    count = "<fetch aggregate='true'><entity name='contact'><attribute name='contactid' alias='n' aggregate='count'/>"
    response = client.get("contacts", params={"fetchXml": count + "</entity></fetch>"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x8004e023",
        "message": "AggregateQueryRecordLimit exceeded. Cannot perform this operation.",
    }
    missing_alias = (
        "<fetch aggregate='true'><entity name='contact'><attribute name='contactid' aggregate='count'/>"
    )
    refused = client.get("contacts", params={"fetchXml": missing_alias + "</entity></fetch>"})
    assert refused.status_code == 400 and "alias is required" in refused.json()["error"]["message"]
