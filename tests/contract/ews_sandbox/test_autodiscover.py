"""SOAP Autodiscover (GetUserSettings) through exchangelib's own autodiscover classes, without DNS."""

from __future__ import annotations

import pytest
from exchangelib import BASIC, Account, Configuration, Credentials, FailFast
from exchangelib.autodiscover import Autodiscovery
from exchangelib.autodiscover import cache as ad_cache
from exchangelib.autodiscover.protocol import AutodiscoverProtocol
from exchangelib.errors import ErrorNonExistentMailbox

from tests.contract.ews_sandbox.conftest import ANNA, NANCY_SMTP, NANCY_UPN


def _protocol(standin, login: str, password: str) -> AutodiscoverProtocol:
    return AutodiscoverProtocol(
        config=Configuration(
            service_endpoint=standin.autodiscover_url,
            credentials=Credentials(login, password),
            auth_type=BASIC,
            retry_policy=FailFast(),
        )
    )


@pytest.fixture
def no_dns(monkeypatch, tmp_path):
    """Keep exchangelib's autodiscover cache out of the shared temp dir; fail if it reaches for DNS."""
    monkeypatch.setattr(ad_cache, "AUTODISCOVER_PERSISTENT_STORAGE", tmp_path / "autodiscover.cache")

    def forbidden(self, *args, **kwargs):
        raise AssertionError("autodiscover tried a DNS-based step")

    for step in ("_step_1", "_step_2", "_step_3", "_step_4", "_ensure_valid_hostname"):
        monkeypatch.setattr(Autodiscovery, step, forbidden)
    yield
    ad_cache.autodiscover_cache.close()


def test_get_user_settings_returns_the_ews_url(standin) -> None:
    protocol = _protocol(standin, ANNA, "Sandbox-Anna-2026")
    response = protocol.get_user_settings(user=ANNA)
    response.raise_errors()
    assert response.ews_url == standin.url
    assert response.user_settings["internal_ews_url"] == standin.url
    assert response.user_settings["user_display_name"] == "Anna Schmidt"
    assert response.user_settings["cas_version"].startswith("15.02.")
    assert response.autodiscover_smtp_address == ANNA
    assert response.version.api_version == "Exchange2016"
    protocol.close()


def test_unknown_user_is_invalid_user(standin) -> None:
    protocol = _protocol(standin, ANNA, "Sandbox-Anna-2026")
    response = protocol.get_user_settings(user="nobody@contoso.com")
    with pytest.raises(ErrorNonExistentMailbox):
        response.raise_errors()
    protocol.close()


def test_primary_smtp_differs_from_upn(standin) -> None:
    protocol = _protocol(standin, NANCY_UPN, "Sandbox-Nancy-2026")
    response = protocol.get_user_settings(user=NANCY_UPN)
    assert response.autodiscover_smtp_address == NANCY_SMTP
    protocol.close()


def test_account_autodiscovers_through_a_prefilled_cache(standin, no_dns) -> None:
    credentials = Credentials(ANNA, "Sandbox-Anna-2026")
    ad_cache.autodiscover_cache[("contoso.com", credentials)] = _protocol(standin, ANNA, "Sandbox-Anna-2026")
    ad_response, protocol = Autodiscovery(email=ANNA, credentials=credentials).discover()
    assert protocol.service_endpoint == standin.url
    assert ad_response.autodiscover_smtp_address == ANNA

    account = Account(
        ANNA,
        credentials=credentials,
        autodiscover=True,
        config=Configuration(credentials=credentials, auth_type=BASIC, retry_policy=FailFast()),
    )
    assert account.protocol.service_endpoint == standin.url
    assert account.inbox.name == "Inbox"
    account.protocol.close()
    protocol.close()
