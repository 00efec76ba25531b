"""The same-origin check for server links against a table of crafted URLs (issue 11, item 1).

Each URL is judged as an ``@odata.nextLink`` of a session rooted at ``https://org.example/api/data/v9.2/``;
the verdict must hold for every link form (nextLink, deltaLink, OData-EntityId, Location), which all go
through :func:`wizard.odata.links.same_origin`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wizard.errors import Severity
from wizard.odata import ODataSession
from wizard.odata.batch import BatchRequest, BatchResult, _result, entity_id_from_header, parse_batch_response
from wizard.odata.errors import MalformedResponseError, UnsafeLinkError
from wizard.odata.links import Origin, origin_of, same_origin

ROOT = "https://org.example/api/data/v9.2/"
OK, NO = True, False

#: (link, follow?) - the first entry is the attack seen end to end in the hostile test
CRAFTED: list[tuple[str, bool]] = [
    ("https://org.example:9999\\@org.example:443/api/data/v9.2/contacts", NO),
    ("https://org.example\\@evil.example/api/data/v9.2/contacts", NO),
    ("https://evil.example\\.org.example/api/data/v9.2/contacts", NO),
    ("https://org.example/api/data/v9.2/contacts\\..\\x", NO),
    ("https://user@org.example/api/data/v9.2/contacts", NO),
    ("https://user:pw@org.example/api/data/v9.2/contacts", NO),
    ("https://org.example@evil.example/api/data/v9.2/contacts", NO),
    ("https://evil.example@org.example/api/data/v9.2/contacts", NO),
    ("https://org.example%2f@evil.example/x", NO),
    ("https://org.example%40evil.example/x", NO),
    ("https://org.example%5c@evil.example/x", NO),
    ("https://org.ex%61mple/api/data/v9.2/contacts", NO),
    ("https://org.example%2F.evil.example/x", NO),
    ("https://org.example\t/api/data/v9.2/contacts", NO),
    ("https://org.example/api/data/v9.2/contacts\n", NO),
    ("https://org.ex\nample/api/data/v9.2/contacts", NO),
    (" https://org.example/api/data/v9.2/contacts", NO),
    ("https://org.example/api/data/v9.2/con tacts", NO),
    ("https://org.example\x00.evil.example/x", NO),
    ("https://org.example\u200b/api/data/v9.2/contacts", NO),
    ("https://org.example\u3002evil/x", NO),
    ("http://org.example/api/data/v9.2/contacts", NO),
    ("ftp://org.example/api/data/v9.2/contacts", NO),
    ("javascript:alert(1)", NO),
    ("file:///etc/passwd", NO),
    ("https:org.example/api/data/v9.2/contacts", NO),
    ("https:/org.example/api/data/v9.2/contacts", NO),
    ("https:///api/data/v9.2/contacts", NO),
    ("//evil.example/api/data/v9.2/contacts", NO),
    ("https://org.example:444/api/data/v9.2/contacts", NO),
    ("https://org.example:443:444/api/data/v9.2/contacts", NO),
    ("https://org.example:99999/api/data/v9.2/contacts", NO),
    ("https://org.example.evil.example/api/data/v9.2/contacts", NO),
    ("https://org.example../api/data/v9.2/contacts", NO),
    ("https://127.0.0.1/api/data/v9.2/contacts", NO),
    ("https://[::1]/api/data/v9.2/contacts", NO),
    ("https://xn--rg-example-xyz.example/x", NO),
    ("https://\uff4frg.example/api/data/v9.2/contacts", NO),
    ("https://org.example/api/data/v9.2/contacts?$skiptoken=1", OK),
    ("https://ORG.Example/api/data/v9.2/contacts", OK),
    ("HTTPS://org.example/api/data/v9.2/contacts", OK),
    ("https://org.example./api/data/v9.2/contacts", OK),
    ("https://org.example:443/api/data/v9.2/contacts", OK),
    ("https://org.example:0443/api/data/v9.2/contacts", OK),
    ("https://org.example/api/data/v9.0/accounts?$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44", OK),
    ("contacts?$skiptoken=2", OK),
    ("/api/data/v9.2/contacts?$skiptoken=2", OK),
    ("https://org.example/api/data/v9.2/contacts#@evil.example", OK),
    ("https://org.example/api/data/v9.2/contacts?next=https://evil.example/", OK),
]


def test_the_table_is_large_enough() -> None:
    assert len(CRAFTED) >= 30
    assert sum(1 for _, verdict in CRAFTED if verdict is NO) >= 30


@pytest.mark.parametrize(("link", "follow"), CRAFTED, ids=[repr(link)[:60] for link, _ in CRAFTED])
def test_crafted_link(link: str, follow: bool) -> None:
    if follow:
        assert origin_of(same_origin(link, ROOT, what="@odata.nextLink")) == Origin(
            "https", "org.example", 443
        )
    else:
        with pytest.raises(UnsafeLinkError) as info:
            same_origin(link, ROOT, what="@odata.nextLink")
        assert info.value.severity == Severity.KIND and not info.value.retriable
        assert isinstance(info.value, MalformedResponseError)
        assert "not followed" in info.value.user_text and "org.example" in info.value.user_text


@pytest.mark.parametrize(("link", "follow"), CRAFTED[:12] + CRAFTED[-6:])
def test_every_link_form_gets_the_same_verdict(link: str, follow: bool) -> None:
    s = ODataSession(ROOT)
    forms: list[Callable[[], object]] = [
        lambda: s.checked_link(link, "@odata.deltaLink"),
        lambda: s.url_for(link) if "://" in link else s.checked_link(link),
        lambda: entity_id_from_header(link + "(00000000-0000-0000-0000-000000000001)", ROOT),
    ]
    for form in forms:
        if follow:
            form()
        else:
            with pytest.raises(UnsafeLinkError):
                form()


def test_unicode_and_punycode_names_are_one_host() -> None:
    root = "https://bücher.example/api/"
    assert same_origin("https://xn--bcher-kva.example/api/x", root, what="link")
    assert same_origin("https://BÜCHER.example/api/x", "https://xn--bcher-kva.example/api/", what="link")


def test_ipv6_forms_and_ports_compare_normalised() -> None:
    root = "https://[::1]:8443/api/"
    assert same_origin("https://[0:0:0:0:0:0:0:1]:8443/api/x", root, what="link")
    with pytest.raises(UnsafeLinkError):
        same_origin("https://[::1]/api/x", root, what="link")
    with pytest.raises(UnsafeLinkError):
        same_origin("https://[::1%25eth0]:8443/api/x", root, what="link")


def test_http_root_accepts_only_its_own_port() -> None:
    root = "http://127.0.0.1:8080/api/"
    assert same_origin("http://127.0.0.1:8080/api/x", root, what="link")
    for link in ("https://127.0.0.1:8080/api/x", "http://127.0.0.1/api/x", "http://localhost:8080/api/x"):
        with pytest.raises(UnsafeLinkError):
            same_origin(link, root, what="link")


def test_a_link_that_is_not_text_is_refused() -> None:
    for link in (None, 5, {"href": ROOT}, ["x"], ""):
        with pytest.raises(UnsafeLinkError):
            same_origin(link, ROOT, what="@odata.nextLink")


def test_a_batch_answer_naming_a_row_on_another_server_is_an_error() -> None:
    body = (
        b"--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n"
        b"OData-EntityId: https://org.example:9999\\@org.example/api/data/v9.2/tasks"
        b"(00000000-0000-0000-0000-000000000001)\r\n\r\n\r\n--b--\r\n"
    )
    (part,) = parse_batch_response("multipart/mixed; boundary=b", body)
    assert not isinstance(part, list)
    result = _result(BatchRequest("POST", "tasks", body={}), part, ROOT)
    assert isinstance(result, BatchResult) and isinstance(result.error, UnsafeLinkError)
    assert not result.ok
