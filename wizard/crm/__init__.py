"""Dataverse (Dynamics 365) access: typed client, entities, the "only one" rules, filters, discovery.

Authentication (MSAL, NTLM) lives in :mod:`wizard.crm.auth`; everything here takes an authenticated
:class:`wizard.odata.ODataSession`.
"""

from __future__ import annotations

from wizard.crm.changes import ChangeSet
from wizard.crm.client import DataverseClient, service_root
from wizard.crm.entities import (
    MailboxRecord,
    OrganizationSettings,
    SystemUser,
    UserQuery,
    UserSettings,
    WhoAmI,
)

__all__ = [
    "ChangeSet",
    "DataverseClient",
    "MailboxRecord",
    "OrganizationSettings",
    "SystemUser",
    "UserQuery",
    "UserSettings",
    "WhoAmI",
    "service_root",
]
