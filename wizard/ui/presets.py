"""What the wizard's pages offer and prefill: the clouds of the Add organization dialog and the mailbox fields.

:func:`standard` is the Microsoft clouds with nothing prefilled; the demo adds its stand-ins as one more cloud
(:func:`sandbox`: the sandbox's discovery URL, authority and CA file, the demo user's sign-in and mailbox
details). The pages read one :class:`Preset` and know nothing of the demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.crm.auth import CLOUDS, authority_url


@dataclass(frozen=True)
class CloudPreset:
    """One entry of the Cloud list: where to discover environments and sign in, and what to prefill."""

    key: str
    label: str
    discovery_url: str
    authority: str
    ca_file: str = ""
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class MailboxPreset:
    """What the Mailbox page prefills (empty: the page's own defaults)."""

    exchange_auth: str = ""  # "ntlm" | "basic" | "oauth2"
    autodiscover_url: str = ""
    password: str = field(default="", repr=False)
    graph_url: str = ""  # Exchange Online: the Microsoft Graph service root ("" = the public cloud's)
    ca_file: str = ""  # also trusted for the mailbox


@dataclass(frozen=True)
class Preset:
    clouds: tuple[CloudPreset, ...]  # in the order of the list; the first is chosen
    mailbox: MailboxPreset = MailboxPreset()


def microsoft_clouds() -> tuple[CloudPreset, ...]:
    return tuple(CloudPreset(c.key, c.label, c.discovery_url, authority_url(c.key)) for c in CLOUDS.values())


def standard() -> Preset:
    """The Microsoft clouds, nothing prefilled."""
    return Preset(microsoft_clouds())


def sandbox(info: dict[str, Any], user: int = 0) -> Preset:
    """The stand-ins as the first cloud, prefilled for one demo user, from the sandbox's port information
    (docs/sandbox.md); the Microsoft clouds follow."""
    u = info["users"][user]
    demo = CloudPreset(
        key="sandbox",
        label="Sandbox (demo)",
        discovery_url=info["discovery_url"],
        authority=info["authority_url"],
        ca_file=info["ca_file"],
        username=u["upn"],
        password=u["password"],
    )
    mailbox = MailboxPreset(
        exchange_auth="basic",
        autodiscover_url=info.get("autodiscover_url", ""),
        password=u.get("ews_password", ""),
        graph_url=info.get("graph_url", ""),
        ca_file=info["ca_file"],
    )
    return Preset((demo, *microsoft_clouds()), mailbox)
