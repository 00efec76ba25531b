"""wizard.tls: one rule for plain text and one TLS context, for every protocol."""

from __future__ import annotations

import ssl

import pytest

from wizard.tls import is_loopback_host, tls_context, verify_for


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "mail.localhost", "localhost."],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "10.0.0.1",
        "192.168.1.1",
        "example.com",
        "localhost.example.com",
        "notlocalhost",
        "128.0.0.1",
        "::2",
    ],
)
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


def test_verify_is_never_off() -> None:
    assert verify_for(None) is True
    assert verify_for("") is True
    assert verify_for("/etc/ca.pem") == "/etc/ca.pem"


def test_context_is_tls12_and_verifies() -> None:
    context = tls_context()
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_context_without_verification_only_when_asked() -> None:
    context = tls_context(verify=False)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE
