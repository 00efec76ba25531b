"""IIS authenticates before the EWS handler runs: any method without credentials gets 401 + WWW-Authenticate.

Follows "Authentication and EWS in Exchange" (MicrosoftDocs/office-developer-exchange-docs,
docs/exchange-web-services/authentication-and-ews-in-exchange.md: EWS and Autodiscover sit behind IIS, which
challenges with the configured schemes — NTLM/Negotiate and Basic here) and the EWS endpoint taking SOAP by
POST only (docs/web-service-reference/ews-xml-elements-in-exchange.md; the 405 of a wrong method comes from the
handler, so only an authenticated request can see it). A client whose NTLM handshake starts with a GET (as
requests_ntlm or a browser-like probe do) must be able to finish it and then learn the allowed method.
"""

from __future__ import annotations

import base64
import http.client
import ssl

import pytest
import spnego

from tests.contract.ews_sandbox.conftest import ANNA
from wizard.sandbox.ews.server import AUTODISCOVER_PATH, EWS_PATH

PATHS = (EWS_PATH, AUTODISCOVER_PATH, "/autodiscover/autodiscover.xml")


def _connect(standin, sandbox_tls) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(sandbox_tls.ca_file))
    return http.client.HTTPSConnection("127.0.0.1", standin.server.port, context=context, timeout=10)


def _send(conn, method: str, path: str, authorization: str | None = None) -> http.client.HTTPResponse:
    headers = {"Authorization": authorization} if authorization else {}
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response


@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS", "PUT"])
@pytest.mark.parametrize("path", PATHS)
def test_any_method_without_credentials_is_challenged(standin, sandbox_tls, method, path) -> None:
    conn = _connect(standin, sandbox_tls)
    response = _send(conn, method, path)
    assert response.status == 401
    offered = response.headers.get_all("WWW-Authenticate") or []
    assert offered[:2] == ["Negotiate", "NTLM"]
    assert any(v.startswith("Basic ") for v in offered)
    conn.close()


def test_wrong_method_after_basic_sign_in_is_405(standin, sandbox_tls) -> None:
    conn = _connect(standin, sandbox_tls)
    basic = "Basic " + base64.b64encode(f"{ANNA}:Sandbox-Anna-2026".encode()).decode()
    response = _send(conn, "GET", EWS_PATH, basic)
    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    conn.close()


def test_ntlm_handshake_that_starts_with_get_completes(standin, sandbox_tls) -> None:
    conn = _connect(standin, sandbox_tls)
    client = spnego.client(
        ANNA, "Sandbox-Anna-2026", protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm
    )
    negotiate = client.step()
    assert negotiate is not None
    first = _send(conn, "GET", EWS_PATH, "NTLM " + base64.b64encode(negotiate).decode())
    assert first.status == 401
    offered = first.headers.get_all("WWW-Authenticate") or []
    challenge = next(v for v in offered if v.startswith("NTLM "))
    token = client.step(base64.b64decode(challenge.split(" ", 1)[1]))
    assert token is not None
    last = _send(conn, "GET", EWS_PATH, "NTLM " + base64.b64encode(token).decode())
    assert last.status == 405  # signed in; the handler then refuses the method
    assert last.headers["Allow"] == "POST"
    assert standin.server.ntlm_sign_ins == 1
    conn.close()
