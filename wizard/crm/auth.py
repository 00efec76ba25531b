"""How the product signs in to Dynamics 365: MSAL's public client online, NTLM on premises.

No Qt here: the GUI runs these calls on worker threads. Everything MSAL reports becomes an
:class:`AuthenticationError` (or :class:`SignInRequired` when only a fresh interactive sign-in helps) with a
user text that never contains a password or a token.

TLS: MSAL's HTTP goes through a :class:`PinnedSession`. A plain ``requests.Session(verify=<ca file>)`` is not
enough, because requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from the environment override a
session's ``verify`` (protocols.md section 7 saw MSAL's authority discovery fail that way); the pinned session
keeps an explicit CA file for every request MSAL makes, without touching the process environment.
"""

from __future__ import annotations

import functools
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msal
import requests
import requests.auth

from wizard.crm.authority_cache import AuthorityCache
from wizard.errors import ConfigurationError, D365SyncError, SecretStoreError, Severity
from wizard.odata.session import TokenProvider

if TYPE_CHECKING:
    from requests_ntlm import HttpNtlmAuth

# Microsoft's sample public client (protocols.md 1.10); configurable per organization.
DEFAULT_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
DEFAULT_TENANT = "organizations"  # any work or school account
DEFAULT_TIMEOUT = 30.0
INTERACTIVE_TIMEOUT = 300

# MSAL deprecates username/password for public clients; we only offer it for scripts and the sandbox.
warnings.filterwarnings(
    "ignore", message=r"This API has been deprecated for public client flows", module="msal"
)


@dataclass(frozen=True)
class Cloud:
    """A Microsoft cloud: where its users sign in and where its Global Discovery Service lives."""

    key: str
    label: str
    login_host: str
    discovery_url: str


CLOUDS: dict[str, Cloud] = {
    c.key: c
    for c in (
        Cloud(
            "commercial",
            "Commercial",
            "https://login.microsoftonline.com",
            "https://globaldisco.crm.dynamics.com",
        ),
        Cloud("gcc", "GCC", "https://login.microsoftonline.com", "https://globaldisco.crm9.dynamics.com"),
        Cloud(
            "usg",
            "GCC High (USG)",
            "https://login.microsoftonline.us",
            "https://globaldisco.crm.microsoftdynamics.us",
        ),
        Cloud("dod", "DoD", "https://login.microsoftonline.us", "https://globaldisco.crm.appsplatform.us"),
        Cloud(
            "china",
            "China (21Vianet)",
            "https://login.chinacloudapi.cn",
            "https://globaldisco.crm.dynamics.cn",
        ),
    )
}
_MICROSOFT_LOGIN_HOSTS = frozenset(
    {urlsplit(c.login_host).hostname for c in CLOUDS.values()}
    | {"login.microsoft.com", "login.windows.net", "login.partner.microsoftonline.cn"}
)
CUSTOM_CLOUD = "custom"  # an explicit authority URL (AD FS, the sandbox)


def cloud(key: str) -> Cloud:
    try:
        return CLOUDS[key]
    except KeyError:
        raise ConfigurationError(
            f"unknown cloud {key!r}",
            user_text=f"Unknown Microsoft cloud '{key}'. Choose one of: {', '.join(CLOUDS)}.",
        ) from None


def authority_url(cloud_key: str, tenant: str = DEFAULT_TENANT, custom_url: str | None = None) -> str:
    """The authority URL for a cloud (``custom``: ``custom_url`` as given, e.g. ``https://adfs.corp/adfs``)."""
    if cloud_key == CUSTOM_CLOUD:
        if not custom_url:
            raise ConfigurationError(
                "custom cloud without an authority URL", user_text="Enter the sign-in authority URL."
            )
        parts = urlsplit(custom_url)
        if parts.scheme != "https" or not parts.netloc:
            raise ConfigurationError(
                f"authority URL is not https: {custom_url!r}",
                user_text="The sign-in authority must be an https:// address.",
            )
        return custom_url.rstrip("/")
    return f"{cloud(cloud_key).login_host}/{tenant or DEFAULT_TENANT}"


def is_microsoft_authority(url: str) -> bool:
    """True for Entra ID's login hosts (any cloud), which MSAL can validate."""
    host = (urlsplit(url).hostname or "").lower()
    return host in _MICROSOFT_LOGIN_HOSTS


def discovery_url(cloud_key: str) -> str:
    """The Global Discovery Service base URL of a cloud (protocols.md 1.9)."""
    return cloud(cloud_key).discovery_url


def resource_scope(url: str) -> str:
    """The delegated scope a public client asks for to call an environment (protocols.md 1.10)."""
    return f"{url.rstrip('/')}/user_impersonation"


def default_scope(url: str) -> str:
    return f"{url.rstrip('/')}/.default"


# -- errors ------------------------------------------------------------------------------------------
class AuthenticationError(D365SyncError):
    """Signing in or getting a token failed; ``user_text`` says why in words a user understands."""

    severity = Severity.ACCOUNT


class SignInRequired(AuthenticationError):
    """No token can be had silently any more (signed out, refresh token expired or revoked)."""


class SignInCancelled(AuthenticationError):
    """The user cancelled a sign-in that was waiting for them."""

    severity = Severity.FATAL


SIGN_IN_AGAIN = "Your sign-in has expired or was revoked. Sign in again."

# AADSTS code -> (user text, "sign in again?")
_AADSTS: dict[int, tuple[str, bool]] = {
    50126: ("The user name or password is incorrect.", False),
    50034: ("This user account does not exist in the organization's directory.", False),
    50053: ("The account is locked after too many failed sign-ins. Try again later.", False),
    50055: ("The password has expired. Change it, then sign in again.", False),
    50057: ("The account is disabled. Ask your administrator.", False),
    50076: (
        "Your organization requires multi-factor authentication: sign in with the browser or a code.",
        True,
    ),
    50079: (
        "Your organization requires multi-factor authentication: sign in with the browser or a code.",
        True,
    ),
    65001: (
        "This application has not been given consent to access Dynamics 365 in your organization. "
        "Ask an administrator to grant consent, or sign in with the browser to consent.",
        True,
    ),
    700016: ("The application (client id) is not registered in this directory. Check the client id.", False),
    70019: ("The sign-in code expired before it was used. Start the sign-in again.", False),
    70018: ("The sign-in was declined.", False),
    50173: (SIGN_IN_AGAIN, True),
    700082: (SIGN_IN_AGAIN, True),
    70008: (SIGN_IN_AGAIN, True),
    70011: ("The requested permission (scope) is not valid for this service.", False),
}

_ERRORS: dict[str, tuple[str, bool]] = {
    "invalid_client": ("The application (client id) is not accepted by the sign-in service.", False),
    "unauthorized_client": ("The application (client id) is not accepted by the sign-in service.", False),
    "invalid_scope": ("The requested permission (scope) is not valid for this service.", False),
    "consent_required": (_AADSTS[65001][0], True),
    "interaction_required": ("You need to sign in again interactively.", True),
    "invalid_grant": (SIGN_IN_AGAIN, True),
    "expired_token": (_AADSTS[70019][0], False),
    "access_denied": ("The sign-in was declined.", False),
    "authorization_declined": ("The sign-in was declined.", False),
    "temporarily_unavailable": ("The sign-in service is temporarily unavailable. Try again later.", False),
    "server_error": ("The sign-in service reported an error. Try again later.", False),
}


def _aadsts_code(result: Mapping[str, Any]) -> int | None:
    codes = result.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    description = str(result.get("error_description", ""))
    if description.startswith("AADSTS"):
        digits = "".join(ch for ch in description[6:12] if ch.isdigit())
        if digits:
            return int(digits)
    return None


def error_from_result(result: Mapping[str, Any], action: str) -> AuthenticationError:
    """The typed error for an MSAL error dict (never its tokens or the password sent)."""
    error = str(result.get("error", "unknown_error"))
    code = _aadsts_code(result)
    text, again = _AADSTS.get(code, ("", False)) if code is not None else ("", False)
    if not text:
        text, again = _ERRORS.get(error, (f"Signing in failed ({error}).", False))
    message = f"{action} failed: {error}" + (f" (AADSTS{code})" if code is not None else "")
    retriable = error in ("temporarily_unavailable", "server_error")
    if again:
        return SignInRequired(message, user_text=text)
    return AuthenticationError(message, user_text=text, retriable=retriable)


def error_from_exception(exc: BaseException, authority: str, action: str) -> D365SyncError:
    """The typed error for an exception raised inside MSAL or its HTTP client."""
    host = urlsplit(authority).netloc or authority
    kind = type(exc).__name__
    if isinstance(exc, D365SyncError):
        return exc
    if isinstance(exc, requests.exceptions.SSLError):
        return AuthenticationError(
            f"{action} failed: TLS error talking to {host} ({kind})",
            user_text=f"The certificate of the sign-in server {host} is not trusted. Check the address, or "
            "the certificate authority file if your organization uses its own.",
        )
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return AuthenticationError(
            f"{action} failed: cannot reach {host} ({kind})",
            user_text=f"The sign-in server {host} cannot be reached. "
            "Check the network connection and the address.",
            retriable=True,
        )
    if isinstance(exc, msal.BrowserInteractionTimeoutError):
        return SignInCancelled(
            f"{action} failed: no answer from the browser in time",
            user_text="The sign-in in the browser was not completed in time. Try again.",
        )
    if isinstance(exc, OSError) and type(exc).__module__.startswith("msal_extensions"):
        return SecretStoreError(
            f"{action} failed: token cache unavailable ({kind})",
            user_text="The encrypted sign-in cache cannot be used. Unlock your keyring and try again.",
        )
    if isinstance(exc, ValueError) and "authority" in str(exc).lower():
        return AuthenticationError(
            f"{action} failed: {host} is not a usable authority ({kind})",
            user_text=f"{host} is not a valid sign-in authority. Check the cloud or authority address.",
        )
    return AuthenticationError(
        f"{action} failed: {kind}",
        user_text="Signing in failed because of an unexpected answer from the sign-in service.",
    )


# -- HTTP --------------------------------------------------------------------------------------------
class PinnedSession(requests.Session):
    """A requests session whose explicit CA file is not overridden by ``REQUESTS_CA_BUNDLE`` & co.

    It also applies a default timeout, which requests lacks on a session.
    """

    def __init__(self, verify: str | bool = True, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        if verify is False:
            raise ConfigurationError(
                "TLS verification may not be turned off",
                user_text="Certificate checks cannot be turned off. "
                "Give the certificate authority file instead.",
            )
        self.verify = verify
        self.default_timeout = timeout

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str) and verify in (None, True):
            settings["verify"] = self.verify
        return settings

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


# -- token providers ---------------------------------------------------------------------------------
class StaticTokenProvider:
    """A fixed bearer token (tests, scripts, ``d365sync sandbox``'s ready tokens)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self, *, force_refresh: bool = False) -> str:
        return self._token

    def __repr__(self) -> str:
        return "StaticTokenProvider(<token hidden>)"


@dataclass(frozen=True)
class Account:
    """A signed-in account as MSAL's cache knows it."""

    username: str
    home_account_id: str
    environment: str = ""

    @classmethod
    def from_msal(cls, entry: Mapping[str, Any]) -> Account:
        return cls(
            username=str(entry.get("username", "")),
            home_account_id=str(entry.get("home_account_id", "")),
            environment=str(entry.get("environment", "")),
        )


@dataclass
class DeviceFlow:
    """A started device code sign-in: show ``message`` (or ``user_code`` + ``verification_uri``)."""

    user_code: str
    verification_uri: str
    message: str
    expires_at: float
    scopes: list[str]
    raw: dict[str, Any] = field(repr=False)  # MSAL's flow, holds the device code

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.expires_at - time.time())


class MsalTokenProvider:
    """Tokens for one resource and one account from MSAL's cache, refreshed silently."""

    def __init__(self, sign_in: SignIn, resource_url: str, username: str) -> None:
        self._sign_in = sign_in
        self.resource_url = resource_url.rstrip("/")
        self.username = username
        self.scopes = [resource_scope(resource_url)]
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MsalTokenProvider(resource={self.resource_url!r}, username={self.username!r})"

    def token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            return self._sign_in.silent_token(self.scopes, self.username, force_refresh=force_refresh)


# -- sign-in -----------------------------------------------------------------------------------------
class SignIn:
    """MSAL's ``PublicClientApplication`` for one authority, client id and token cache.

    ``authority`` "" means the commercial cloud's ``organizations`` authority. ``validate_authority`` None
    validates only Microsoft's own login hosts: validating any other (AD FS, the sandbox) would make MSAL ask
    login.microsoftonline.com about it. The application is built on first use, because building it already
    contacts the authority, unless ``http_cache`` (:class:`AuthorityCache`) still holds the answers of an
    earlier run: then a run with a cached token makes no request to the authority at all.
    """

    def __init__(
        self,
        authority: str,
        client_id: str = DEFAULT_CLIENT_ID,
        cache: msal.SerializableTokenCache | None = None,
        *,
        verify: str | bool = True,
        validate_authority: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        http_cache: AuthorityCache | None = None,
    ) -> None:
        self.authority = (authority or authority_url("commercial")).rstrip("/")
        self.client_id = client_id
        self.cache = cache if cache is not None else msal.SerializableTokenCache()
        if validate_authority is None:
            validate_authority = is_microsoft_authority(self.authority)
        self.validate_authority = validate_authority
        self._session = PinnedSession(verify, timeout)
        self.http_cache = http_cache
        self._app: msal.PublicClientApplication | None = None
        self._app_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SignIn(authority={self.authority!r}, client_id={self.client_id!r})"

    def _application(self) -> msal.PublicClientApplication:
        with self._app_lock:
            if self._app is None:
                self._app = self._call(
                    "Contacting the sign-in service",
                    lambda: msal.PublicClientApplication(
                        self.client_id,
                        authority=self.authority,
                        validate_authority=self.validate_authority,
                        instance_discovery=None if self.validate_authority else False,
                        token_cache=self.cache,
                        http_client=self._session,
                        http_cache=self.http_cache,
                    ),
                )
                if (
                    self.http_cache is not None
                ):  # the discovery answers the building fetched, for the next run
                    self.http_cache.save()
            return self._app

    def _call(self, action: str, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except D365SyncError:
            raise
        except Exception as exc:
            raise error_from_exception(exc, self.authority, action) from exc

    def _account_from(self, result: Mapping[str, Any], action: str) -> Account:
        if "access_token" not in result:
            raise error_from_result(result, action)
        claims = result.get("id_token_claims") or {}
        username = str(claims.get("preferred_username") or claims.get("upn") or "")
        for entry in self._call(action, lambda: self._application().get_accounts(username=username or None)):
            return Account.from_msal(entry)
        return Account(username=username, home_account_id="")

    # -- accounts --------------------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        app = self._application()
        return [Account.from_msal(a) for a in self._call("Reading accounts", app.get_accounts)]

    def _msal_account(self, username: str) -> dict[str, Any] | None:
        app = self._application()
        found: list[dict[str, Any]] = self._call(
            "Reading accounts", lambda: app.get_accounts(username=username)
        )
        return found[0] if found else None

    def sign_out(self, username: str) -> None:
        """Forget ``username``'s tokens in the cache."""
        app = self._application()
        entry = self._msal_account(username)
        if entry is not None:
            self._call("Signing out", lambda: app.remove_account(entry))

    # -- interactive flows -----------------------------------------------------------------------
    def sign_in_interactive(
        self,
        scopes: list[str],
        login_hint: str | None = None,
        timeout: int = INTERACTIVE_TIMEOUT,
        no_browser: Callable[[str], None] | None = None,
    ) -> Account:
        """Sign in with the system browser; the answer comes back to a loopback listener (RFC 8252).

        ``no_browser(url)`` is called when no browser could be started, so the UI can show the address.
        """
        app = self._application()
        action = "Signing in with the browser"
        extra: dict[str, Any] = {"auth_uri_callback": no_browser} if no_browser is not None else {}
        result = self._call(
            action,
            lambda: app.acquire_token_interactive(scopes, login_hint=login_hint, timeout=timeout, **extra),
        )
        return self._account_from(result, action)

    def start_device_flow(self, scopes: list[str]) -> DeviceFlow:
        """Ask the authority for a device code; show the result's ``message`` to the user."""
        app = self._application()
        action = "Starting the sign-in with a code"
        flow: dict[str, Any] = self._call(action, lambda: app.initiate_device_flow(scopes=scopes))
        if "user_code" not in flow:
            raise error_from_result(flow, action)
        return DeviceFlow(
            user_code=str(flow["user_code"]),
            verification_uri=str(flow.get("verification_uri") or flow.get("verification_url") or ""),
            message=str(flow.get("message", "")),
            expires_at=float(flow.get("expires_at", time.time() + int(flow.get("expires_in", 900)))),
            scopes=list(scopes),
            raw=flow,
        )

    def finish_device_flow(self, flow: DeviceFlow, cancelled: Callable[[], bool] | None = None) -> Account:
        """Wait until the user entered the code (or it expires, or ``cancelled()`` turns true)."""
        app = self._application()
        action = "Signing in with a code"
        was_cancelled = False

        def stop(raw: dict[str, Any]) -> bool:
            nonlocal was_cancelled
            if cancelled is not None and cancelled():
                was_cancelled = True
                return True
            return float(raw.get("expires_at", 0)) < time.time()

        result: dict[str, Any] = self._call(
            action, lambda: app.acquire_token_by_device_flow(flow.raw, exit_condition=stop)
        )
        if "access_token" not in result and result.get("error") in ("authorization_pending", "slow_down"):
            if was_cancelled:
                raise SignInCancelled(f"{action}: cancelled", user_text="The sign-in was cancelled.")
            raise AuthenticationError(f"{action} failed: code expired", user_text=_AADSTS[70019][0])
        return self._account_from(result, action)

    def sign_in_password(self, username: str, password: str, scopes: list[str]) -> Account:
        """Username and password (scripts, the sandbox; AD FS). Not for accounts with MFA."""
        app = self._application()
        action = "Signing in"
        result = self._call(
            action, lambda: app.acquire_token_by_username_password(username, password, scopes)
        )
        return self._account_from(result, action)

    # -- silent ----------------------------------------------------------------------------------
    def silent_token(self, scopes: list[str], username: str, *, force_refresh: bool = False) -> str:
        """An access token from the cache, refreshed when needed; :class:`SignInRequired` if impossible."""
        action = "Getting a token"
        account = self._msal_account(username)
        if account is None:
            raise SignInRequired(f"{action}: {username} is not signed in", user_text=SIGN_IN_AGAIN)
        app = self._application()
        result = self._call(
            action, lambda: app.acquire_token_silent_with_error(scopes, account, force_refresh=force_refresh)
        )
        if not result:
            raise SignInRequired(f"{action}: nothing usable in the cache", user_text=SIGN_IN_AGAIN)
        if "access_token" not in result:
            raise error_from_result(result, action)
        return str(result["access_token"])

    def provider(self, resource_url: str, username: str) -> TokenProvider:
        """A :class:`TokenProvider` for calls to ``resource_url`` as ``username``."""
        return MsalTokenProvider(self, resource_url, username)


def ntlm_auth(username: str, password: str) -> requests.auth.AuthBase:
    """Windows integrated sign-in for Dynamics 365 on premises (``DOMAIN\\user`` or ``user@domain``)."""
    name = username.strip()
    if not name or not password:
        raise ConfigurationError(
            "NTLM needs a user name and a password",
            user_text="Enter the user name (DOMAIN\\user) and the password.",
        )
    if "\\" in name:
        domain, _, user = name.partition("\\")
        if not domain or not user:
            raise ConfigurationError(
                "malformed DOMAIN\\user name", user_text="Enter the user name as DOMAIN\\user or user@domain."
            )
    auth: requests.auth.AuthBase = _windows_auth()(name, password)
    return auth


@functools.cache
def _windows_auth() -> type[HttpNtlmAuth]:
    """requests_ntlm's handshake, whose refusal is a sign-in error. IIS answers wrong Windows credentials with
    an HTML 401 page, which the OData layer would otherwise report as "not a Dynamics 365 service".

    Built on first use: requests_ntlm and pyspnego (with cryptography) cost a noticeable part of the start
    of every command, and only an on-premises organization signs in with NTLM."""
    from requests_ntlm import HttpNtlmAuth
    from spnego.exceptions import SpnegoError

    class WindowsAuth(HttpNtlmAuth):
        def retry_using_http_NTLM_auth(
            self,
            auth_header_field: str,
            auth_header: str,
            response: requests.Response,
            auth_type: str,
            args: Any,
        ) -> requests.Response:
            host = urlsplit(response.url).netloc or "The server"
            user_text = (
                f"{host} did not accept the user name and password (Windows sign-in). Check both; enter the user "
                "name as DOMAIN\\user or user@domain."
            )
            try:
                answer = super().retry_using_http_NTLM_auth(
                    auth_header_field, auth_header, response, auth_type, args
                )
            except (PermissionError, SpnegoError) as exc:  # no usable CHALLENGE in the server's answer
                raise AuthenticationError(
                    f"Windows sign-in to {host} failed ({type(exc).__name__})",
                    user_text=f"{host} asked for Windows sign-in but did not go on with it. Check the address.",
                ) from None
            if answer is not response and answer.status_code == 401:
                answer.close()
                raise AuthenticationError(
                    f"Windows sign-in to {host} refused (HTTP 401)", user_text=user_text
                )
            return answer

    return WindowsAuth
