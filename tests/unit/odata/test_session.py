"""ODataSession against a loopback replay server: headers, paging, delta, errors, retries, auth, URL
policy.
"""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import pytest

from tests.unit.odata.conftest import Sleeps
from tests.unit.odata.replay import DROP, ReplayServer, closed_port, json_answer
from wizard.errors import Severity
from wizard.odata import (
    AuthError,
    FailFast,
    FaultTolerance,
    InsecureURLError,
    InvalidURLError,
    MalformedResponseError,
    NetworkError,
    ODataSession,
    PreconditionFailedError,
    ServerError,
    ThrottledError,
    TLSError,
    ValidationError,
)
from wizard.odata.session import TLS12Adapter


class Tokens:
    def __init__(self) -> None:
        self.calls: list[bool] = []

    def token(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        return f"token-{len(self.calls)}"


def session(server: ReplayServer, sleeps: Sleeps | None = None, **kwargs: object) -> ODataSession:
    kwargs.setdefault("retry_policy", FaultTolerance(max_attempts=4, max_wait=30))
    return ODataSession(server.root, sleeper=sleeps if sleeps is not None else Sleeps(), **kwargs)  # type: ignore[arg-type]


# -- headers and plain reads ---------------------------------------------------------------------------------


def test_standard_headers_and_whoami_sample(replay: ReplayServer) -> None:
    replay.on("GET", "WhoAmI", replay.sample_http("whoami-response.http"))
    s = session(replay, auth=Tokens())
    document = s.get_json("WhoAmI")
    assert document["UserId"] == "d96e9f55-f06d-e511-80d0-00155db07cb1"
    headers = replay.requests[0].headers
    assert headers["Accept"] == "application/json"
    assert headers["OData-MaxVersion"] == "4.0" and headers["OData-Version"] == "4.0"
    assert headers["If-None-Match"] == "null"
    assert headers["User-Agent"].startswith("d365sync/")
    assert headers["Authorization"] == "Bearer token-1"


def test_body_requests_send_content_type_and_no_if_none_match(replay: ReplayServer) -> None:
    replay.on("PATCH", "accounts(", (204, {"OData-Version": "4.0"}, b""))
    s = session(replay)
    response = s.request("PATCH", "accounts(00000000-0000-0000-0000-000000000001)", json={"name": "x"})
    assert response.status_code == 204
    sent = replay.requests[0]
    assert sent.headers["Content-Type"].startswith("application/json")
    assert "If-None-Match" not in sent.headers
    assert json.loads(sent.body) == {"name": "x"}


def test_conditional_get_304_means_unchanged(replay: ReplayServer) -> None:
    replay.on("GET", "accounts(", (304, {}, b""))
    s = session(replay)
    assert s.get_if_changed("accounts(00000000-0000-0000-0000-000000000001)", 'W/"468026"') is None
    assert replay.requests[0].headers["If-None-Match"] == 'W/"468026"'


# -- paging --------------------------------------------------------------------------------------------------


def test_paging_follows_nextlink_unchanged_with_same_maxpagesize(replay: ReplayServer) -> None:
    page1 = replay.sample_json("contacts-page1-with-etag-nextlink.json")
    page2 = json_answer(
        {
            "value": [
                {"@odata.etag": 'W/"80648710"', "fullname": "Nancy Anderson (sample)", "contactid": "1" * 8},
                {"@odata.etag": 'W/"80648724"', "fullname": "Maria Campbell (sample)", "contactid": "2" * 8},
            ]
        }
    )
    replay.on("GET", "contacts?$select=fullname&$skiptoken=", page2)
    replay.on("GET", "contacts", page1)
    s = session(replay)
    rows = s.iter_rows("contacts", params={"$select": "fullname"}, page_size=2)
    first = next(rows)
    assert first["fullname"] == "Yvonne McKay (sample)"
    assert len(replay.requests) == 1  # lazy: the second page is not fetched yet
    rest = list(rows)
    assert [r["fullname"] for r in rest][-1] == "Maria Campbell (sample)"
    assert len(rest) == 3
    next_link = json.loads(page1[2])["@odata.nextLink"]
    assert replay.url + replay.requests[1].path == next_link  # nextLink used verbatim
    assert all(r.headers["Prefer"] == "odata.maxpagesize=2" for r in replay.requests)


def test_nextlink_to_another_host_is_refused(replay: ReplayServer) -> None:
    replay.on("GET", "contacts", json_answer({"value": [], "@odata.nextLink": "https://evil.example/steal"}))
    s = session(replay, auth=Tokens())
    with pytest.raises(MalformedResponseError):
        list(s.iter_rows("contacts"))
    assert len(replay.requests) == 1


# -- delta ---------------------------------------------------------------------------------------------------


def test_delta_initial_then_follow_with_deletes(replay: ReplayServer) -> None:
    replay.on(
        "GET",
        "accounts?$select=name,telephone1,fax&$deltatoken=",
        replay.sample_json("change-tracking-delta-response-with-deleted.json"),
    )
    replay.on("GET", "accounts", replay.sample_json("change-tracking-initial-response.json"))
    s = session(replay)
    first = s.read_delta("accounts", params={"$select": "name,accountnumber,telephone1,fax"})
    assert [r["name"] for r in first.rows] == ["Monte Orton"]
    assert first.deleted_ids == []
    assert first.delta_link and "$deltatoken=919042" in first.delta_link
    assert replay.requests[0].headers["Prefer"] == "odata.track-changes"
    # the stored deltaLink is followed later (here: a link whose select differs, as the sample's does)
    later = s.read_delta(
        delta_link=replay.url + "/api/data/v9.2/accounts?$select=name,telephone1,fax&$deltatoken=919042"
    )
    assert [r["accountid"] for r in later.rows] == ["60c4e274-0d87-e711-80e5-00155db19e6d"]
    assert later.deleted_ids == ["2e451703-c686-e711-80e5-00155db19e6d"]
    assert later.delta_link and "$deltatoken=919058" in later.delta_link


def test_delta_empty_answer_keeps_previous_link(replay: ReplayServer) -> None:
    replay.on("GET", "accounts", json_answer({}))
    s = session(replay)
    link = replay.root + "accounts?$deltatoken=1"
    assert s.read_delta(delta_link=link).delta_link == link


# -- error bodies --------------------------------------------------------------------------------------------


def test_simple_validation_error_body(replay: ReplayServer) -> None:
    replay.on("POST", "tasks", replay.sample_json("error-body-simple-validation.json", status=400))
    with pytest.raises(ValidationError) as info:
        session(replay).request("POST", "tasks", json={"subject": "x" * 300})
    error = info.value
    assert error.status == 400 and error.code == "0x80044331"
    assert "maximum allowed length of '200'" in error.message
    assert error.severity == Severity.ITEM and not error.retriable
    assert "refused" in error.user_text


def test_error_with_annotations_doc_sample_is_malformed_json_but_handled(replay: ReplayServer) -> None:
    replay.on("POST", "accounts", replay.sample_json("error-body-with-annotations.json", status=400))
    with pytest.raises(ValidationError) as info:
        session(replay).request("POST", "accounts", json={})
    assert info.value.code == "0x80040265"
    assert info.value.message.endswith("Example Error Message.")


def test_error_annotations_kept_when_json_is_valid(replay: ReplayServer) -> None:
    text = replay.sample_text("error-body-with-annotations.json").replace(
        '\\r\\n\\r\\n"\n', '\\r\\n\\r\\n",\n'
    )
    replay.on("POST", "accounts", json_answer(text, 400))
    with pytest.raises(ValidationError) as info:
        session(replay).request("POST", "accounts", json={})
    assert info.value.annotations["Microsoft.PowerApps.CDS.ErrorDetails.SubErrorCode"] == "12345"


def test_412_concurrency_sample(replay: ReplayServer) -> None:
    replay.on("PATCH", "accounts(", replay.sample_http("error-412-concurrency.http"))
    with pytest.raises(PreconditionFailedError) as info:
        session(replay).request(
            "PATCH",
            "accounts(00000000-0000-0000-0000-000000000001)",
            json={"name": "x"},
            headers={"If-Match": 'W/"470867"'},
        )
    assert "RowVersion" in info.value.message
    assert info.value.severity == Severity.ITEM


def test_html_proxy_error_page(replay: ReplayServer) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>proxy</body></html>"
    replay.on("GET", "contacts", (502, {"Content-Type": "text/html"}, page))
    s = session(replay, retry_policy=FailFast())
    with pytest.raises(MalformedResponseError) as info:
        s.get_json("contacts")
    assert info.value.status == 502 and info.value.retriable
    assert "proxy" in info.value.user_text


def test_a_401_page_is_a_refused_sign_in_not_a_proxy(replay: ReplayServer) -> None:
    page = b"<html><head><title>401 - Unauthorized: Access is denied</title></head></html>"
    replay.on("GET", "contacts", (401, {"Content-Type": "text/html"}, page))
    with pytest.raises(AuthError) as info:
        session(replay, retry_policy=FailFast()).get_json("contacts")
    assert info.value.status == 401 and "did not accept the sign-in" in info.value.user_text


def test_html_page_with_200(replay: ReplayServer) -> None:
    replay.on("GET", "contacts", (200, {"Content-Type": "text/html; charset=utf-8"}, b"<html>Sign in</html>"))
    with pytest.raises(MalformedResponseError, match="web page"):
        session(replay).get_json("contacts")


def test_wrong_content_type(replay: ReplayServer) -> None:
    replay.on("GET", "contacts", (200, {"Content-Type": "text/plain"}, b"value=1"))
    with pytest.raises(MalformedResponseError, match="content type text/plain"):
        session(replay).get_json("contacts")


def test_malformed_json(replay: ReplayServer) -> None:
    replay.on("GET", "contacts", (200, {"Content-Type": "application/json"}, b'{"value": [1, 2'))
    with pytest.raises(MalformedResponseError, match="invalid JSON"):
        session(replay).get_json("contacts")


def test_redirect_to_sign_in_page_is_not_followed(replay: ReplayServer) -> None:
    replay.on("GET", "contacts", (302, {"Location": "https://login.example/adfs"}, b""))
    with pytest.raises(MalformedResponseError, match="redirect"):
        session(replay, auth=Tokens()).get_json("contacts")
    assert len(replay.requests) == 1


# -- retries -------------------------------------------------------------------------------------------------


def test_429_storm_is_bounded_then_clear_error(replay: ReplayServer, sleeps: Sleeps) -> None:
    body = {
        "error": {
            "code": "0x80072322",
            "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
        }
    }
    replay.on("GET", "contacts", json_answer(body, 429, {"Retry-After": "3"}))
    s = session(replay, sleeps, retry_policy=FaultTolerance(max_attempts=5, max_wait=60))
    with pytest.raises(ThrottledError) as info:
        s.get_json("contacts")
    assert len(replay.requests) == 5
    assert sleeps == [3.0, 3.0, 3.0, 3.0]
    assert info.value.retry_after == 3.0 and info.value.code == "0x80072322"
    assert "gave up after 5 attempts" in info.value.message
    assert "limiting" in info.value.user_text


def test_retry_after_beyond_max_wait_gives_up_early(replay: ReplayServer, sleeps: Sleeps) -> None:
    replay.on(
        "GET",
        "contacts",
        json_answer({"error": {"code": "", "message": "slow down"}}, 429, {"Retry-After": "120"}),
    )
    s = session(replay, sleeps, retry_policy=FaultTolerance(max_attempts=5, max_wait=60))
    with pytest.raises(ThrottledError):
        s.get_json("contacts")
    assert sleeps == [] and len(replay.requests) == 1


def test_503_then_success_with_http_date_retry_after(replay: ReplayServer, sleeps: Sleeps) -> None:
    from email.utils import formatdate

    date = formatdate(time.time() + 5, usegmt=True)
    replay.on(
        "GET",
        "contacts",
        (503, {"Content-Type": "text/plain", "Retry-After": date}, b"Service Unavailable"),
        json_answer({"value": [{"a": 1}]}),
    )
    assert session(replay, sleeps).get_json("contacts") == {"value": [{"a": 1}]}
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 6.0


def test_server_error_without_retry_after_uses_backoff(replay: ReplayServer, sleeps: Sleeps) -> None:
    replay.on("GET", "contacts", (503, {"Content-Type": "text/plain"}, b"down"))
    s = session(replay, sleeps, retry_policy=FaultTolerance(max_attempts=4, max_wait=100, base_delay=1))
    with pytest.raises(ServerError) as info:
        s.get_json("contacts")
    assert info.value.retriable and info.value.severity == Severity.ACCOUNT
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2 and 2 <= sleeps[2] <= 4


def test_really_waits_a_short_retry_after(replay: ReplayServer) -> None:
    replay.on(
        "GET",
        "contacts",
        json_answer({"error": {"code": "", "message": "x"}}, 429, {"Retry-After": "1"}),
        json_answer({"value": []}),
    )
    s = ODataSession(replay.root, retry_policy=FaultTolerance(max_attempts=3, max_wait=10))
    started = time.monotonic()
    assert s.get_json("contacts") == {"value": []}
    assert time.monotonic() - started >= 0.95
    assert len(replay.requests) == 2


def test_dropped_connection_is_retried_for_get(replay: ReplayServer, sleeps: Sleeps) -> None:
    replay.on("GET", "contacts", DROP, json_answer({"value": []}))
    assert session(replay, sleeps).get_json("contacts") == {"value": []}
    assert len(sleeps) == 1


def test_dropped_connection_on_post_is_not_retried(replay: ReplayServer, sleeps: Sleeps) -> None:
    replay.on("POST", "contacts", DROP, (204, {}, b""))
    with pytest.raises(NetworkError, match="dropped") as info:
        session(replay, sleeps).request("POST", "contacts", json={"lastname": "x"})
    assert info.value.retriable and sleeps == []
    assert len(replay.requests) == 1


def test_unreachable_host_closed_port(sleeps: Sleeps) -> None:
    port = closed_port()
    s = ODataSession(
        f"http://127.0.0.1:{port}/api/data/v9.2/", sleeper=sleeps, retry_policy=FaultTolerance(max_attempts=3)
    )
    with pytest.raises(NetworkError) as info:
        s.get_json("WhoAmI")
    assert "refused" in info.value.user_text
    assert len(sleeps) == 2  # retried, then gave up
    s2 = ODataSession(f"http://127.0.0.1:{port}/", sleeper=sleeps, retry_policy=FailFast())
    with pytest.raises(NetworkError):
        s2.get_json("x")
    assert len(sleeps) == 2


def test_read_timeout_is_a_network_error(replay: ReplayServer) -> None:
    def slow(_request: object) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.5)
        return json_answer({})

    replay.on("GET", "contacts", slow)
    s = ODataSession(replay.root, timeout=(2, 0.1), retry_policy=FailFast())
    with pytest.raises(NetworkError, match="in time"):
        s.get_json("contacts")


# -- auth ----------------------------------------------------------------------------------------------------


def test_401_refresh_then_401_again_is_a_clear_auth_error(replay: ReplayServer) -> None:
    body = {"error": {"code": "0x80072560", "message": "The user is not a member of the organization."}}
    replay.on("GET", "WhoAmI", json_answer(body, 401))
    tokens = Tokens()
    with pytest.raises(AuthError) as info:
        session(replay, auth=tokens).get_json("WhoAmI")
    assert tokens.calls == [False, True]
    assert [r.headers["Authorization"] for r in replay.requests] == ["Bearer token-1", "Bearer token-2"]
    assert "even after a fresh sign-in token" in info.value.user_text
    assert "token-" not in info.value.user_text and "token-" not in repr(info.value)


def test_401_then_silent_refresh_succeeds(replay: ReplayServer) -> None:
    replay.on(
        "GET",
        "WhoAmI",
        json_answer({"error": {"code": "", "message": "expired"}}, 401),
        replay.sample_http("whoami-response.http"),
    )
    tokens = Tokens()
    assert session(replay, auth=tokens).get_json("WhoAmI")["UserId"]
    assert tokens.calls == [False, True]


def test_requests_auth_base_is_used_for_ntlm_style_auth(replay: ReplayServer) -> None:
    import requests.auth

    replay.on("GET", "WhoAmI", json_answer({"error": {"code": "", "message": "no"}}, 401))
    with pytest.raises(AuthError):
        session(replay, auth=requests.auth.HTTPBasicAuth("DOMAIN\\anna", "secret")).get_json("WhoAmI")
    assert len(replay.requests) == 1 and replay.requests[0].headers["Authorization"].startswith("Basic ")


# -- URL and TLS policy --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://server/x",
        "https://",
        "https://host:99999/",
        "https://user:pw@host/",
        "https://ho st/",
    ],
)
def test_invalid_urls(url: str) -> None:
    with pytest.raises(InvalidURLError) as info:
        ODataSession(url)
    assert info.value.user_text


@pytest.mark.parametrize(
    "url", ["http://contoso.crm4.dynamics.com/", "http://10.0.0.5/org/", "http://128.0.0.1/"]
)
def test_plain_http_refused_except_loopback(url: str) -> None:
    with pytest.raises(InsecureURLError) as info:
        ODataSession(url)
    assert "https://" in info.value.user_text


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/", "http://127.8.9.10/", "http://localhost:8080/x/", "http://[::1]:5/"]
)
def test_plain_http_to_loopback_allowed(url: str) -> None:
    assert ODataSession(url).root.startswith("http://")


def test_tls_adapter_requires_tls12() -> None:
    assert TLS12Adapter._context().minimum_version == ssl.TLSVersion.TLSv1_2
    s = ODataSession("https://127.0.0.1:1/")
    assert isinstance(s.http.get_adapter("https://127.0.0.1:1/"), TLS12Adapter)


def test_tls_verification_against_sandbox_ca(tmp_path: Path) -> None:
    from wizard.sandbox._http import SandboxHandler, SandboxServer
    from wizard.sandbox.tls import make_tls

    class Handler(SandboxHandler):
        def route(self, method: str, body: bytes) -> None:
            self.send_json(200, {"ok": True})

    tls = make_tls(tmp_path)
    server = SandboxServer(Handler, tls=tls).start()
    try:
        good = ODataSession(server.base_url + "/", verify=str(tls.ca_file), retry_policy=FailFast())
        assert good.get_json("x") == {"ok": True}
        bad = ODataSession(server.base_url + "/", retry_policy=FailFast())
        with pytest.raises(TLSError) as info:
            bad.get_json("x")
        assert not info.value.retriable and "certificate" in info.value.user_text
    finally:
        server.stop()


def test_verify_false_is_refused() -> None:
    with pytest.raises(InsecureURLError):
        ODataSession("https://contoso.crm.dynamics.com/", verify=False)
