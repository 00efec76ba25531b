"""Transport security, decided in one place for every protocol (Dataverse, Graph, EWS, POP3/SMTP).

- Plain text (``http://``, POP3/SMTP without TLS) only to this computer: 127.0.0.0/8, ``::1``, ``localhost`` and
  any ``*.localhost`` name (RFC 6761 reserves them for loopback).
- Everything else: TLS 1.2 or newer, certificate and host name verified, against the system's trust store or
  the CA file the user named (``verify_for``).
"""

from __future__ import annotations

import ipaddress
import ssl


def is_loopback_host(host: str) -> bool:
    """True for the hosts that plain text may go to: 127.0.0.0/8, ::1, localhost and ``*.localhost``."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def verify_for(ca_file: str | None) -> str | bool:
    """The ``verify`` value for requests: the user's CA file, else the system's trust store (never off).

    Pass it with every request: requests lets ``REQUESTS_CA_BUNDLE`` override ``Session.verify``."""
    return ca_file or True


def tls_context(ca_file: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A client context: TLS 1.2 or newer, certificates and host names checked against ``ca_file`` or the
    system store. ``verify=False`` exists only for an explicit user choice (POP3's "do not verify")."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


__all__ = ["is_loopback_host", "tls_context", "verify_for"]
