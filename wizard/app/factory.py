"""The only composition root: every networked object is built here from the profile.

:class:`Factory` holds the folders and the loaded profile and builds the secret store, the token cache, the
sign-in, OData sessions, Dataverse clients, the mailbox stores and the sync engine; it also adopts the state DB
of earlier versions for the synchronizing organization. The use cases (``wizard.app.orgs``, ``mailbox``,
``instance``) take a Factory; the faces (``wizard.cli``, ``wizard.ui``) create one and call those.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wizard.crm.auth import DEFAULT_CLIENT_ID, SignIn, ntlm_auth
from wizard.crm.authority_cache import AuthorityCache
from wizard.crm.client import DataverseClient, guid, service_root
from wizard.errors import ConfigurationError, D365SyncError
from wizard.mailbox.base import MailboxStore
from wizard.odata import ODataSession
from wizard.odata.transport import gate_of
from wizard.paths import Locations
from wizard.secrets import SecretStore, load_token_cache, mailbox_key, org_key
from wizard.settings import MailboxBinding, OrgProfile, Profile, load_profile, save_profile
from wizard.tls import verify_for

if TYPE_CHECKING:
    from wizard.sync.engine import Engine, Reporter

log = logging.getLogger(__name__)


class NotConfigured(ConfigurationError):
    """Nothing (or not enough) is configured for the step; the CLI exits with 3."""


#: the Exchange servers' versions per EWS address, kept across runs (in the cache folder)
EWS_VERSIONS_FILE = "ews-versions.json"

NO_MAILBOX_TEXT = (
    "No mailbox is bound, so nothing can be synchronized. Bind one in the wizard (Mailbox page) or with: "
    "d365sync mailbox bind ADDRESS"
)


def not_bound_text(address: str, org_name: str) -> str:
    """What to do when the mailbox is bound in another organization than the synchronizing one."""
    return (
        f"Your mailbox {address} is not bound in {org_name}, so nothing is synchronized with it. Bind it there: "
        f"open the wizard and bind it on the Mailbox page, or run: d365sync mailbox bind {address}"
    )


class Factory:
    """Builds the networked objects for one profile; not meant for concurrent use (the GUI calls it from one
    worker thread at a time)."""

    def __init__(self, where: Locations) -> None:
        self._where = where.for_org(None)
        self._profile: Profile | None = None
        self._token_cache: Any = None
        self._authority_cache: AuthorityCache | None = None
        self._legacy_checked = False

    @property
    def where(self) -> Locations:
        """The folders; once the profile is loaded ``where.state_db`` is the synchronizing organization's state
        DB (each organization keeps its own links, cursors and conflicts; see wizard.paths)."""
        profile = self._profile
        if profile is None or profile.sync_org_id is None:
            return self._where
        if not self._legacy_checked:
            self._adopt_legacy_state(profile.sync_org_id)
        return self._where.for_org(profile.sync_org_id)

    def _adopt_legacy_state(self, org_id: str) -> None:
        """Move the one state DB of earlier versions to the synchronizing organization's folder, once.

        It can only be that organization's (earlier versions synchronized one at a time and kept no record of
        older ones). Done under the engine lock so a running engine of another process never loses its file;
        while one runs the move waits for the next look. An organization that already has its own DB keeps
        it and the old file stays where it is (logged)."""
        legacy = self._where.legacy_state_db
        if not legacy.exists():
            self._legacy_checked = True
            return
        target = self._where.org_state_db(org_id)
        if target.exists():
            log.warning("state DB %s left in place: %s has its own state DB already", legacy, org_id)
            self._legacy_checked = True
            return
        from wizard.sync.engine import EngineBusy, EngineLock

        try:
            with EngineLock(self._where.lock_file).held():
                target.parent.mkdir(parents=True, exist_ok=True)
                for suffix in ("-wal", "-shm", ""):  # the main file last: its presence means "adopted"
                    part = legacy.with_name(legacy.name + suffix)
                    if part.exists():
                        os.replace(part, target.with_name(target.name + suffix))
        except EngineBusy:
            log.info("state DB not moved yet: a synchronization is running")
            return
        log.info("state DB moved to %s (state is kept per organization now)", target)
        self._legacy_checked = True

    # -- profile -------------------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        if self._profile is None:
            self._profile = load_profile(self.where.profile_file)
        return self._profile

    def reload(self) -> Profile:
        """The profile as it is on disk now; when it cannot be read (damaged meanwhile), the error is raised
        and the profile read before stays in use."""
        previous, self._profile = self._profile, None
        try:
            return self.profile
        except D365SyncError:
            self._profile = previous
            raise

    def save(self) -> None:
        """Save the profile; the next run reads what the last one kept again (the wizard closed: filters,
        settings, the organization or the mailbox may have changed)."""
        save_profile(self.where.profile_file, self.profile)
        self.forget_run_reads()

    def org(self, ident: str) -> OrgProfile:
        """A configured organization by id or unique name."""
        wanted = ident.strip().lower()
        for org in self.profile.organizations:
            if wanted in (org.id.lower(), org.unique_name.lower()):
                return org
        raise NotConfigured(
            f"no organization {ident}",
            user_text=f"No configured organization has the id {ident}. See: d365sync orgs list",
        )

    def require_sync_org(self) -> OrgProfile:
        org = self.profile.sync_org
        if org is None:
            raise NotConfigured(
                "no synchronizing organization",
                user_text="No organization synchronizes yet, so messaging data is not synchronized. "
                "Choose one: d365sync orgs set-sync ID",
            )
        return org

    # -- secrets and sign-in -------------------------------------------------------------------
    def secret_store(self) -> SecretStore:
        return SecretStore(profile_id=self.profile.instance_id)

    def token_cache(self) -> Any:
        if self._token_cache is None:
            self._token_cache = load_token_cache(self.where, profile_id=self.profile.instance_id)
        return self._token_cache

    def authority_cache(self) -> AuthorityCache:
        """The sign-in authorities' discovery documents, kept across runs (no request with a cached token)."""
        if self._authority_cache is None:
            self._authority_cache = AuthorityCache(self.where.cache_dir / "msal_authority_cache.json")
        return self._authority_cache

    def sign_in(self, org: OrgProfile) -> SignIn:
        return SignIn(
            org.authority,
            client_id=org.client_id or DEFAULT_CLIENT_ID,
            cache=self.token_cache(),
            verify=verify_for(org.ca_file),
            http_cache=self.authority_cache(),
        )

    # -- Dataverse -----------------------------------------------------------------------------
    def session_for(self, org: OrgProfile, auth: Any) -> ODataSession:
        return ODataSession(
            service_root(org.api_url, org.api_version), auth=auth, verify=verify_for(org.ca_file)
        )

    def dataverse(self, org: OrgProfile) -> DataverseClient:
        """A client for a configured organization, signed in silently (token cache or keyring password)."""
        if org.auth_kind == "ntlm":
            password = self.secret_store().get(org_key(org.id, org.username))
            if password is None:
                raise NotConfigured(
                    f"no stored password for {org.username}",
                    user_text=f"No password is stored for {org.username} at {org.display_name}. "
                    f"Add the organization again: d365sync orgs add {org.web_url} --auth ntlm",
                )
            auth: Any = ntlm_auth(org.username, password)
        else:
            auth = self.sign_in(org).provider(org.api_url, org.username)
        session = self.session_for(org, auth)
        gate_of(session).configure(self.profile.sync.concurrent_requests)
        return DataverseClient(session)

    def mailbox_password(self, binding: MailboxBinding) -> str | None:
        return self.secret_store().get(mailbox_key(binding.address))

    def mailbox_store(self, binding: MailboxBinding, password: str | None = None) -> MailboxStore:
        """The MailboxStore backend for a binding; the password comes from the keyring unless given."""
        if binding.kind == "exchange_online":
            return self._graph_store(binding)
        if password is None and not (binding.kind == "exchange" and binding.auth == "oauth2"):
            password = self.mailbox_password(binding)
            if password is None:
                raise NotConfigured(
                    f"no stored password for {binding.address}",
                    user_text=f"No password is stored for the mailbox {binding.address}. "
                    "Bind it again: d365sync mailbox bind ADDRESS",
                )
        if binding.kind == "pop3":
            return self._pop3_store(binding, password or "")
        return self._ews_store(binding, password)

    def _pop3_store(self, binding: MailboxBinding, password: str) -> MailboxStore:
        from wizard.mailbox.pop3 import Pop3Settings, Pop3Store, SmtpSettings, TransportSecurity

        if not binding.pop3_host:
            raise ConfigurationError("no POP3 server", user_text="Enter the POP3 server of your mailbox.")
        user = binding.username or binding.address
        ca_file = binding.ca_file or None
        pop3 = Pop3Settings(
            host=binding.pop3_host,
            port=binding.pop3_port,
            username=user,
            password=password,
            security=TransportSecurity(binding.pop3_tls),
            ca_file=ca_file,
        )
        smtp = (
            SmtpSettings(
                host=binding.smtp_host,
                port=binding.smtp_port,
                security=TransportSecurity(binding.smtp_tls),
                username=user,
                password=password,
                ca_file=ca_file,
            )
            if binding.smtp_host
            else None
        )
        return Pop3Store(pop3, smtp)

    def _graph_store(self, binding: MailboxBinding) -> MailboxStore:
        """Exchange Online through Microsoft Graph: no password; the synchronizing organization's sign-in
        (same Entra ID account) gets the Graph token silently. The UPN is passed, not the address (they may
        differ); ``check()`` refuses a sign-in that does not own the address."""
        from wizard.mailbox.graph import GRAPH_URL, GraphSettings, GraphStore, GraphTokenProvider
        from wizard.sync.timezones import local_zone_name

        org = self.require_sync_org()
        if org.auth_kind != "oauth":
            raise ConfigurationError(
                "Exchange Online needs an online sign-in",
                user_text="Exchange Online uses your Microsoft 365 sign-in, but this organization is on premises "
                "(Windows sign-in). Choose Exchange or POP3 for this organization.",
            )
        graph_url = binding.graph_url or GRAPH_URL
        settings = GraphSettings(
            address=binding.address,
            graph_url=graph_url,
            ca_file=binding.ca_file or None,
            timezone=local_zone_name(),
            concurrency=self.profile.sync.concurrent_requests,
        )
        provider = GraphTokenProvider(self.sign_in(org), graph_url, org.username)
        return GraphStore(settings, token_provider=provider)

    def _ews_store(self, binding: MailboxBinding, password: str | None) -> MailboxStore:
        from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore

        settings = EwsSettings(
            address=binding.address,
            ews_url=binding.ews_url or None,
            autodiscover_urls=(binding.autodiscover_url,) if binding.autodiscover_url else (),
            autodiscover_redirects=tuple(str(host) for host in binding.autodiscover_redirects),
            auth=EwsAuth(binding.auth),
            username=binding.username or None,
            ca_file=binding.ca_file or None,
            build_file=os.fspath(self.where.cache_dir / EWS_VERSIONS_FILE),
            concurrency=self.profile.sync.concurrent_requests,
        )
        if settings.auth is EwsAuth.OAUTH2:
            org = self.require_sync_org()
            resource = _origin(binding.ews_url) if binding.ews_url else "https://outlook.office365.com"
            return EwsStore(settings, token_provider=self.sign_in(org).provider(resource, org.username))
        return EwsStore(settings, password=password)

    # -- the sync engine ---------------------------------------------------------------------------
    def run_cache_file(self, org_id: str) -> Path:
        """The per-run reads one run keeps for the next (``wizard.sync.run_cache``), per organization."""
        return self.where.cache_dir / "runs" / f"{guid(org_id)}.json"

    def forget_run_reads(self) -> None:
        """The next run reads the claim, the filters and the user's settings again."""
        for org in self.profile.organizations:
            with contextlib.suppress(ValueError, OSError):  # an id that is no GUID has no file
                self.run_cache_file(org.id).unlink(missing_ok=True)

    def engine(self, reporter: Reporter | None = None) -> Engine:
        """The sync engine for this profile (state DB, the synchronizing organization's client, the bound
        mailbox, the email kind when it is built); close it with ``Engine.close()`` or ``with``."""
        from wizard.sync.email import EmailSync
        from wizard.sync.engine import Engine
        from wizard.sync.run_cache import RunCache
        from wizard.sync.state import StateDB

        org = self.require_sync_org()
        binding = self.profile.mailbox
        if binding is None:
            raise NotConfigured("no mailbox", user_text=NO_MAILBOX_TEXT)
        if (
            binding.org_id and binding.org_id != org.id
        ):  # switched to an org whose mailbox record is not bound
            raise NotConfigured(
                f"mailbox bound in {binding.org_id}, not in {org.id}",
                user_text=not_bound_text(binding.address, org.display_name),
            )
        client = self.dataverse(org)
        email = EmailSync()
        store = self.mailbox_store(binding)
        try:
            state = StateDB.open(self.where.state_db)  # the synchronizing organization's own state DB
        except BaseException:
            store.close()
            raise
        return Engine(
            cache=RunCache.load(self.run_cache_file(org.id)),
            crm=client,
            mailbox=store,
            state=state,
            profile=self.profile,
            org=org,
            reporter=reporter,
            email=email,
            lock_path=self.where.lock_file,
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
