"""The stand-ins' Windows sign-in (NTLM over HTTP) at the wire: IIS's 401s, the connection-bound handshake.

The client side is pyspnego's initiator (what requests_ntlm uses), driven by hand over ``http.client`` so each
test controls which TCP connection carries which message.
"""

from __future__ import annotations

import base64
import http.client
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import spnego

from wizard.sandbox import Sandbox
from wizard.sandbox.ews.server import EWS_PATH
from wizard.sandbox.ntlm import USER_FILE, NtlmAccounts, NtlmConnection, down_level_name, message_type

ANNA = "anna.schmidt@contoso.com"
ANNA_PASSWORD = "Sandbox-Anna-2026"
BEN = "ben.miller@contoso.com"  # member of Contoso Sales only
BEN_PASSWORD = "Sandbox-Ben-2026"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("ntlm"), demo_data=False, graph=False) as box:
        yield box


def _connect(sandbox: Sandbox, url: str) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)


def _client(username: str, password: str) -> spnego.ContextProxy:
    return spnego.client(username, password, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)


def _get(
    conn: http.client.HTTPConnection, path: str, token: bytes | None = None, scheme: str = "NTLM"
) -> http.client.HTTPResponse:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {base64.b64encode(token).decode()}"
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response


def _challenge(response: http.client.HTTPResponse, scheme: str = "NTLM") -> bytes:
    values = [v for v in response.headers.get_all("WWW-Authenticate") or [] if v.startswith(scheme + " ")]
    assert len(values) == 1, response.headers.get_all("WWW-Authenticate")
    return base64.b64decode(values[0].split(" ", 1)[1])


def _whoami_path(sandbox: Sandbox) -> str:
    return f"/{sandbox.onprem.org.unique_name}/api/data/v9.1/WhoAmI"


def _handshake(
    conn: http.client.HTTPConnection, path: str, username: str, password: str, scheme: str = "NTLM"
) -> http.client.HTTPResponse:
    client = _client(username, password)
    challenge = _challenge(_get(conn, path, client.step(), scheme), scheme)
    return _get(conn, path, client.step(challenge), scheme)


def test_no_credentials_get_401_offering_windows_sign_in(sandbox: Sandbox) -> None:
    conn = _connect(sandbox, sandbox.onprem.url)
    response = _get(conn, _whoami_path(sandbox))
    assert response.status == 401
    assert response.headers.get_all("WWW-Authenticate") == ["Negotiate", "NTLM"]
    assert response.headers["Content-Type"] == "text/html"
    assert response.will_close is False  # keep-alive across the 401, as the handshake needs

    ews = _connect(sandbox, sandbox.ews.url)
    ews.request("POST", EWS_PATH, body=b"<x/>", headers={"Content-Type": "text/xml"})
    answer = ews.getresponse()
    answer.read()
    assert answer.status == 401
    assert answer.headers.get_all("WWW-Authenticate") == ["Negotiate", "NTLM", 'Basic realm="127.0.0.1"']


@pytest.mark.parametrize("username", [down_level_name(ANNA), ANNA, "contoso\\ANNA.SCHMIDT"])
def test_handshake_on_one_connection_signs_the_connection_in(sandbox: Sandbox, username: str) -> None:
    conn = _connect(sandbox, sandbox.onprem.url)
    path = _whoami_path(sandbox)
    response = _handshake(conn, path, username, ANNA_PASSWORD)
    assert response.status == 200
    before = sandbox.onprem.server.request_count
    again = _get(conn, path)  # no Authorization header: IIS keeps the connection signed in
    assert again.status == 200
    assert sandbox.onprem.server.request_count == before + 1
    fresh = _get(_connect(sandbox, sandbox.onprem.url), path)  # another connection is not
    assert fresh.status == 401


def test_negotiate_scheme_with_raw_ntlm_tokens(sandbox: Sandbox) -> None:
    conn = _connect(sandbox, sandbox.onprem.url)
    response = _handshake(conn, _whoami_path(sandbox), ANNA, ANNA_PASSWORD, scheme="Negotiate")
    assert response.status == 200


def test_authenticate_on_a_fresh_connection_is_refused(sandbox: Sandbox) -> None:
    path = _whoami_path(sandbox)
    client = _client(ANNA, ANNA_PASSWORD)
    first = _connect(sandbox, sandbox.onprem.url)
    challenge = _challenge(_get(first, path, client.step()))
    authenticate = client.step(challenge)
    assert authenticate is not None and message_type(authenticate) == 3
    second = _connect(
        sandbox, sandbox.onprem.url
    )  # the AUTHENTICATE goes out on a connection without CHALLENGE
    refused = _get(second, path, authenticate)
    assert refused.status == 401
    assert refused.headers.get_all("WWW-Authenticate") == ["Negotiate", "NTLM"]
    # and the first connection's pending handshake is still its own
    assert _get(first, path, authenticate).status == 200


def test_wrong_password_and_unknown_user_are_refused_and_the_connection_stays_open(sandbox: Sandbox) -> None:
    conn = _connect(sandbox, sandbox.onprem.url)
    path = _whoami_path(sandbox)
    wrong = _handshake(conn, path, ANNA, "not-the-password")
    assert wrong.status == 401
    assert wrong.headers.get_all("WWW-Authenticate") == ["Negotiate", "NTLM"]
    assert _handshake(conn, path, "CONTOSO\\nobody", "whatever").status == 401
    assert _get(conn, path).status == 401  # a refused handshake leaves the connection signed out
    assert _handshake(conn, path, ANNA, ANNA_PASSWORD).status == 200  # same connection, next try works


def test_a_bearer_token_is_not_windows_sign_in(sandbox: Sandbox) -> None:
    token = sandbox.port_info()["users"][0]["access_token"]
    conn = _connect(sandbox, sandbox.onprem.url)
    conn.request("GET", _whoami_path(sandbox), headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    response.read()
    assert response.status == 401


def test_domain_account_that_is_no_member_gets_403(sandbox: Sandbox) -> None:
    sales_only = sandbox.directory.user(BEN)
    assert sales_only is not None and not sales_only.member_of(sandbox.onprem.org)
    # Ben has a domain account but is no user of the organization: IIS lets him in, Dynamics 365 says no.
    response = _handshake(_connect(sandbox, sandbox.onprem.url), _whoami_path(sandbox), BEN, BEN_PASSWORD)
    assert response.status == 403


def test_ews_ntlm_and_basic_on_the_same_server(sandbox: Sandbox) -> None:
    conn = _connect(sandbox, sandbox.ews.url)
    client = _client(down_level_name(ANNA), ANNA_PASSWORD)
    conn.request(
        "POST",
        EWS_PATH,
        body=b"",
        headers={"Authorization": "NTLM " + base64.b64encode(client.step() or b"").decode()},
    )
    first = conn.getresponse()
    first.read()
    assert first.status == 401
    token = client.step(_challenge(first))
    conn.request(
        "POST",
        EWS_PATH,
        body=b"not xml",
        headers={"Authorization": "NTLM " + base64.b64encode(token or b"").decode()},
    )
    answer = conn.getresponse()
    body = answer.read()
    assert answer.status == 500 and b"ErrorSchemaValidation" in body  # signed in: the SOAP layer answered
    basic = base64.b64encode(f"{ANNA}:wrong".encode()).decode()
    conn.request("POST", EWS_PATH, body=b"not xml", headers={"Authorization": f"Basic {basic}"})
    refused = conn.getresponse()
    refused.read()
    assert refused.status == 401  # an explicit Basic header is judged on its own


def test_credential_file_is_process_wide_and_follows_the_running_stand_ins(sandbox: Sandbox) -> None:
    path = USER_FILE.path
    assert path is not None and os.environ["NTLM_USER_FILE"] == str(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    lines = set(path.read_text(encoding="utf-8").splitlines())
    assert f"CONTOSO:anna.schmidt:{ANNA_PASSWORD}" in lines and f":{ANNA}:{ANNA_PASSWORD}" in lines

    extra = NtlmAccounts([("temp.user@fabrikam.com", "Temp-2026")])
    extra.start()
    assert "FABRIKAM:temp.user:Temp-2026" in Path(path).read_text(encoding="utf-8")
    clash = NtlmAccounts([(ANNA, "another password")])
    with pytest.raises(ValueError, match="already has another password"):
        clash.start()
    extra.stop()
    assert "fabrikam" not in Path(path).read_text(encoding="utf-8").lower()
    with pytest.raises(ValueError, match="may not contain"):
        NtlmAccounts([("x@contoso.com", "pass:word")]).start()
    assert repr(extra) == "NtlmAccounts(['temp.user@fabrikam.com'])"  # no password in the repr


def test_connection_state_without_a_server() -> None:
    state = NtlmConnection()
    accounts = NtlmAccounts([])
    assert state.accept(None, accounts).kind == "none"
    assert state.accept("Basic abc", accounts).kind == "other"
    assert state.accept("NTLM !!!", accounts).kind == "denied"
    assert (
        state.accept("Negotiate " + base64.b64encode(b"\x60\x82kerberos").decode(), accounts).kind == "denied"
    )


def test_the_onprem_server_has_no_v9_2_web_api(sandbox: Sandbox) -> None:
    """A 9.1 server serves v9.0 and v9.1 only; v9.2 is "Resource not found" (the product falls back)."""
    from wizard.sandbox.dataverse.server import served_versions

    assert served_versions(sandbox.onprem.org.version) == ("v9.0", "v9.1")
    assert served_versions("9.2.26103.00185") == ("v9.0", "v9.1", "v9.2")
    assert sandbox.onprem.api_url.endswith("/api/data/v9.1/")
