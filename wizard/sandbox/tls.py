"""A throw-away certificate authority for the loopback stand-ins (trustme).

Clients trust the stand-ins by pointing ``verify=`` at :attr:`SandboxTLS.ca_file`; nothing is added to any
system trust store.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass
class SandboxTLS:
    ca_file: Path
    server_context: ssl.SSLContext


def make_tls(folder: Path) -> SandboxTLS:
    """Create a CA and a server certificate for 127.0.0.1 / localhost; write the CA PEM into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="d365sync sandbox CA")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca_file = folder / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(context)
    return SandboxTLS(ca_file=ca_file, server_context=context)
