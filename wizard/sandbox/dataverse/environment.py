"""One Dynamics 365 environment (organization): its store, the core rows it is seeded with, sign-in, and its
HTTPS server."""

from __future__ import annotations

import uuid
from pathlib import Path

from wizard.sandbox._http import FaultPlan
from wizard.sandbox.dataverse import instances
from wizard.sandbox.dataverse.demo_data import populate
from wizard.sandbox.dataverse.handler import DataverseHandler, DataverseServer
from wizard.sandbox.dataverse.protocol import (
    BLOCKED_ATTACHMENTS,
    TRACKING_DAYS,
    ApiError,
    Caller,
    served_versions,
)
from wizard.sandbox.dataverse.store import Store
from wizard.sandbox.dataverse.views import offline_templates
from wizard.sandbox.dataverse.webapi import WebApi
from wizard.sandbox.directory import Directory, DirectoryOrg
from wizard.sandbox.ntlm import NtlmAccounts
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenRejected, TokenSigner


class DataverseEnvironment:
    """One Dynamics 365 environment (organization): its store, demo data and HTTPS server."""

    def __init__(
        self,
        directory: Directory,
        org: DirectoryOrg,
        *,
        signer: TokenSigner,
        tls: SandboxTLS | None,
        authority_url: str,
        data_dir: Path | None = None,
        demo_data: bool = True,
        seed: int = 0,
        faults: FaultPlan | None = None,
        auth: str = "oauth",
    ) -> None:
        """``auth="ntlm"``: an on-premises deployment: Windows sign-in (NTLM; every directory user is a domain
        account with its ``password``, non-members get 403) instead of bearer tokens, and the URL ends in the
        organization's name (``https://server/<org>``)."""
        if auth not in ("oauth", "ntlm"):
            raise ValueError(f"unknown auth {auth!r} (oauth or ntlm)")
        self.directory = directory
        self.org = org
        self.signer = signer
        self.authority_url = authority_url
        self.auth = auth
        self.ntlm: NtlmAccounts | None = None
        if auth == "ntlm":
            self.ntlm = NtlmAccounts((u.upn, u.password) for u in directory.users)
        self.server = DataverseServer(DataverseHandler, tls=tls, faults=faults)
        self.server.environment = self
        self.store = Store(data_dir)
        self.api = WebApi(self.store, org, lambda: self.url, directory.tenant_id)
        self._seed_core()
        if demo_data:
            populate(self, seed=seed)

    @property
    def url(self) -> str:
        """The organization URL: ``https://127.0.0.1:PORT`` online, ``https://127.0.0.1:PORT/<org>`` on premises."""
        return self.server.base_url + (f"/{self.org.unique_name}" if self.auth == "ntlm" else "")

    def run_expansion_job(self) -> int:
        """Dataverse's asynchronous expansion job, run now: every series gets the instances it lacks up to the
        organization's current future expansion window (as time passes, or after ``futureexpansionwindow`` was
        raised). The stand-in has no background jobs; tests call this where Dataverse would have run it.
        Returns how many instances it made."""
        made = 0
        with self.store.transaction():
            for master in self.store.rows("recurringappointmentmasters"):
                owner = str(master.get("_ownerid_value") or "") or None

                def copy(master_id: str, instance_id: str, owner: str | None = owner) -> None:
                    self.api.copy_parties(master_id, instance_id, owner)

                made += instances.expand(self.store, str(master["activityid"]), copy)
        return made

    @property
    def api_url(self) -> str:
        return self.url + f"/api/data/{served_versions(self.org.version)[-1]}/"

    def _seed_core(self) -> None:
        """The organization, its root business unit, and a systemuser + mailbox per member (idempotent)."""
        store, org = self.store, self.org
        with store.transaction():
            if store.get("businessunits", org.business_unit_id) is None:
                store.create(
                    "businessunits", {"businessunitid": org.business_unit_id, "name": org.unique_name}
                )
            if store.get("organizations", org.id) is None:
                store.create(
                    "organizations",
                    {
                        "organizationid": org.id,
                        "name": org.unique_name,
                        "minoutlooksyncinterval": 15,
                        "minofflinesyncinterval": 15,
                        "maxuploadfilesize": 5_242_880,
                        "pastexpansionwindow": instances.PAST_MONTHS,
                        "futureexpansionwindow": instances.FUTURE_MONTHS,
                        "trackingprefix": "CRM:",
                        "trackingtokenidbase": 0,
                        "trackingtokeniddigits": 3,
                        "maximumtrackingnumber": 999,
                        "expirechangetrackingindays": TRACKING_DAYS,
                        "expiresubscriptionsindays": 90,
                        "isappmode": False,
                        "localeid": 1031,
                        "languagecode": 1031,
                        "basecurrencysymbol": "€",
                        "emailcorrelationenabled": True,
                        "maxrecordsforexporttoexcel": 100_000,
                        "blockedattachments": BLOCKED_ATTACHMENTS,
                    },
                )
            for view in offline_templates(org.id):
                if store.get("savedqueries", str(view["savedqueryid"])) is None:
                    store.create("savedqueries", view)
            for user in self.directory.users:
                if not user.member_of(org):
                    continue
                user_id = user.systemuserid(org)
                if store.get("systemusers", user_id) is not None:
                    continue
                mailbox_id = str(uuid.uuid5(uuid.UUID(user_id), "mailbox"))
                store.create(
                    "systemusers",
                    {
                        "systemuserid": user_id,
                        "firstname": user.first_name,
                        "lastname": user.last_name,
                        "domainname": user.upn,
                        "internalemailaddress": user.primary_email,
                        "azureactivedirectoryobjectid": user.oid,
                        "incomingemaildeliverymethod": 2,
                        "outgoingemaildeliverymethod": 2,
                        "emailrouteraccessapproval": 1,
                        "_businessunitid_value": org.business_unit_id,
                        "_defaultmailbox_value": mailbox_id,
                    },
                    user_id=user_id,
                )
                store.create(
                    "mailboxes",
                    {
                        "mailboxid": mailbox_id,
                        "name": user.full_name,
                        "emailaddress": user.primary_email,
                        "_regardingobjectid_value": user_id,
                        "_ownerid_value": user_id,
                        "_owningbusinessunit_value": org.business_unit_id,
                    },
                    user_id=user_id,
                )
                store.create(
                    "usersettingscollection",
                    {
                        "systemuserid": user_id,
                        "incomingemailfilteringmethod": 2,
                        "outlooksyncinterval": 15,
                        "offlinesyncinterval": 15,
                        "synccontactcompany": True,
                        "timezonecode": 110,
                        "timezonebias": -60,
                        "localeid": 1031,
                        "uilanguageid": 1031,
                        "helplanguageid": 1031,
                        "issendasallowed": False,
                        "nexttrackingnumber": 1,
                        "trackingtokenid": 1,
                    },
                    user_id=user_id,
                )

    def systemuserid_for(self, oid: str) -> str | None:
        found = self.store.find("systemusers", "azureactivedirectoryobjectid", oid)
        return None if found is None else str(found["systemuserid"])

    def authenticate(self, authorization: str) -> Caller:
        """The caller of a request, from its bearer token; ApiError 401/403 otherwise."""
        challenge = {
            "WWW-Authenticate": f"Bearer authorization_uri={self.authority_url}, resource_id={self.url}/"
        }
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "The requested resource requires authentication.", "0x8005F101", challenge)
        try:
            claims = self.signer.verify(token.strip(), audience=self.url)
        except TokenRejected as exc:
            raise ApiError(
                401, "The requested resource requires authentication.", "0x8005F101", challenge
            ) from exc
        return self.caller_for(str(claims.get("oid", "")))

    def caller_for(self, oid: str) -> Caller:
        """The caller for a signed-in directory user; ApiError 403 if not a member, or disabled."""
        user_id = self.systemuserid_for(oid)
        if user_id is None:
            raise ApiError(403, "The user is not a member of the organization.", "0x80072560")
        row = self.store.get("systemusers", user_id) or {}
        if row.get("isdisabled"):
            raise ApiError(403, "The user is disabled.", "0x80040225")
        return Caller(systemuserid=user_id, oid=oid)

    def start(self) -> DataverseEnvironment:
        if self.ntlm is not None:
            self.ntlm.start()
        self.server.start()
        return self

    def stop(self) -> None:
        if self.ntlm is not None:
            self.ntlm.stop()
        self.server.stop()
        self.store.close()

    def __enter__(self) -> DataverseEnvironment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
