"""Finding the user's Dynamics 365 environments: Global Discovery (online) and checking a pasted org URL.

Clouds and their Global Discovery endpoints are from protocols.md 1.9; the sign-in hosts are the Entra ID
national-cloud authorities.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wizard.crm.client import connect_newest, service_root
from wizard.crm.entities import WhoAmI
from wizard.errors import ConfigurationError, D365SyncError
from wizard.odata.errors import (
    AuthError,
    MalformedResponseError,
    MethodNotAllowedError,
    NetworkError,
    NotFoundError,
    TLSError,
    ValidationError,
)
from wizard.odata.retry import FailFast
from wizard.odata.session import ODataSession, validate_url

DISCOVERY_PATH = "/api/discovery/v2.0/"


@dataclass(frozen=True)
class Cloud:
    key: str
    name: str
    discovery_url: str
    login_host: str

    @property
    def discovery_root(self) -> str:
        return self.discovery_url.rstrip("/") + DISCOVERY_PATH

    @property
    def authority_host(self) -> str:
        return f"https://{self.login_host}"


CLOUDS: dict[str, Cloud] = {
    c.key: c
    for c in (
        Cloud(
            "commercial", "Commercial", "https://globaldisco.crm.dynamics.com", "login.microsoftonline.com"
        ),
        Cloud(
            "gcc", "US Government (GCC)", "https://globaldisco.crm9.dynamics.com", "login.microsoftonline.com"
        ),
        Cloud(
            "usg",
            "US Government (GCC High)",
            "https://globaldisco.crm.microsoftdynamics.us",
            "login.microsoftonline.us",
        ),
        Cloud(
            "dod",
            "US Government (DoD)",
            "https://globaldisco.crm.appsplatform.us",
            "login.microsoftonline.us",
        ),
        Cloud("china", "China (21Vianet)", "https://globaldisco.crm.dynamics.cn", "login.chinacloudapi.cn"),
    )
}

# Hosts of Dynamics 365 online environments per cloud (org.crm4.dynamics.com, org.api.crm.dynamics.com, ...).
ONLINE_HOST_SUFFIXES = (".dynamics.com", ".dynamics.cn", ".microsoftdynamics.us", ".appsplatform.us")
# Path segments of the web app / APIs that a pasted browser URL may contain after the org part.
_APP_SEGMENTS = {
    "main.aspx",
    "api",
    "xrmservices",
    "tools",
    "apps",
    "webresources",
    "_common",
    "_static",
    "_forms",
    "_grid",
    "_root",
    "userdefined",
    "default.aspx",
    "dashboards",
    "sfa",
    "cs",
    "ma",
}


@dataclass(frozen=True)
class Instance:
    """One environment from Global Discovery (all documented ``Instance`` properties)."""

    id: str
    unique_name: str
    url_name: str
    friendly_name: str
    state: int  # 0 enabled, 1 disabled
    version: str
    url: str
    api_url: str
    region: str = ""
    environment_id: str = ""
    tenant_id: str = ""
    datacenter_id: str = ""
    datacenter_name: str = ""
    purpose: str = ""
    organization_type: int | None = None
    schema_type: str = ""
    status_message: int | None = None
    is_user_sys_admin: bool = False
    last_updated: str = ""
    trial_expiration_date: str | None = None

    @property
    def usable(self) -> bool:
        return self.state == 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Instance:
        def s(key: str) -> str:
            value = row.get(key)
            return "" if value is None else str(value)

        def i(key: str) -> int | None:
            value = row.get(key)
            try:
                return int(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        return cls(
            id=s("Id").lower(),
            unique_name=s("UniqueName"),
            url_name=s("UrlName"),
            friendly_name=s("FriendlyName") or s("UniqueName"),
            state=i("State") if i("State") is not None else 0,  # type: ignore[arg-type]
            version=s("Version"),
            url=s("Url").rstrip("/"),
            api_url=s("ApiUrl").rstrip("/"),
            region=s("Region"),
            environment_id=s("EnvironmentId"),
            tenant_id=s("TenantId"),
            datacenter_id=s("DatacenterId"),
            datacenter_name=s("DatacenterName"),
            purpose=s("Purpose"),
            organization_type=i("OrganizationType"),
            schema_type=s("SchemaType"),
            status_message=i("StatusMessage"),
            is_user_sys_admin=bool(row.get("IsUserSysAdmin")),
            last_updated=s("LastUpdated"),
            trial_expiration_date=row.get("TrialExpirationDate") or None,
        )


def discover_instances(session: ODataSession, *, include_disabled: bool = False) -> list[Instance]:
    """The environments the signed-in user can use, from ``<discovery>/api/discovery/v2.0/Instances``.

    Only State 0 (enabled) instances are usable; disabled ones are returned only with ``include_disabled``.
    """
    instances = [Instance.from_row(row) for row in session.iter_rows("Instances")]
    if not include_disabled:
        instances = [i for i in instances if i.usable]
    return sorted(instances, key=lambda i: i.friendly_name.casefold())


# -- pasted org URLs -----------------------------------------------------------------------------------------


class NotDataverseError(ConfigurationError):
    """The address answers, but not as a Dynamics 365 organization."""


def is_online_host(host: str) -> bool:
    host = host.lower()
    return any(host.endswith(suffix) for suffix in ONLINE_HOST_SUFFIXES)


def normalize_org_url(url: str) -> str:
    """Reduce a pasted address to the organization URL.

    ``https://org.crm4.dynamics.com/main.aspx?appid=...`` -> ``https://org.crm4.dynamics.com``;
    ``https://server/Org/main.aspx`` -> ``https://server/Org`` (on-premises keeps the org path segment);
    ``org.crm4.dynamics.com`` -> ``https://org.crm4.dynamics.com``. Refuses plain http:// except to loopback.
    """
    text = url.strip()
    if re.search(r"\s", text):
        validate_url(text, what="organization address")  # raises with the text as the user typed it
    if text and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        text = "https://" + text
    validate_url(text, what="organization address")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    netloc = parts.netloc.lower()
    if is_online_host(parts.hostname or ""):
        return f"{scheme}://{netloc}"
    kept: list[str] = []
    for segment in [s for s in parts.path.split("/") if s]:
        if segment.lower() in _APP_SEGMENTS or segment.lower().endswith(".aspx"):
            break
        kept.append(segment)
    path = "/" + "/".join(kept) if kept else ""
    return f"{scheme}://{netloc}{path}"


_CHALLENGE_RE = re.compile(r'authorization_uri\s*=\s*"?([^",\s]+)"?', re.IGNORECASE)


def discover_authority(service_root_url: str, *, verify: bool | str = True, timeout: float = 15.0) -> str:
    """The OAuth authority an environment wants, from the bearer challenge of an unauthenticated request.

    Dataverse answers a request without a token with ``401`` and ``WWW-Authenticate: Bearer
    authorization_uri=https://login.microsoftonline.com/<tenant>/oauth2/authorize, resource_id=...``; MSAL
    wants the authority without the ``/oauth2/authorize`` endpoint part (AD FS and the sandbox send the
    authority itself). Raises NotDataverseError when there is no such challenge.
    """
    session = ODataSession(
        service_root_url, verify=verify, timeout=(timeout, timeout), retry_policy=FailFast()
    )
    try:
        response = session.request("GET", "WhoAmI", allow_statuses=[401])
    finally:
        session.close()
    challenge = response.headers.get("WWW-Authenticate", "")
    match = _CHALLENGE_RE.search(challenge)
    if response.status_code != 401 or match is None:
        raise NotDataverseError(
            f"No bearer challenge from {service_root_url}",
            user_text=(
                f"{session.root} did not ask for a Microsoft sign-in, so it is not a Dynamics 365 (online) "
                "organization address. For on-premises organizations choose Windows (NTLM) sign-in."
            ),
        )
    authority = match.group(1).rstrip("/")
    authority = re.sub(r"/oauth2(/v2\.0)?/(authorize|token)$", "", authority, flags=re.IGNORECASE)
    validate_url(authority, what="sign-in authority")
    return authority


@dataclass(frozen=True)
class OrgIdentity:
    url: str  # the normalized organization URL
    api_root: str  # <url>/api/data/v9.2/ (v9.1 or v9.0 on premises, whichever the server has)
    user_id: str
    organization_id: str
    business_unit_id: str


def check_org_url(url: str, session_factory: Callable[[str], ODataSession]) -> OrgIdentity:
    """Normalize a pasted org URL and confirm it is a Dataverse organization by calling WhoAmI.

    ``session_factory(service_root)`` builds the authenticated session (MSAL for online, NTLM on-premises).
    Errors are typed: InvalidURLError/InsecureURLError (bad address), NotDataverseError (answers, but is not
    Dynamics 365), NetworkError/TLSError (unreachable), AuthError (401).
    """
    org_url = normalize_org_url(url)
    try:
        client, version = connect_newest(org_url, session_factory)
        who: WhoAmI = client.whoami()
    except (NotFoundError, MalformedResponseError, MethodNotAllowedError, ValidationError) as error:
        raise NotDataverseError(
            f"{org_url} is not a Dynamics 365 organization ({error.message})",
            user_text=(
                f"{org_url} answers, but not like a Dynamics 365 organization. Copy the address from your "
                "browser while Dynamics 365 is open (for example https://contoso.crm4.dynamics.com or, "
                "on-premises, https://server/OrganizationName)."
            ),
        ) from error
    except TLSError:
        raise
    except NetworkError as error:
        error.user_text = f"{org_url} could not be reached. {error.user_text}"
        raise
    except AuthError as error:
        error.user_text = (
            f"{org_url} did not accept your sign-in. Check the user name and password (on-premises) or sign "
            "in again with the account that has access to this organization."
        )
        raise
    except D365SyncError:
        raise
    if not who.user_id or not who.organization_id:
        raise NotDataverseError(
            f"{org_url}: WhoAmI without ids",
            user_text=f"{org_url} did not identify you as a Dynamics 365 user.",
        )
    return OrgIdentity(
        url=org_url,
        api_root=service_root(org_url, version),
        user_id=who.user_id,
        organization_id=who.organization_id,
        business_unit_id=who.business_unit_id,
    )
