"""SOAP Autodiscover against hostile HTTPS servers (issue 11, item 3): the mailbox password goes only to
servers the user vouched for.

Server A is the Autodiscover URL the user gave; it redirects (a ``RedirectUrl`` answer or an HTTP 302) to
server B. B at ``localhost`` is "another domain" for ``anna@contoso.com``: it must receive nothing unless the
user confirmed it. B answering as ``mail.contoso.com`` (its certificate and a name lookup made for the test)
is within the address's domain and is followed without asking.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib import Credentials

from tests.support.autodiscover_soap import ANNA, redirect_url, settings
from tests.support.hostile import HostileServer, Seen, raw, redirect
from wizard.errors import ConfigurationError
from wizard.mailbox.base import AutodiscoverRedirect
from wizard.mailbox.ews.autodiscover import (
    AUTODISCOVER_PATH,
    RedirectPolicy,
    autodiscover,
    registrable_domain,
)
from wizard.mailbox.ews.connection import make_adapter_class

PASSWORD = "Hostile-Test-Password-1"


def _discover(server: HostileServer, **kwargs: Any) -> Any:
    return autodiscover(
        ANNA,
        Credentials(ANNA, PASSWORD),
        auth_type="basic",
        adapter_cls=make_adapter_class(str(server.ca_file)),
        candidates=[server.url + AUTODISCOVER_PATH],
        **kwargs,
    )


def _posted(seen: list[Seen]) -> list[Seen]:
    return [s for s in seen if s.method == "POST"]


@pytest.fixture
def contoso_server(hostile_ca: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileServer]:
    """A hostile server that answers as mail.contoso.com (certificate and name lookup), on 127.0.0.1."""
    server = HostileServer(hostile_ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    hostile_ca.ca.issue_cert("mail.contoso.com").configure_cert(context)
    server.context = context
    real = socket.getaddrinfo

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "mail.contoso.com" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    try:
        yield server
    finally:
        server.stop()


def test_redirect_url_to_another_domain_receives_nothing(
    hostile_pair: tuple[HostileServer, HostileServer],
) -> None:
    first, foreign = hostile_pair
    target = f"https://localhost:{foreign.port}{AUTODISCOVER_PATH}"
    first.on("POST", AUTODISCOVER_PATH, redirect_url(target))
    foreign.on("POST", AUTODISCOVER_PATH, settings(f"https://localhost:{foreign.port}/EWS/Exchange.asmx"))
    with pytest.raises(AutodiscoverRedirect) as caught:
        _discover(first)
    assert caught.value.host == "localhost"
    assert "localhost" in caught.value.user_text and "--allow-redirect localhost" in caught.value.user_text
    assert "was not sent" in caught.value.user_text
    assert foreign.requests == []
    assert _posted(first.requests)  # the server the user named was asked


def test_http_302_to_another_domain_receives_nothing(
    hostile_pair: tuple[HostileServer, HostileServer],
) -> None:
    first, foreign = hostile_pair
    first.on("POST", AUTODISCOVER_PATH, redirect(f"https://localhost:{foreign.port}{AUTODISCOVER_PATH}"))
    foreign.on("POST", AUTODISCOVER_PATH, settings(f"https://localhost:{foreign.port}/EWS/Exchange.asmx"))
    with pytest.raises(AutodiscoverRedirect) as caught:
        _discover(first)
    assert caught.value.host == "localhost"
    assert foreign.requests == []


def test_a_confirmed_host_is_followed(hostile_pair: tuple[HostileServer, HostileServer]) -> None:
    first, foreign = hostile_pair
    ews = f"https://localhost:{foreign.port}/EWS/Exchange.asmx"
    first.on("POST", AUTODISCOVER_PATH, redirect_url(f"https://localhost:{foreign.port}{AUTODISCOVER_PATH}"))
    foreign.on("POST", AUTODISCOVER_PATH, settings(ews))
    found = _discover(first, allowed_hosts=["LocalHost."])
    assert found.ews_url == ews
    assert _posted(foreign.requests)


def test_a_redirect_within_the_address_domain_is_followed(
    hostile: HostileServer, contoso_server: HostileServer
) -> None:
    ews = f"https://mail.contoso.com:{contoso_server.port}/EWS/Exchange.asmx"
    target = f"https://mail.contoso.com:{contoso_server.port}{AUTODISCOVER_PATH}"
    hostile.on("POST", AUTODISCOVER_PATH, redirect_url(target))
    contoso_server.on("POST", AUTODISCOVER_PATH, settings(ews))
    found = _discover(hostile)
    assert found.ews_url == ews
    posted = _posted(contoso_server.requests)
    assert posted and posted[0].headers.get("Authorization", "").startswith("Basic ")


def test_a_confirmed_host_does_not_vouch_for_the_next_redirect(
    hostile_pair: tuple[HostileServer, HostileServer],
) -> None:
    """Each host outside the domain needs its own confirmation: A -> localhost (confirmed) -> 127.0.0.2.

    Had 127.0.0.2 been tried, nothing listens there and the error would say the server is unreachable."""
    first, foreign = hostile_pair
    first.on("POST", AUTODISCOVER_PATH, redirect_url(f"https://localhost:{foreign.port}{AUTODISCOVER_PATH}"))
    foreign.on("POST", AUTODISCOVER_PATH, redirect(f"https://127.0.0.2:{foreign.port}{AUTODISCOVER_PATH}"))
    with pytest.raises(AutodiscoverRedirect) as caught:
        _discover(first, allowed_hosts=["localhost"])
    assert caught.value.host == "127.0.0.2"
    assert _posted(foreign.requests)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("contoso.com", True),
        ("autodiscover.contoso.com", True),
        ("mail.eu.contoso.com", True),
        ("Mail.Contoso.COM.", True),
        ("contoso.com.evil.example", False),
        ("evilcontoso.com", False),
        ("autodiscover-s.outlook.com", False),
        ("127.0.0.1", False),
        ("localhost", False),
        ("com", False),
    ],
)
def test_policy_same_registrable_domain(host: str, allowed: bool) -> None:
    from wizard.mailbox.ews.autodiscover import host_of

    assert RedirectPolicy(ANNA).allows(host_of(host)) is allowed


def test_policy_public_suffixes_and_private_domains() -> None:
    assert registrable_domain("a.b.contoso.co.uk") == "contoso.co.uk"
    assert RedirectPolicy("anna@contoso.co.uk").allows("mail.contoso.co.uk")
    assert not RedirectPolicy("anna@contoso.co.uk").allows("other.co.uk")
    # a private suffix of the list: two tenants of one hoster are two owners
    assert not RedirectPolicy("anna@contoso.azurewebsites.net").allows("evil.azurewebsites.net")
    assert registrable_domain("10.0.0.1") is None


def test_policy_trusts_the_given_urls_and_confirmed_hosts_only() -> None:
    policy = RedirectPolicy(
        ANNA,
        trusted_urls=["https://ad.hoster.example/autodiscover/autodiscover.svc"],
        allowed_hosts=["https://Mail.Provider.example:443/"],
    )
    assert policy.allows("ad.hoster.example") and policy.allows("mail.provider.example")
    assert not policy.allows("other.hoster.example")
    with pytest.raises(ConfigurationError):
        RedirectPolicy(ANNA, allowed_hosts=["evil.example\\@contoso.com"])


def test_an_srv_target_outside_the_domain_needs_confirmation(
    hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SRV record may name any server (Outlook asks here too); the derived candidates fail first."""
    from wizard.mailbox.ews import autodiscover as module

    hostile.on("POST", AUTODISCOVER_PATH, raw(404, {"Content-Type": "text/plain"}, b"no"))
    monkeypatch.setattr(module, "autodiscover_candidates", lambda address: [hostile.url + AUTODISCOVER_PATH])
    target = f"https://localhost:{hostile.port}{AUTODISCOVER_PATH}"
    monkeypatch.setattr(module, "_srv_candidates", lambda domain: [target])
    with pytest.raises(AutodiscoverRedirect) as caught:
        autodiscover(
            ANNA,
            Credentials(ANNA, PASSWORD),
            auth_type="basic",
            adapter_cls=make_adapter_class(str(hostile.ca_file)),
        )
    assert caught.value.host == "localhost"
    assert {s.headers.get("Host", "").split(":")[0] for s in hostile.requests} == {"127.0.0.1"}


def test_policy_without_a_registrable_domain_trusts_that_name_only() -> None:
    assert RedirectPolicy("anna@corp").allows("corp")
    assert not RedirectPolicy("anna@corp").allows("autodiscover.corp")
    assert not RedirectPolicy("anna@co.uk").allows("evil.co.uk")
