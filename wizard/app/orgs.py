"""The organizations (DESIGN section 1): connect one by URL or through Global Discovery, save and remove it, and
choose the synchronizing organization (server flags, the profile, then the mailbox's readiness there)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.app.mailbox import MailboxReadiness, mailbox_readiness
from wizard.crm import records
from wizard.crm.auth import DeviceFlow, SignIn, SignInRequired, ntlm_auth, resource_scope
from wizard.crm.client import API_VERSION, DataverseClient, connect_newest, service_root
from wizard.crm.discovery import Instance, discover_authority, discover_instances, normalize_org_url
from wizard.errors import ConfigurationError, D365SyncError
from wizard.isotime import now_z
from wizard.odata import AuthError, ODataSession
from wizard.secrets import check_keyring, org_key
from wizard.settings import OrgProfile
from wizard.tls import verify_for


@dataclass
class ConnectedOrg:
    """An organization that answered WhoAmI after sign-in, not yet saved in the profile."""

    org: OrgProfile
    client: DataverseClient
    password: str | None = None  # NTLM only: stored in the keyring when the organization is saved


class WindowsSignInRefused(ConfigurationError):
    """Windows (NTLM) sign-in was refused by an organization that asks for a Microsoft sign-in: an online
    organization, where the user should choose Microsoft 365 sign-in (``host`` names it)."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"{host} refused Windows sign-in and asks for a Microsoft sign-in",
            user_text=f"{host} is a Dynamics 365 (online) organization and does not accept Windows (NTLM) "
            "sign-in: sign in with your Microsoft 365 account instead (on the command line: --auth oauth).",
        )
        self.host = host


def _asks_for_microsoft_sign_in(url: str, ca_file: str) -> bool:
    """Whether the organization at ``url`` answers with a Microsoft (bearer) sign-in challenge."""
    try:
        discover_authority(service_root(url), verify=verify_for(ca_file))
    except D365SyncError:
        return False
    return True


@dataclass(frozen=True)
class SyncOrgSwitch:
    """The outcome of :func:`switch_sync_org`: the server flags and the mailbox in the new org."""

    report: records.SyncOrgReport
    mailbox: MailboxReadiness


def connect_org(
    factory: Factory,
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
    if auth_kind == "ntlm":
        check_keyring()  # the password goes to the keyring when the organization is saved: refuse first
    else:
        factory.token_cache()  # where the sign-in is kept (never in clear): refuse before signing in
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
        sign_in = factory.sign_in(org)
        org.username = _sign_in_for(
            sign_in, url, username, password, on_device_code=on_device_code, cancelled=cancelled
        )
        auth = sign_in.provider(url, org.username)
    try:
        client, version = connect_newest(
            url, lambda root: ODataSession(root, auth=auth, verify=verify_for(org.ca_file))
        )
        who = client.whoami()
    except AuthError:
        # the reverse of choosing a Microsoft sign-in on premises (NotDataverseError names Windows sign-in)
        if org.auth_kind == "ntlm" and _asks_for_microsoft_sign_in(url, org.ca_file):
            raise WindowsSignInRefused(urlsplit(url).netloc or url) from None
        raise
    org.api_version = "" if version == API_VERSION else version
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
    factory: Factory,
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
    sign_in = factory.sign_in(probe)
    user = _sign_in_for(
        sign_in, discovery_url, username, password, on_device_code=on_device_code, cancelled=cancelled
    )
    session = ODataSession(
        discovery_url.rstrip("/") + "/api/discovery/v2.0/",
        auth=sign_in.provider(discovery_url, user),
        verify=verify_for(ca_file),
    )
    return user, discover_instances(session)


def save_org(factory: Factory, connected: ConnectedOrg, *, make_sync_if_first: bool = True) -> bool:
    """Add or update the organization in the profile; the first one becomes the synchronizing organization
    (as in the original Configuration Wizard). Returns True when it became the synchronizing organization.
    An NTLM password goes to the keyring before the profile changes: a refused keyring saves nothing."""
    profile = factory.profile
    org = connected.org
    if connected.password is not None:  # first: a keyring that refuses it leaves the profile as it was
        factory.secret_store().set(org_key(org.id, org.username), connected.password)
    existing = profile.org(org.id)
    if existing is not None:
        profile.organizations[profile.organizations.index(existing)] = org
    else:
        profile.organizations.append(org)
    factory.save()
    if make_sync_if_first and profile.sync_org_id is None and len(profile.organizations) == 1:
        records.set_sync_org(connected.client, [])
        profile.sync_org_id = org.id
        factory.save()
        return True
    return False


class QueuedChangesWaiting(D365SyncError):
    """Removing an organization would delete offline changes that were not sent yet (no "yes" given)."""

    retriable = False


def remove_org(factory: Factory, org: OrgProfile, *, discard_offline: bool = False) -> None:
    """Remove ``org`` from the profile with its sign-in and its offline store. Offline changes that wait to be
    sent are deleted only with ``discard_offline`` (the user said yes): else :class:`QueuedChangesWaiting`
    and nothing changes."""
    waiting = offline.queued_changes(factory, org.id)
    if waiting and not discard_offline:
        raise QueuedChangesWaiting(
            f"{waiting} queued offline changes",
            user_text=queued_changes_text(org.display_name, waiting)
            + " Go online first (d365sync offline online), or remove it anyway and lose them.",
        )
    profile = factory.profile
    if org.id == profile.sync_org_id:
        profile.sync_org_id = None
    profile.organizations.remove(org)
    factory.save()
    factory.secret_store().forget_org(org, profile.organizations, factory.token_cache)
    offline.remove_store(factory, org.id)


def queued_changes_text(org_name: str, waiting: int) -> str:
    """What the faces say before an organization with unsent offline changes is removed or switched away."""
    if waiting == 1:
        return f"{org_name} has 1 offline change that has not been sent to Dynamics 365 yet."
    return f"{org_name} has {waiting} offline changes that have not been sent to Dynamics 365 yet."


def set_sync_org(factory: Factory, org: OrgProfile) -> records.SyncOrgReport:
    """Flip the server-side flags (set here, clear in every other configured organization), then the profile.

    Holds the engine lock meanwhile, so no run of this profile (another process's included) synchronizes
    while the organization changes under it; a running one makes this raise EngineBusy (retriable) before
    anything changed. Each organization keeps its own state DB, so switching back finds its links, cursors
    and conflicts as they were."""
    from wizard.sync.engine import EngineLock

    # ``where`` first adopts an old unscoped state DB for the organization that was synchronizing
    with EngineLock(factory.where.lock_file).held():
        chosen = factory.dataverse(org)
        others = [factory.dataverse(o) for o in factory.profile.organizations if o.id != org.id]
        report = records.set_sync_org(chosen, others)
        factory.profile.sync_org_id = org.id
        factory.save()
    return report


def switch_sync_org(factory: Factory, org: OrgProfile) -> SyncOrgSwitch:
    """Change the synchronizing organization (:func:`set_sync_org`), then check the mailbox binding in the
    new one (:func:`~wizard.app.mailbox.mailbox_readiness`): what the CLI's ``orgs set-sync`` and both GUI paths call."""
    report = set_sync_org(factory, org)
    return SyncOrgSwitch(report, mailbox_readiness(factory, org))


def check_org(factory: Factory, org: OrgProfile) -> None:
    """Sign in silently and ask WhoAmI: raises the typed error when the organization cannot be reached."""
    factory.dataverse(org).whoami()
