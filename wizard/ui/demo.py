"""What the demo (the stand-ins) tells the wizard, so the Add organization dialog can offer a "Sandbox" cloud."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    graph_url: str = ""  # the sandbox's Microsoft Graph stand-in (Exchange Online on the mailbox page)
    label: str = "Sandbox (demo)"

    @classmethod
    def from_port_info(cls, info: dict[str, Any], user: int = 0) -> DemoHints:
        """Hints for one demo user from the sandbox's port information (docs/sandbox.md)."""
        u = info["users"][user]
        return cls(
            discovery_url=info["discovery_url"],
            authority_url=info["authority_url"],
            ca_file=info["ca_file"],
            username=u["upn"],
            password=u["password"],
            autodiscover_url=info.get("autodiscover_url", ""),
            mailbox_password=u.get("ews_password", ""),
            graph_url=info.get("graph_url", ""),
        )
