"""Throttling, failures, dropped connections, authentication and raw SOAP shape."""

from __future__ import annotations

import time

import pytest
import requests
from exchangelib import FailFast, FaultTolerance
from exchangelib.errors import (
    ErrorInternalServerError,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    RateLimitError,
    TransportError,
    UnauthorizedError,
)
from lxml import etree

from tests.contract.ews_sandbox.conftest import ANNA, NANCY_SMTP, NANCY_UPN

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"

GET_INBOX = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
    xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
  <s:Header><t:RequestServerVersion Version="{version}"/></s:Header>
  <s:Body>
    <m:GetFolder>
      <m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>
      <m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds>
    </m:GetFolder>
  </s:Body>
</s:Envelope>"""


def _post(standin, sandbox_tls, *, version="Exchange2016", token=None, **kwargs) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(
        standin.url,
        data=GET_INBOX.format(version=version).encode(),
        headers=headers,
        verify=str(sandbox_tls.ca_file),
        timeout=10,
        **kwargs,
    )


def test_server_busy_with_back_off_fails_fast(standin, account_for) -> None:
    account = account_for(ANNA, retry_policy=FailFast())
    _ = account.contacts  # resolve the folder before the fault is armed
    standin.server.faults.throttle(retry_after=0.25, remaining=1)
    with pytest.raises(ErrorServerBusy) as caught:
        account.contacts.all().count()
    assert caught.value.back_off == 0.25


def test_server_busy_is_retried_under_fault_tolerance(standin, account_for) -> None:
    account = account_for(ANNA, retry_policy=FaultTolerance(max_wait=2))
    _ = account.contacts
    standin.server.faults.throttle(retry_after=0.05, remaining=2)
    standin.server.reset_counts()
    assert account.contacts.all().count() == 0
    assert standin.server.request_count == 3
    assert standin.server.faults.hits["throttle"] == 2


def test_server_busy_longer_than_max_wait_is_a_rate_limit_error(standin, account_for) -> None:
    account = account_for(ANNA, retry_policy=FaultTolerance(max_wait=1))
    _ = account.contacts
    standin.server.faults.throttle(retry_after=30, remaining=1)
    with pytest.raises(RateLimitError):
        account.contacts.all().count()


def test_internal_server_error_is_a_soap_fault(standin, anna) -> None:
    _ = anna.contacts
    standin.server.faults.error(status=500, remaining=1)
    with pytest.raises(ErrorInternalServerError):
        anna.contacts.all().count()
    assert anna.contacts.all().count() == 0


def test_dropped_connection_surfaces_as_transport_error(standin, anna) -> None:
    _ = anna.contacts
    standin.server.faults.drop(remaining=1)
    with pytest.raises((ErrorTimeoutExpired, TransportError)):
        anna.contacts.all().count()
    assert anna.contacts.all().count() == 0


def test_latency_is_injected(standin, anna) -> None:
    _ = anna.contacts
    standin.server.faults.latency(0.3, remaining=1)
    started = time.monotonic()
    anna.contacts.all().count()
    assert time.monotonic() - started >= 0.3


def test_wrong_password_is_unauthorized(account_for) -> None:
    account = account_for(ANNA, password="wrong")
    with pytest.raises(UnauthorizedError):
        account.inbox  # noqa: B018


def test_login_with_upn_or_primary_smtp(account_for) -> None:
    assert account_for(NANCY_SMTP, login=NANCY_UPN).inbox.name == "Inbox"
    assert account_for(NANCY_SMTP, login=NANCY_SMTP).inbox.name == "Inbox"


def test_raw_soap_answer_has_real_namespaces_and_version_header(standin, sandbox_tls) -> None:
    answer = _post(standin, sandbox_tls, auth=(ANNA, "Sandbox-Anna-2026"))
    assert answer.status_code == 200
    root = etree.fromstring(answer.content)
    info = root.find(f"{{{SOAP}}}Header/{{{TNS}}}ServerVersionInfo")
    assert (info.get("MajorVersion"), info.get("MinorVersion")) == ("15", "2")
    msg = root.find(
        f"{{{SOAP}}}Body/{{{MNS}}}GetFolderResponse/{{{MNS}}}ResponseMessages/{{{MNS}}}GetFolderResponseMessage"
    )
    assert msg.get("ResponseClass") == "Success"
    assert msg.find(f"{{{MNS}}}Folders/{{{TNS}}}Folder/{{{TNS}}}DisplayName").text == "Inbox"


def test_unknown_request_server_version_is_rejected(standin, sandbox_tls) -> None:
    answer = _post(standin, sandbox_tls, version="Exchange2099", auth=(ANNA, "Sandbox-Anna-2026"))
    assert answer.status_code == 500
    assert b"ErrorInvalidServerVersion" in answer.content


def test_bearer_tokens_are_verified(standin, sandbox_tls, signer, directory) -> None:
    anna = directory.user(ANNA)
    good = signer.issue(oid=anna.oid, upn=anna.upn, tenant_id=directory.tenant_id, audience=standin.base_url)
    other = signer.issue(
        oid=anna.oid, upn=anna.upn, tenant_id=directory.tenant_id, audience="https://elsewhere"
    )
    assert _post(standin, sandbox_tls, token=good).status_code == 200
    assert _post(standin, sandbox_tls, token=other).status_code == 401
    assert _post(standin, sandbox_tls).status_code == 401
