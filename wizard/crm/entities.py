"""Typed views of the Dataverse rows the product reads: user, settings, mailbox record, saved filters.

Each ``from_row`` takes the JSON row the Web API returns (with ``@odata.etag`` and ``_x_value`` lookups) and
keeps only what the product uses; ``SELECT`` lists exactly those columns so requests stay small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# userquery.querytype values (SavedQueryQueryType / UserQueryQueryType)
QUERYTYPE_OFFLINE = 16
QUERYTYPE_OUTLOOK = 256

# mailbox delivery methods (reference B.5)
DELIVERY_NONE = 0
DELIVERY_OUTLOOK = 1  # incoming/outgoing: "Microsoft Dynamics 365 for Outlook"
ACT_OUTLOOK = 0  # actdeliverymethod: 0 = Microsoft Dynamics 365 for Outlook
ACT_NONE = 2


def _str(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value)


def _opt_str(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return None if value in (None, "") else str(value)


def _int(row: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = row.get(key)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bool(row: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = row.get(key)
    return default if value is None else bool(value)


@dataclass(frozen=True)
class WhoAmI:
    user_id: str
    business_unit_id: str
    organization_id: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> WhoAmI:
        return cls(
            user_id=_str(row, "UserId").lower(),
            business_unit_id=_str(row, "BusinessUnitId").lower(),
            organization_id=_str(row, "OrganizationId").lower(),
        )


@dataclass(frozen=True)
class OrganizationDetail:
    """RetrieveCurrentOrganization's OrganizationDetail: the names people know an organization by."""

    organization_id: str
    friendly_name: str
    unique_name: str
    url_name: str
    version: str
    environment_id: str
    tenant_id: str
    web_url: str

    @classmethod
    def from_response(cls, row: Mapping[str, Any]) -> OrganizationDetail:
        detail = row.get("Detail")
        if not isinstance(detail, Mapping):
            detail = {}
        endpoints = detail.get("Endpoints")
        web_url = ""
        if isinstance(endpoints, Mapping):
            keys, values = endpoints.get("Keys") or [], endpoints.get("Values") or []
            if isinstance(keys, list) and isinstance(values, list):
                web_url = str(dict(zip(keys, values, strict=False)).get("WebApplication") or "")
        return cls(
            organization_id=str(detail.get("OrganizationId") or "").lower(),
            friendly_name=str(detail.get("FriendlyName") or ""),
            unique_name=str(detail.get("UniqueName") or ""),
            url_name=str(detail.get("UrlName") or ""),
            version=str(detail.get("OrganizationVersion") or ""),
            environment_id=str(detail.get("EnvironmentId") or ""),
            tenant_id=str(detail.get("TenantId") or ""),
            web_url=web_url.rstrip("/"),
        )


@dataclass(frozen=True)
class SystemUser:
    SET = "systemusers"
    SELECT = (
        "systemuserid",
        "fullname",
        "internalemailaddress",
        "domainname",
        "azureactivedirectoryobjectid",
        "isdisabled",
    )

    id: str
    fullname: str
    internalemailaddress: str  # "Primary Email" in the user form
    domainname: str  # the sign-in name (UPN online, DOMAIN\\user on-prem)
    azureactivedirectoryobjectid: str | None
    isdisabled: bool

    @property
    def primary_email(self) -> str:
        return self.internalemailaddress

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SystemUser:
        return cls(
            id=_str(row, "systemuserid").lower(),
            fullname=_str(row, "fullname"),
            internalemailaddress=_str(row, "internalemailaddress"),
            domainname=_str(row, "domainname"),
            azureactivedirectoryobjectid=_opt_str(row, "azureactivedirectoryobjectid"),
            isdisabled=_bool(row, "isdisabled"),
        )


@dataclass(frozen=True)
class UserSettings:
    SET = "usersettingscollection"
    SELECT = (
        "systemuserid",
        "incomingemailfilteringmethod",
        "outlooksyncinterval",
        "offlinesyncinterval",
        "synccontactcompany",
        "timezonecode",
        "localeid",
        "uilanguageid",
    )

    systemuserid: str
    incomingemailfilteringmethod: int  # 0 all .. 4 none (reference B.4); default 2
    outlooksyncinterval: int | None  # minutes
    offlinesyncinterval: int | None
    synccontactcompany: bool
    timezonecode: int | None
    localeid: int | None
    uilanguageid: int | None = None  # the user's Dynamics 365 language (1031 German, 1033 English)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> UserSettings:
        return cls(
            systemuserid=_str(row, "systemuserid").lower(),
            incomingemailfilteringmethod=_int(row, "incomingemailfilteringmethod", 2) or 0,
            outlooksyncinterval=_int(row, "outlooksyncinterval"),
            offlinesyncinterval=_int(row, "offlinesyncinterval"),
            synccontactcompany=_bool(row, "synccontactcompany"),
            timezonecode=_int(row, "timezonecode"),
            localeid=_int(row, "localeid"),
            uilanguageid=_int(row, "uilanguageid"),
        )


@dataclass(frozen=True)
class OrganizationSettings:
    SET = "organizations"
    SELECT = ("organizationid", "name", "minoutlooksyncinterval", "maxuploadfilesize")

    id: str
    name: str
    minoutlooksyncinterval: int  # minutes; the org's floor for the sync interval (default 15)
    minofflinesyncinterval: int
    allowoutlookscheduledsyncs: bool
    maxuploadfilesize: int | None  # bytes

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> OrganizationSettings:
        return cls(
            id=_str(row, "organizationid").lower(),
            name=_str(row, "name"),
            minoutlooksyncinterval=_int(row, "minoutlooksyncinterval", 15) or 15,
            minofflinesyncinterval=_int(row, "minofflinesyncinterval", 15) or 15,
            allowoutlookscheduledsyncs=_bool(row, "allowoutlookscheduledsyncs", True),
            maxuploadfilesize=_int(row, "maxuploadfilesize"),
        )


@dataclass(frozen=True)
class MailboxRecord:
    SET = "mailboxes"
    SELECT = (
        "mailboxid",
        "name",
        "emailaddress",
        "_regardingobjectid_value",
        "incomingemaildeliverymethod",
        "outgoingemaildeliverymethod",
        "actdeliverymethod",
        "isactsyncorgflagset",
        "orgmarkedasprimaryforexchangesync",
        "exchangesyncstatexml",
    )

    id: str
    emailaddress: str
    regarding_id: str | None  # the owning user (or queue)
    regarding_name: str | None  # formatted value when the service sent it
    incomingemaildeliverymethod: int | None
    outgoingemaildeliverymethod: int | None
    actdeliverymethod: int | None
    isactsyncorgflagset: bool
    orgmarkedasprimaryforexchangesync: bool
    exchangesyncstatexml: str
    etag: str | None
    name: str = ""

    @property
    def is_sync_org(self) -> bool:
        return self.isactsyncorgflagset and self.orgmarkedasprimaryforexchangesync

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> MailboxRecord:
        regarding = _opt_str(row, "_regardingobjectid_value")
        return cls(
            id=_str(row, "mailboxid").lower(),
            emailaddress=_str(row, "emailaddress"),
            regarding_id=regarding.lower() if regarding else None,
            regarding_name=_opt_str(
                row, "_regardingobjectid_value@OData.Community.Display.V1.FormattedValue"
            ),
            incomingemaildeliverymethod=_int(row, "incomingemaildeliverymethod"),
            outgoingemaildeliverymethod=_int(row, "outgoingemaildeliverymethod"),
            actdeliverymethod=_int(row, "actdeliverymethod"),
            isactsyncorgflagset=_bool(row, "isactsyncorgflagset"),
            orgmarkedasprimaryforexchangesync=_bool(row, "orgmarkedasprimaryforexchangesync"),
            exchangesyncstatexml=_str(row, "exchangesyncstatexml"),
            etag=_opt_str(row, "@odata.etag"),
            name=_str(row, "name"),
        )


@dataclass(frozen=True)
class UserQuery:
    SET = "userqueries"
    SELECT = (
        "userqueryid",
        "name",
        "fetchxml",
        "returnedtypecode",
        "querytype",
        "statecode",
        "_ownerid_value",
    )

    id: str
    name: str
    fetchxml: str
    returnedtypecode: str  # entity logical name ("contact")
    querytype: int  # 256 Outlook filter, 16 offline filter
    active: bool  # statecode 0 = active (filter on)
    owner_id: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> UserQuery:
        owner = _opt_str(row, "_ownerid_value")
        return cls(
            id=_str(row, "userqueryid").lower(),
            name=_str(row, "name"),
            fetchxml=_str(row, "fetchxml"),
            returnedtypecode=_str(row, "returnedtypecode"),
            querytype=_int(row, "querytype", 0) or 0,
            active=(_int(row, "statecode", 0) or 0) == 0,
            owner_id=owner.lower() if owner else None,
        )
