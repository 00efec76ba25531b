"""What the wizard's pages offer and prefill: the clouds of the Add organization dialog and the mailbox fields.

:func:`standard` is the Microsoft clouds with nothing prefilled; the demo adds its stand-ins as one more cloud
(:func:`sandbox`: the sandbox's discovery URL, authority and CA file, the demo user's sign-in and mailbox
details, and the stand-ins' addresses for the Welcome page's "Demo environment" panel). The pages read one
:class:`Preset` and know nothing else of the demo.
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
class DemoEnvironment:
    """The stand-ins' addresses and the demo user's sign-in, shown on the Welcome page of the windowed demo
    (so that the paths the prefill does not take, on premises for one, can be tried)."""

    dataverse: tuple[tuple[str, str], ...] = ()  # (friendly name, URL) of the online environments
    onprem: tuple[str, str] = ("", "")  # (friendly name, URL) of the on-premises organization
    discovery_url: str = ""
    authority_url: str = ""
    ews_url: str = ""
    autodiscover_url: str = ""
    graph_url: str = ""
    pop3: str = ""  # host:port ("" = no POP3 stand-in)
    smtp: str = ""
    ca_file: str = ""
    user: str = ""  # the demo user's UPN (Microsoft 365 sign-in)
    windows_user: str = ""  # DOMAIN\user (Windows sign-in on premises and Exchange)
    password: str = field(default="", repr=False)
    mailbox_password: str = field(default="", repr=False)


@dataclass(frozen=True)
class Preset:
    clouds: tuple[CloudPreset, ...]  # in the order of the list; the first is chosen
    mailbox: MailboxPreset = MailboxPreset()
    demo: DemoEnvironment | None = None  # the windowed demo's stand-ins (None: not a demo)


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
    onprem = info.get("onprem") or {}
    environment = DemoEnvironment(
        dataverse=tuple((e["friendly_name"], e["url"]) for e in info.get("environments", [])),
        onprem=(onprem.get("friendly_name", ""), onprem.get("url", "")),
        discovery_url=info["discovery_url"],
        authority_url=info["authority_url"],
        ews_url=info.get("ews_url", ""),
        autodiscover_url=info.get("autodiscover_url", ""),
        graph_url=info.get("graph_url", ""),
        pop3=info.get("pop3", ""),
        smtp=info.get("smtp", ""),
        ca_file=info["ca_file"],
        user=u["upn"],
        windows_user=u.get("ntlm_username", ""),
        password=u["password"],
        mailbox_password=u.get("ews_password", ""),
    )
    return Preset((demo, *microsoft_clouds()), mailbox, environment)
