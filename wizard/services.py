"""The composition root's building blocks and the Configuration Wizard's steps, without Qt.

:class:`Services` builds every networked object from the profile (secrets, sign-in, Dataverse clients) and
carries out the setup steps that the command line and the GUI share: connect to an organization, choose the
synchronizing organization, claim this computer. The CLI calls these directly; the GUI calls them from worker
threads. Only ``wizard/cli.py`` creates a Services object.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wizard.crm import records
from wizard.crm.auth import DEFAULT_CLIENT_ID, DeviceFlow, SignIn, SignInRequired, ntlm_auth, resource_scope
from wizard.crm.client import API_VERSION, DataverseClient, connect_newest, service_root
from wizard.crm.discovery import Instance, discover_authority, discover_instances, normalize_org_url
from wizard.crm.entities import DELIVERY_OUTLOOK
from wizard.crm.records import addresses_match
from wizard.errors import ConfigurationError, D365SyncError, RuleViolation
from wizard.isotime import now_z
from wizard.mailbox.base import MailboxStore
from wizard.odata import ODataSession
from wizard.paths import Locations
from wizard.secrets import SecretStore, load_token_cache, mailbox_key, org_key
from wizard.settings import MailboxBinding, OrgProfile, Profile, load_profile, save_profile
from wizard.tls import verify_for

if TYPE_CHECKING:
    from wizard.sync.engine import Engine, Reporter

log = logging.getLogger(__name__)


class NotConfigured(ConfigurationError):
    """Nothing (or not enough) is configured for the step; the CLI exits with 3."""


@dataclass
class ConnectedOrg:
    """An organization that answered WhoAmI after sign-in, not yet saved in the profile."""

    org: OrgProfile
    client: DataverseClient
    password: str | None = None  # NTLM only: stored in the keyring when the organization is saved


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


@dataclass(frozen=True)
class MailboxReadiness:
    """Whether the bound mailbox can synchronize with an organization: ``state`` is "ready", "no_mailbox" or
    "not_bound"; ``user_text`` says what to do (empty when ready)."""

    state: str
    user_text: str

    @property
    def ready(self) -> bool:
        return self.state == "ready"


@dataclass(frozen=True)
class SyncOrgSwitch:
    """The outcome of :meth:`Services.switch_sync_org`: the server flags and the mailbox in the new org."""

    report: records.SyncOrgReport
    mailbox: MailboxReadiness


class Services:
    def __init__(self, where: Locations) -> None:
        self._where = where.for_org(None)
        self._profile: Profile | None = None
        self._token_cache: Any = None
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
        self._profile = None
        return self.profile

    def save(self) -> None:
        save_profile(self.where.profile_file, self.profile)

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

    def sign_in(self, org: OrgProfile) -> SignIn:
        return SignIn(
            org.authority,
            client_id=org.client_id or DEFAULT_CLIENT_ID,
            cache=self.token_cache(),
            verify=verify_for(org.ca_file),
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
        return DataverseClient(self.session_for(org, auth))

    # -- wizard steps: organizations -----------------------------------------------------------
    def connect_org(
        self,
        url: str,
        *,
        auth_kind: str = "oauth",
        username: str = "",
        password: str | None = None,
        ca_file: str = "",
        authority: str = "",
        client_id: str = "",
        on_device_code: Callable[[DeviceFlow], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> ConnectedOrg:
        """Sign in to an organization by its URL and confirm it with WhoAmI and RetrieveCurrentOrganization.

        OAuth: the authority is the one the organization names in its 401 challenge unless one is given; with a
        password the sign-in is scripted (user name + password), else the device code flow runs and
        ``on_device_code`` shows the code. NTLM: user name and password are required.
        """
        url = normalize_org_url(url)
        org = OrgProfile(
            id="",
            display_name=url,
            web_url=url,
            api_url=url,
            found_via="url",
            auth_kind="ntlm" if auth_kind == "ntlm" else "oauth",
            username=username,
            ca_file=ca_file,
            client_id=client_id,
            added_at=now_z(),
        )
        if org.auth_kind == "ntlm":
            if not username or password is None:
                raise ConfigurationError(
                    "user name and password required",
                    user_text="On-premises sign-in needs a user name (DOMAIN\\user) and a password.",
                )
            auth: Any = ntlm_auth(username, password)
        else:
            org.authority = authority or discover_authority(service_root(url), verify=verify_for(ca_file))
            sign_in = self.sign_in(org)
            org.username = self._sign_in_for(
                sign_in, url, username, password, on_device_code=on_device_code, cancelled=cancelled
            )
            auth = sign_in.provider(url, org.username)
        client, version = connect_newest(
            url, lambda root: ODataSession(root, auth=auth, verify=verify_for(org.ca_file))
        )
        org.api_version = "" if version == API_VERSION else version
        who = client.whoami()
        detail = client.current_organization()
        org.id = who.organization_id
        org.user_id = who.user_id
        org.display_name = detail.friendly_name or detail.unique_name or url
        org.unique_name = detail.unique_name
        org.version = detail.version
        org.tenant_id = detail.tenant_id
        if detail.web_url:
            org.web_url = detail.web_url
        return ConnectedOrg(org, client, password if org.auth_kind == "ntlm" else None)

    @staticmethod
    def _sign_in_for(
        sign_in: SignIn,
        resource: str,
        username: str,
        password: str | None,
        *,
        on_device_code: Callable[[DeviceFlow], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> str:
        """Sign in for ``resource``: silently when the account is already signed in (one sign-in serves every
        environment of a tenant), else with the password (scripts), else with a device code. Returns the user name."""
        scopes = [resource_scope(resource)]
        if username and password is None:
            try:
                sign_in.silent_token(scopes, username)
                return username
            except SignInRequired:
                pass
        if password is not None:
            if not username:
                raise ConfigurationError(
                    "user name required", user_text="Signing in with a password needs a user name."
                )
            return sign_in.sign_in_password(username, password, scopes).username
        flow = sign_in.start_device_flow(scopes)
        if on_device_code is not None:
            on_device_code(flow)
        return sign_in.finish_device_flow(flow, cancelled=cancelled).username

    def discover(
        self,
        *,
        discovery_url: str,
        authority: str,
        ca_file: str = "",
        client_id: str = "",
        username: str = "",
        password: str | None = None,
        on_device_code: Callable[[DeviceFlow], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> tuple[str, list[Instance]]:
        """Sign in to Global Discovery and list the environments the user can use; returns (user name, instances).

        ``connect_org(instance.api_url, username=<that user>, authority=<same>)`` then signs in silently."""
        probe = OrgProfile(id="", display_name="", web_url="", api_url="", authority=authority,
                           client_id=client_id, ca_file=ca_file)  # fmt: skip
        sign_in = self.sign_in(probe)
        user = self._sign_in_for(
            sign_in, discovery_url, username, password, on_device_code=on_device_code, cancelled=cancelled
        )
        session = ODataSession(
            discovery_url.rstrip("/") + "/api/discovery/v2.0/",
            auth=sign_in.provider(discovery_url, user),
            verify=verify_for(ca_file),
        )
        return user, discover_instances(session)

    def save_org(self, connected: ConnectedOrg, *, make_sync_if_first: bool = True) -> bool:
        """Add or update the organization in the profile; the first one becomes the synchronizing organization
        (as in the original Configuration Wizard). Returns True when it became the synchronizing organization."""
        profile = self.profile
        org = connected.org
        existing = profile.org(org.id)
        if existing is not None:
            profile.organizations[profile.organizations.index(existing)] = org
        else:
            profile.organizations.append(org)
        if connected.password is not None:
            self.secret_store().set(org_key(org.id, org.username), connected.password)
        self.save()
        if make_sync_if_first and profile.sync_org_id is None and len(profile.organizations) == 1:
            records.set_sync_org(connected.client, [])
            profile.sync_org_id = org.id
            self.save()
            return True
        return False

    def remove_org(self, org: OrgProfile) -> None:
        profile = self.profile
        if org.id == profile.sync_org_id:
            profile.sync_org_id = None
        profile.organizations.remove(org)
        self.save()
        self.secret_store().forget_org(org, profile.organizations, self.token_cache)

    def set_sync_org(self, org: OrgProfile) -> records.SyncOrgReport:
        """Flip the server-side flags (set here, clear in every other configured organization), then the profile.

        Holds the engine lock meanwhile, so no run of this profile (another process's included) synchronizes
        while the organization changes under it; a running one makes this raise EngineBusy (retriable) before
        anything changed. Each organization keeps its own state DB, so switching back finds its links, cursors
        and conflicts as they were."""
        from wizard.sync.engine import EngineLock

        self.where  # noqa: B018 - adopts an old unscoped state DB for the organization that was synchronizing
        with EngineLock(self._where.lock_file).held():
            chosen = self.dataverse(org)
            others = [self.dataverse(o) for o in self.profile.organizations if o.id != org.id]
            report = records.set_sync_org(chosen, others)
            self.profile.sync_org_id = org.id
            self.save()
        return report

    def switch_sync_org(self, org: OrgProfile) -> SyncOrgSwitch:
        """Change the synchronizing organization (:meth:`set_sync_org`), then check the mailbox binding in the
        new one (:meth:`mailbox_readiness`): what the CLI's ``orgs set-sync`` and both GUI paths call."""
        report = self.set_sync_org(org)
        return SyncOrgSwitch(report, self.mailbox_readiness(org))

    def mailbox_readiness(self, org: OrgProfile | None = None) -> MailboxReadiness:
        """Whether the bound mailbox can synchronize with ``org`` (the synchronizing organization by default).

        DESIGN section 1 binds the mailbox on the user's mailbox record of one organization; after a switch
        the new organization's record must be bound as well. When it is (bound there before), the binding
        follows the organization (and an Exchange mailbox's root folder gets its id, as at binding); when not,
        the text says what to do and the engine refuses to run until it is bound. Reads the record (network);
        a missing record raises MailboxRecordMissing (its text names the administrator's part)."""
        org = org or self.require_sync_org()
        binding = self.profile.mailbox
        if binding is None:
            return MailboxReadiness("no_mailbox", NO_MAILBOX_TEXT)
        if binding.org_id == org.id:
            return MailboxReadiness("ready", "")
        record = records.own_mailbox(self.dataverse(org))
        if record.incomingemaildeliverymethod == DELIVERY_OUTLOOK and addresses_match(
            record.emailaddress, binding.address
        ):
            if binding.kind == "exchange":
                self._stamp_root(binding, org)
            binding.org_id = org.id
            self.save()
            return MailboxReadiness("ready", "")
        return MailboxReadiness("not_bound", not_bound_text(binding.address, org.display_name))

    def _stamp_root(self, binding: MailboxBinding, org: OrgProfile) -> None:
        """The synchronizing organization's id on the Exchange root folder; informational, so a mailbox that
        cannot be reached now only delays it (logged) instead of failing the switch."""
        try:
            store = self.mailbox_store(binding)
            try:
                store.set_root_sync_org(org.id)
            finally:
                store.close()
        except D365SyncError as error:
            log.warning("could not stamp the synchronizing organization on the mailbox: %s", error.message)

    # -- wizard steps: the synchronizing computer -----------------------------------------------
    @staticmethod
    def hostname() -> str:
        return socket.gethostname()

    def read_claim(self) -> records.Claim | None:
        return records.read_claim(self.dataverse(self.require_sync_org()))

    def claim(self, *, force: bool = False) -> records.Claim:
        """Make this computer the synchronizing client; raises records.ClaimHeldElsewhere unless ``force``."""
        client = self.dataverse(self.require_sync_org())
        return records.claim(client, self.profile.instance_id, self.hostname(), force=force)

    def release(self) -> bool:
        return records.release(self.dataverse(self.require_sync_org()), self.profile.instance_id)

    # -- wizard steps: the primary mailbox ------------------------------------------------------
    def primary_email(self) -> str:
        """The signed-in user's Primary Email in the synchronizing organization (to prefill the address)."""
        return self.dataverse(self.require_sync_org()).current_user().primary_email

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
        )
        provider = GraphTokenProvider(self.sign_in(org), graph_url, org.username)
        return GraphStore(settings, token_provider=provider)

    def _ews_store(self, binding: MailboxBinding, password: str | None) -> MailboxStore:
        from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore

        settings = EwsSettings(
            address=binding.address,
            ews_url=binding.ews_url or None,
            autodiscover_urls=(binding.autodiscover_url,) if binding.autodiscover_url else (),
            auth=EwsAuth(binding.auth),
            username=binding.username or None,
            ca_file=binding.ca_file or None,
        )
        if settings.auth is EwsAuth.OAUTH2:
            org = self.require_sync_org()
            resource = _origin(binding.ews_url) if binding.ews_url else "https://outlook.office365.com"
            return EwsStore(settings, token_provider=self.sign_in(org).provider(resource, org.username))
        return EwsStore(settings, password=password)

    def test_mailbox(self, binding: MailboxBinding, password: str | None = None) -> MailboxBinding:
        """Connect to the mailbox (Autodiscover first when Exchange has no EWS URL); returns the binding with
        what was found filled in (the EWS URL). Raises the mailbox's typed errors."""
        store = self.mailbox_store(binding, password)
        try:
            store.check()
            found = replace(binding)
            ews_url = getattr(store, "ews_url", None)
            if binding.kind == "exchange" and ews_url:
                found.autodiscovered = not binding.ews_url
                found.ews_url = str(ews_url)
            return found
        finally:
            store.close()

    def bind_mailbox(self, binding: MailboxBinding, password: str | None = None) -> MailboxBinding:
        """Bind the one primary mailbox (DESIGN section 1): the address must be the user's Primary Email and
        bound to nobody else, a second mailbox is refused, the connection must work; then the mailbox record's
        delivery methods are set, the synchronizing organization is stamped on an Exchange mailbox's root
        folder, the password goes to the keyring and the binding to the profile."""
        profile = self.profile
        current = profile.mailbox
        if current is not None and not addresses_match(current.address, binding.address):
            raise RuleViolation(
                "a mailbox is bound already",
                user_text=f"The mailbox {current.address} is already bound; only one mailbox can be bound. "
                "Unbind it first: d365sync mailbox unbind",
            )
        org = self.require_sync_org()
        client = self.dataverse(org)
        records.check_mailbox_address(client, binding.address)
        found = self.test_mailbox(binding, password)
        records.bind_mailbox(client, binding.address, "pop3" if binding.kind == "pop3" else "exchange")
        if password is not None:
            self.secret_store().set(mailbox_key(binding.address), password)
        if found.kind in ("exchange", "exchange_online"):
            store = self.mailbox_store(found, password)
            try:
                store.set_root_sync_org(org.id)
            finally:
                store.close()
        found.org_id = org.id
        found.bound_at = now_z()
        profile.mailbox = found
        self.save()
        return found

    def unbind_mailbox(self) -> MailboxBinding | None:
        """Release the mailbox: delivery methods back to none on the record, password and binding removed."""
        binding = self.profile.mailbox
        if binding is None:
            return None
        org = self.profile.org(binding.org_id) or self.profile.sync_org
        if org is not None:
            records.unbind_mailbox(self.dataverse(org))
        self.secret_store().delete(mailbox_key(binding.address))
        self.profile.mailbox = None
        self.save()
        return binding

    # -- the sync engine ---------------------------------------------------------------------------
    def engine(self, reporter: Reporter | None = None) -> Engine:
        """The sync engine for this profile (state DB, the synchronizing organization's client, the bound
        mailbox, the email kind when it is built); close it with ``Engine.close()`` or ``with``."""
        from wizard.sync.email import EmailSync
        from wizard.sync.engine import Engine
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
