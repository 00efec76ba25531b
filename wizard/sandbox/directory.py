"""Who and what exists in the sandbox: one tenant, its users and its Dynamics 365 environments.

Shared by every stand-in (the authority checks passwords, Dataverse creates a ``systemuser`` and a
``mailbox`` row per user in each environment, EWS gives each user a mailbox). Ids are stable (uuid5), so a
sandbox started twice with the same seed looks the same.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

NAMESPACE = uuid.UUID("6f1c2a52-8d3e-4c39-9a61-3c0f1d9b7e21")


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class DirectoryUser:
    upn: str
    password: str
    first_name: str
    last_name: str
    primary_email: str  # the user's Primary Email in Dynamics 365 (internalemailaddress)
    ews_password: str = ""
    in_orgs: tuple[str, ...] | None = None  # unique names; None = every environment

    @property
    def oid(self) -> str:
        """The Entra object id (the same in every environment)."""
        return stable_id("user", self.upn.lower())

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def systemuserid(self, org: DirectoryOrg) -> str:
        """The user's systemuserid in one environment (different per environment, as in the service)."""
        return stable_id("systemuser", org.unique_name, self.upn.lower())

    def member_of(self, org: DirectoryOrg) -> bool:
        return self.in_orgs is None or org.unique_name in self.in_orgs


@dataclass(frozen=True)
class DirectoryOrg:
    unique_name: str
    url_name: str
    friendly_name: str
    region: str = "EMEA"
    version: str = "9.2.26103.00185"
    purpose: str = ""

    @property
    def id(self) -> str:
        """OrganizationId."""
        return stable_id("org", self.unique_name)

    @property
    def environment_id(self) -> str:
        return stable_id("environment", self.unique_name)

    @property
    def business_unit_id(self) -> str:
        return stable_id("businessunit", self.unique_name)


@dataclass
class Directory:
    tenant_id: str = field(default_factory=lambda: stable_id("tenant", "contoso"))
    tenant_name: str = "contoso.onmicrosoft.com"
    users: list[DirectoryUser] = field(default_factory=list)
    orgs: list[DirectoryOrg] = field(default_factory=list)

    def user(self, upn: str) -> DirectoryUser | None:
        wanted = upn.strip().lower()
        return next((u for u in self.users if u.upn.lower() == wanted), None)

    def user_by_oid(self, oid: str) -> DirectoryUser | None:
        return next((u for u in self.users if u.oid == oid), None)

    def org(self, unique_name: str) -> DirectoryOrg | None:
        return next((o for o in self.orgs if o.unique_name == unique_name), None)


def demo_directory() -> Directory:
    """The demo tenant: two environments and four users (one with a Primary Email that is not the UPN)."""
    return Directory(
        users=[
            DirectoryUser(
                upn="anna.schmidt@contoso.com",
                password="Sandbox-Anna-2026",
                first_name="Anna",
                last_name="Schmidt",
                primary_email="anna.schmidt@contoso.com",
                ews_password="Sandbox-Anna-2026",
            ),
            DirectoryUser(
                upn="joerg.baer@contoso.com",
                password="Sandbox-Joerg-2026",
                first_name="Jörg",
                last_name="Bär",
                primary_email="joerg.baer@contoso.com",
                ews_password="Sandbox-Joerg-2026",
            ),
            DirectoryUser(
                upn="ben.miller@contoso.com",
                password="Sandbox-Ben-2026",
                first_name="Ben",
                last_name="Miller",
                primary_email="ben.miller@contoso.com",
                ews_password="Sandbox-Ben-2026",
                in_orgs=("contososales",),
            ),
            DirectoryUser(
                upn="nancy.anderson@contoso.com",
                password="Sandbox-Nancy-2026",
                first_name="Nancy",
                last_name="Anderson",
                primary_email="nanderson@contoso.com",
                ews_password="Sandbox-Nancy-2026",
            ),
        ],
        orgs=[
            DirectoryOrg(unique_name="contososales", url_name="contoso", friendly_name="Contoso Sales"),
            DirectoryOrg(
                unique_name="contosotest",
                url_name="contoso-test",
                friendly_name="Contoso Test",
                purpose="Test",
            ),
        ],
    )
