"""What the demo (the stand-ins) tells the wizard, so the Add organization dialog can offer a "Sandbox" cloud."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoHints:
    """Where the sandbox runs and who the demo user is; the dialog prefills its fields from this."""

    discovery_url: str
    authority_url: str
    ca_file: str
    username: str
    password: str = field(default="", repr=False)
    autodiscover_url: str = ""  # the sandbox's SOAP Autodiscover endpoint (mailbox page)
    mailbox_password: str = field(default="", repr=False)  # the demo user's Exchange password
    label: str = "Sandbox (demo)"
