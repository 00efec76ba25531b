"""The OData session against a hostile HTTPS server (issue 11, items 1, 9, 10, 11 and 13 for OData).

Each test scripts :mod:`tests.support.hostile` to misbehave the way the hostile test of the product found,
and asserts a typed error with a clear text, bounded time and memory, and nothing sent where it must not go.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.hostile import (
    MALFORMED,
    HostileServer,
    Seen,
    deflate_bomb,
    gzip_bomb,
    huge_json,
    json_body,
    malformed,
    raw,
    redirect,
    self_next,
    slow_body,
    slow_headers,
)
from wizard.crm.client import DataverseClient
from wizard.errors import Severity
from wizard.odata import FailFast, FaultTolerance, MalformedResponseError, ODataSession, ValidationError
from wizard.odata.errors import (
    PagingLoopError,
    ResponseTooLargeError,
    StoppedAnsweringError,
    UnsafeLinkError,
)

API = "/api/data/v9.2/"
MB = 1024 * 1024


class Tokens:
    def token(self, *, force_refresh: bool = False) -> str:
        return "secret-bearer-token"


def session(server: HostileServer, **kwargs: Any) -> ODataSession:
    kwargs.setdefault("retry_policy", FailFast())
    return ODataSession(server.url + API, auth=Tokens(), verify=str(server.ca_file), **kwargs)


def tokens_seen(server: HostileServer) -> list[str]:
    return [r.headers.get("Authorization", "") for r in server.requests]


# -- item 1: the token never leaves the organization's host --------------------------------------------------


def test_the_backslash_trick_really_reaches_another_port(hostile_pair: tuple[HostileServer, ...]) -> None:
    """What makes the attack real: urlsplit reads the organization, urllib3 connects to the foreign port."""
    org, foreign = hostile_pair
    link = f"https://127.0.0.1:{foreign.port}\\@127.0.0.1:{org.port}{API}contacts"
    assert urlsplit(link).port == org.port
    foreign.on("GET", "/", json_body({"value": []}))
    requests.get(link, verify=str(foreign.ca_file), timeout=5)
    assert len(foreign.requests) == 1 and not org.requests


@pytest.mark.parametrize(
    "template",
    [
        "https://127.0.0.1:{foreign}\\@127.0.0.1:{org}/api/data/v9.2/contacts?$skiptoken=2",
        "https://127.0.0.1:{foreign}/api/data/v9.2/contacts?$skiptoken=2",
        "https://localhost:{foreign}/api/data/v9.2/contacts?$skiptoken=2",
        "https://x@127.0.0.1:{foreign}/api/data/v9.2/contacts",
        "https://127.0.0.1:{foreign}%2f@127.0.0.1:{org}/api/data/v9.2/contacts",
        "https://127.0.0.1:{foreign}\t/api/data/v9.2/contacts",
        "http://127.0.0.1:{org}/api/data/v9.2/contacts?$skiptoken=2",
    ],
)
def test_a_next_link_to_a_second_server_sends_it_nothing(
    hostile_pair: tuple[HostileServer, HostileServer], template: str
) -> None:
    org, foreign = hostile_pair
    link = template.format(org=org.port, foreign=foreign.port)
    org.on("GET", API + "contacts", json_body({"value": [{"a": 1}], "@odata.nextLink": link}))
    foreign.on("GET", "/", json_body({"value": [{"stolen": True}]}))
    with pytest.raises(UnsafeLinkError) as info:
        list(session(org).iter_rows("contacts"))
    assert foreign.requests == []  # no request, so no token
    assert tokens_seen(org) == ["Bearer secret-bearer-token"]
    assert info.value.severity == Severity.KIND and "not followed" in info.value.user_text


def test_delta_links_to_a_second_server_are_refused(
    hostile_pair: tuple[HostileServer, HostileServer],
) -> None:
    org, foreign = hostile_pair
    evil = f"https://127.0.0.1:{foreign.port}\\@127.0.0.1:{org.port}{API}accounts?$deltatoken=1"
    org.on("GET", API + "accounts", json_body({"value": [], "@odata.deltaLink": evil}))
    s = session(org)
    with pytest.raises(UnsafeLinkError):
        s.read_delta("accounts")
    with pytest.raises(
        UnsafeLinkError
    ):  # a stored deltaLink (Graph keeps it in its cursor) is refused unsent
        s.read_delta(delta_link=evil)
    with pytest.raises(UnsafeLinkError):
        s.request("GET", evil)
    assert foreign.requests == [] and len(org.requests) == 1


def test_a_redirect_to_a_second_server_is_not_followed(
    hostile_pair: tuple[HostileServer, HostileServer],
) -> None:
    org, foreign = hostile_pair
    org.on("GET", API + "contacts", redirect(f"https://127.0.0.1:{foreign.port}\\@127.0.0.1:{org.port}/x"))
    with pytest.raises(MalformedResponseError, match="redirect"):
        session(org).get_json("contacts")
    assert foreign.requests == [] and len(org.requests) == 1


def test_a_create_answer_naming_another_server_is_refused(
    hostile_pair: tuple[HostileServer, HostileServer],
) -> None:
    org, foreign = hostile_pair
    entity = f"https://127.0.0.1:{foreign.port}{API}tasks(00000000-0000-0000-0000-000000000001)"
    org.on("POST", API + "tasks", raw(204, {"OData-EntityId": entity}))
    with pytest.raises(UnsafeLinkError):
        DataverseClient(session(org)).create("tasks", {"subject": "x"})
    own = f"https://127.0.0.1:{org.port}{API}tasks(00000000-0000-0000-0000-000000000002)"
    org.on("POST", API + "accounts", raw(204, {"OData-EntityId": own}))
    assert DataverseClient(session(org)).create("accounts", {}) == "00000000-0000-0000-0000-000000000002"


# -- item 9: a total deadline per request --------------------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour", [slow_body({"value": ["x" * 200]}, interval=0.2), slow_headers(interval=0.2)]
)
def test_a_drip_fed_answer_stops_at_the_deadline(hostile: HostileServer, behaviour: Any) -> None:
    hostile.on("GET", API + "contacts", behaviour)
    s = session(hostile, deadline=1.5, timeout=(2.0, 5.0))
    started = time.monotonic()
    with pytest.raises(StoppedAnsweringError) as info:
        s.get_json("contacts")
    assert time.monotonic() - started < 4
    assert "stopped answering" in info.value.user_text and info.value.severity == Severity.KIND
    assert len(hostile.requests) == 1


def test_a_stalled_get_is_retried_once_then_fails(hostile: HostileServer) -> None:
    hostile.on("GET", API + "contacts", slow_body({"value": []}, interval=0.3))
    s = session(hostile, deadline=1.0, timeout=(2.0, 5.0), retry_policy=FaultTolerance(base_delay=0.01))
    started = time.monotonic()
    with pytest.raises(StoppedAnsweringError):
        s.get_json("contacts")
    assert len(hostile.requests) == 2 and time.monotonic() - started < 5


def test_a_stalled_post_is_not_retried(hostile: HostileServer) -> None:
    hostile.on("POST", API + "tasks", slow_body({"id": "x" * 20}, interval=0.3))
    s = session(hostile, deadline=1.0, retry_policy=FaultTolerance(base_delay=0.01))
    with pytest.raises(StoppedAnsweringError):
        s.request("POST", "tasks", json={"subject": "x"})
    assert len(hostile.requests) == 1


def test_a_quick_answer_is_untouched_and_the_connection_reused(hostile: HostileServer) -> None:
    hostile.on("GET", API + "contacts", json_body({"value": [{"a": 1}]}))
    s = session(hostile, deadline=5.0)
    for _ in range(3):
        assert s.get_json("contacts") == {"value": [{"a": 1}]}
    assert len(hostile.requests) == 3 and len({r.peer for r in hostile.requests}) == 1


# -- item 11: bounded answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "what"),
    [
        (gzip_bomb(64 * MB), "gzip bomb"),
        (deflate_bomb(64 * MB), "deflate bomb"),
        (huge_json(64 * MB), "huge JSON without length"),
        (huge_json(64 * MB, declare_length=True), "huge JSON with length"),
    ],
)
def test_an_oversized_answer_fails_with_bounded_memory(
    hostile: HostileServer, behaviour: Any, what: str
) -> None:
    hostile.on("GET", API + "contacts", behaviour)
    s = session(hostile, max_response_bytes=4 * MB)
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLargeError) as info:
            s.get_json("contacts")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB, f"{what}: peak {peak / MB:.1f} MB"
    assert "larger than 4 MB" in info.value.user_text and info.value.severity == Severity.KIND
    assert not info.value.retriable


def test_the_default_cap_allows_a_large_legitimate_page(hostile: HostileServer) -> None:
    hostile.on("GET", API + "contacts", huge_json(12 * MB))
    document = session(hostile).get_json("contacts")
    assert len(document["value"][0]["x"]) > 11 * MB


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_json_is_a_typed_error_naming_the_service(hostile: HostileServer, kind: str) -> None:
    hostile.on("GET", API + "contacts", malformed(kind))
    with pytest.raises(MalformedResponseError) as info:
        list(session(hostile).iter_rows("contacts"))
    assert f"127.0.0.1:{hostile.port}" in info.value.user_text
    if not isinstance(info.value, UnsafeLinkError):
        assert "GET" in info.value.message or "collection" in info.value.message


# -- item 10: paging loops -----------------------------------------------------------------------------------


def test_a_next_link_to_itself_is_a_loop(hostile: HostileServer) -> None:
    hostile.on("GET", API + "contacts", self_next())
    with pytest.raises(PagingLoopError) as info:
        list(session(hostile).iter_rows("contacts"))
    assert len(hostile.requests) == 1 and "loop" in info.value.user_text


def test_a_two_page_cycle_is_a_loop(hostile: HostileServer) -> None:
    a, b = f"{hostile.url}{API}contacts?$skiptoken=a", f"{hostile.url}{API}contacts?$skiptoken=b"
    hostile.on("GET", API + "contacts?$skiptoken=a", json_body({"value": [{"n": 2}], "@odata.nextLink": b}))
    hostile.on("GET", API + "contacts?$skiptoken=b", json_body({"value": [{"n": 3}], "@odata.nextLink": a}))
    hostile.on("GET", API + "contacts", json_body({"value": [{"n": 1}], "@odata.nextLink": a}))
    with pytest.raises(PagingLoopError):
        list(session(hostile).iter_rows("contacts"))
    assert len(hostile.requests) == 3


def _endless(count: int | None) -> Any:
    def behave(handler: Any, seen: Seen) -> None:
        n = len(seen.path)
        document: dict[str, Any] = {
            "value": [{"n": n}],
            "@odata.nextLink": f"https://127.0.0.1:{seen.port}{seen.path}x",
        }
        if count is not None:
            document["@odata.count"] = count
        json_body(document)(handler, seen)

    return behave


def test_endless_distinct_links_stop_at_the_absolute_cap(hostile: HostileServer) -> None:
    hostile.on("GET", API + "contacts", _endless(None))
    with pytest.raises(PagingLoopError, match="more than 25 pages"):
        list(session(hostile, max_pages=25).iter_rows("contacts"))
    assert len(hostile.requests) == 25


def test_pages_beyond_what_the_count_allows_stop(hostile: HostileServer) -> None:
    hostile.on("GET", API + "contacts", _endless(4))
    with pytest.raises(PagingLoopError, match="for 4 rows"):
        list(session(hostile).iter_rows("contacts", page_size=1))
    assert len(hostile.requests) == 10  # 2 x ceil(4 / 1) + 2


def test_fetchxml_that_always_has_more_records_stops_at_the_cap(hostile: HostileServer) -> None:
    more = {"value": [{"n": 1}], "@Microsoft.Dynamics.CRM.morerecords": True}
    hostile.on("GET", API + "contacts", json_body(more))
    client = DataverseClient(session(hostile, max_pages=20))
    with pytest.raises(PagingLoopError, match="more than 20 pages"):
        list(client.fetch("contacts", '<fetch><entity name="contact"/></fetch>'))
    assert len(hostile.requests) == 20


def test_a_deeply_nested_error_body_is_still_a_typed_error(hostile: HostileServer) -> None:
    nested = b'{"error":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}"
    hostile.on("POST", API + "tasks", raw(400, {"Content-Type": "application/json"}, nested))
    with pytest.raises(ValidationError) as info:
        session(hostile).request("POST", "tasks", json={})
    assert info.value.status == 400
