"""The sandbox's OAuth2 / OpenID Connect authority: enough of AD FS / Entra ID for MSAL's public client.

The path is ADFS-style (``https://127.0.0.1:PORT/adfs``) because MSAL then keeps every request of the
username/password flow on this host (an Entra-style path makes it ask ``/common/userrealm`` on port 443;
protocols.md section 7). Grants: password, authorization code with PKCE (MSAL's interactive flow, answered
with ``response_mode=form_post``), device code (RFC 8628 errors) and refresh token. Access tokens come from
:class:`TokenSigner`, so the Dataverse, Discovery and Graph stand-ins can verify them; id tokens are unsigned
JWTs (MSAL does not validate them). Error bodies follow RFC 6749 with AADSTS-style descriptions.

Test hooks: a short ``token_lifetime``, :meth:`Authority.revoke_refresh_tokens`,
:meth:`Authority.approve_device_code` / :meth:`Authority.deny_device_code` and per-grant counters.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from wizard.sandbox._http import FaultPlan, SandboxHandler, SandboxServer
from wizard.sandbox.directory import Directory, DirectoryUser
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenSigner

# Microsoft's sample public client (the product's default; see wizard.crm.auth.DEFAULT_CLIENT_ID).
SAMPLE_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
DEFAULT_RESOURCE = "https://graph.microsoft.com"  # what Entra issues for an OIDC-only scope
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words in codes


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    header = _b64url(json.dumps({"typ": "JWT", "alg": "none"}).encode())
    body = _b64url(json.dumps(claims).encode())
    return f"{header}.{body}."


def _normalize_user_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch in string.ascii_uppercase + string.digits)


class OAuthError(Exception):
    """An RFC 6749 error answer (JSON body) with an Entra-style AADSTS description."""

    def __init__(self, error: str, aadsts: int, text: str, status: int = 400) -> None:
        super().__init__(f"{error}: AADSTS{aadsts}")
        self.error = error
        self.aadsts = aadsts
        self.text = text
        self.status = status

    def body(self) -> dict[str, Any]:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.aadsts}: {self.text} Trace ID: {trace} Correlation ID: {correlation} "
                f"Timestamp: {stamp}"
            ),
            "error_codes": [self.aadsts],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
        }


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    scope: str
    upn: str
    challenge: str
    challenge_method: str
    nonce: str
    expires_at: float


@dataclass
class _DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    interval: int
    status: str = "pending"  # pending | approved | denied | redeemed
    upn: str = ""
    last_poll: float = 0.0


@dataclass
class _RefreshGrant:
    upn: str
    client_id: str
    issued_at: float = field(default_factory=time.time)


class Authority:
    """A loopback OAuth2 authority over HTTPS that MSAL's ``PublicClientApplication`` accepts."""

    def __init__(
        self,
        directory: Directory,
        *,
        signer: TokenSigner,
        tls: SandboxTLS,
        faults: FaultPlan | None = None,
        token_lifetime: int = 3600,
        device_code_lifetime: int = 900,
        device_code_interval: int = 5,
        clients: set[str] | None = None,
    ) -> None:
        self.directory = directory
        self.signer = signer
        self.token_lifetime = token_lifetime
        self.device_code_lifetime = device_code_lifetime
        self.device_code_interval = device_code_interval
        self.clients: set[str] = set(clients) if clients is not None else {SAMPLE_CLIENT_ID}
        self.grants: Counter[str] = Counter()  # successful token answers per grant type
        self._lock = threading.Lock()
        self._codes: dict[str, _AuthCode] = {}
        self._devices: dict[str, _DeviceGrant] = {}  # by device_code
        self._refresh: dict[str, _RefreshGrant] = {}
        handler = type("AuthorityHandler", (_AuthorityHandler,), {"authority": self})
        self.server = SandboxServer(handler, tls=tls, faults=faults)

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The authority URL to give MSAL."""
        return f"{self.server.base_url}/adfs"

    def start(self) -> Authority:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    # -- test and script hooks -------------------------------------------------------------------
    def approve_device_code(self, user_code: str, upn: str) -> None:
        """Approve a pending device code as ``upn`` (what the user does on /adfs/devicelogin)."""
        if self.directory.user(upn) is None:
            raise KeyError(f"no such user: {upn}")
        with self._lock:
            grant = self._pending_device(user_code)
            grant.status = "approved"
            grant.upn = upn

    def deny_device_code(self, user_code: str) -> None:
        """The user declined the sign-in: the next poll gets ``access_denied``."""
        with self._lock:
            self._pending_device(user_code).status = "denied"

    def pending_user_codes(self) -> list[str]:
        with self._lock:
            return [g.user_code for g in self._devices.values() if g.status == "pending"]

    def revoke_refresh_tokens(self, upn: str | None = None) -> int:
        """Invalidate every refresh token issued so far (or only ``upn``'s); returns how many."""
        with self._lock:
            doomed = [rt for rt, g in self._refresh.items() if upn is None or g.upn.lower() == upn.lower()]
            for rt in doomed:
                del self._refresh[rt]
            return len(doomed)

    def issue_for(self, upn: str, resources: list[str]) -> str:
        """A ready bearer token for ``upn`` with the given resource(s) as audience."""
        user = self.directory.user(upn)
        if user is None:
            raise KeyError(f"no such user: {upn}")
        audience = [r.rstrip("/") for r in resources]
        return self.signer.issue(
            oid=user.oid,
            upn=user.upn,
            tenant_id=self.directory.tenant_id,
            audience=audience[0] if len(audience) == 1 else audience,
            lifetime=self.token_lifetime,
        )

    # -- protocol pieces (called by the handler) -------------------------------------------------
    def openid_configuration(self) -> dict[str, Any]:
        base = self.url
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "device_authorization_endpoint": f"{base}/oauth2/devicecode",
            "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/oauth2/logout",
            "jwks_uri": f"{base}/discovery/keys",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "password",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["none", "HS256"],
            "scopes_supported": ["openid", "profile", "offline_access", "email"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "token_endpoint_auth_methods_supported": ["none"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "sandbox.local",
        }

    def check_client(self, client_id: str) -> None:
        if client_id not in self.clients:
            raise OAuthError(
                "invalid_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.directory.tenant_name}'.",
            )

    def check_password(self, username: str, password: str) -> DirectoryUser:
        user = self.directory.user(username)
        if user is None:
            raise OAuthError(
                "invalid_grant",
                50034,
                f"The user account {username} does not exist in the {self.directory.tenant_name} directory.",
            )
        if not secrets.compare_digest(user.password.encode(), password.encode()):
            raise OAuthError(
                "invalid_grant", 50126, "Error validating credentials due to invalid username or password."
            )
        return user

    @staticmethod
    def resource_of(scope: str) -> str:
        """The one resource a scope string asks for (``<resource>/user_impersonation`` or ``/.default``)."""
        resources = set()
        for item in scope.split():
            if item.lower() in RESERVED_SCOPES:
                continue
            resource, _, permission = item.rstrip("/").rpartition("/")
            parts = urlsplit(resource)
            if not permission or parts.scheme not in ("http", "https") or not parts.netloc:
                raise OAuthError(
                    "invalid_scope",
                    70011,
                    f"The provided value for the input parameter 'scope' is not valid: {item}.",
                )
            resources.add(resource.rstrip("/"))
        if len(resources) > 1:
            raise OAuthError(
                "invalid_scope",
                28000,
                "Provided value for the input parameter scope is not valid "
                "because it contains more than one resource.",
            )
        return resources.pop() if resources else DEFAULT_RESOURCE

    def token_response(
        self, user: DirectoryUser, client_id: str, scope: str, nonce: str = ""
    ) -> dict[str, Any]:
        resource = self.resource_of(scope)
        now = int(time.time())
        access_token = self.signer.issue(
            oid=user.oid,
            upn=user.upn,
            tenant_id=self.directory.tenant_id,
            audience=resource,
            lifetime=self.token_lifetime,
            now=now,
        )
        refresh_token = secrets.token_urlsafe(48)
        with self._lock:
            self._refresh[refresh_token] = _RefreshGrant(upn=user.upn, client_id=client_id)
        id_claims: dict[str, Any] = {
            "iss": self.url,
            "aud": client_id,
            "sub": user.oid,
            "oid": user.oid,
            "tid": self.directory.tenant_id,
            "preferred_username": user.upn,
            "upn": user.upn,
            "name": user.full_name,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "ver": "2.0",
        }
        if nonce:
            id_claims["nonce"] = nonce
        client_info = _b64url(json.dumps({"uid": user.oid, "utid": self.directory.tenant_id}).encode())
        granted = [s for s in scope.split() if s.lower() not in RESERVED_SCOPES] or [
            f"{DEFAULT_RESOURCE}/.default"
        ]
        return {
            "token_type": "Bearer",
            "scope": " ".join(granted),
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": access_token,
            "refresh_token": refresh_token,
            "id_token": _unsigned_jwt(id_claims),
            "client_info": client_info,
        }

    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer a token request (all grant types) or raise :class:`OAuthError`."""
        grant_type = form.get("grant_type", "")
        client_id = form.get("client_id", "")
        self.check_client(client_id)
        scope = form.get("scope", "")
        if grant_type == "password":
            user = self.check_password(form.get("username", ""), form.get("password", ""))
            answer = self.token_response(user, client_id, scope)
        elif grant_type == "authorization_code":
            answer = self._grant_code(form, client_id)
        elif grant_type in ("urn:ietf:params:oauth:grant-type:device_code", "device_code"):
            answer = self._grant_device(form, client_id)
        elif grant_type == "refresh_token":
            answer = self._grant_refresh(form, client_id, scope)
        else:
            raise OAuthError(
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        with self._lock:
            self.grants[grant_type.rsplit(":", 1)[-1]] += 1
        return answer

    def _grant_code(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        with self._lock:
            entry = self._codes.pop(form.get("code", ""), None)
        if entry is None or entry.expires_at < time.time():
            raise OAuthError(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired "
                "due to inactivity or has already been redeemed.",
            )
        if entry.client_id != client_id or entry.redirect_uri != form.get("redirect_uri", ""):
            raise OAuthError(
                "invalid_grant", 50148, "The code was issued to a different client or redirect URI."
            )
        verifier = form.get("code_verifier", "")
        if entry.challenge:
            if entry.challenge_method == "S256":
                computed = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
            else:
                computed = verifier
            if not secrets.compare_digest(computed, entry.challenge):
                raise OAuthError(
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied "
                    "in the authorization request.",
                )
        user = self.directory.user(entry.upn)
        assert user is not None
        return self.token_response(user, client_id, form.get("scope") or entry.scope, entry.nonce)

    def _grant_device(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            grant = self._devices.get(form.get("device_code", ""))
            if grant is None or grant.client_id != client_id or grant.status == "redeemed":
                raise OAuthError("invalid_grant", 70000, "The provided value for 'device_code' is not valid.")
            if grant.expires_at < now:
                del self._devices[grant.device_code]
                raise OAuthError("expired_token", 70019, "Verification code expired.")
            if grant.status == "denied":
                del self._devices[grant.device_code]
                raise OAuthError("access_denied", 70018, "The user declined the sign-in.")
            if grant.status == "pending":
                too_soon = grant.last_poll and now - grant.last_poll < grant.interval - 1
                grant.last_poll = now
                if too_soon:
                    raise OAuthError(
                        "slow_down", 70016, "OAuth 2.0 device flow error. Polling too fast; slow down."
                    )
                raise OAuthError(
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            grant.status = "redeemed"
            del self._devices[grant.device_code]
        user = self.directory.user(grant.upn)
        assert user is not None
        return self.token_response(user, client_id, grant.scope)

    def _grant_refresh(self, form: dict[str, str], client_id: str, scope: str) -> dict[str, Any]:
        with self._lock:
            entry = self._refresh.get(form.get("refresh_token", ""))
        if entry is None:
            raise OAuthError(
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, "
                "a fresh auth token is needed. The user might have changed or reset their password.",
            )
        if entry.client_id != client_id:
            raise OAuthError("invalid_grant", 700003, "The refresh token was issued to a different client.")
        user = self.directory.user(entry.upn)
        if user is None:
            raise OAuthError("invalid_grant", 50034, "The user account no longer exists in the directory.")
        return self.token_response(user, client_id, scope)

    def start_device_authorization(self, form: dict[str, str]) -> dict[str, Any]:
        client_id = form.get("client_id", "")
        self.check_client(client_id)
        scope = form.get("scope", "")
        self.resource_of(scope)  # validates
        letters = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
        user_code = f"{letters[:4]}-{letters[4:]}"
        device_code = secrets.token_urlsafe(32)
        grant = _DeviceGrant(
            device_code=device_code,
            user_code=user_code,
            client_id=client_id,
            scope=scope,
            expires_at=time.time() + self.device_code_lifetime,
            interval=self.device_code_interval,
        )
        with self._lock:
            self._devices[device_code] = grant
        verification_uri = f"{self.url}/devicelogin"
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "expires_in": self.device_code_lifetime,
            "interval": self.device_code_interval,
            "message": (
                f"To sign in, use a web browser to open the page {verification_uri} and enter the code "
                f"{user_code} to authenticate."
            ),
        }

    def new_authorization_code(self, params: dict[str, str], user: DirectoryUser) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _AuthCode(
                client_id=params.get("client_id", ""),
                redirect_uri=params.get("redirect_uri", ""),
                scope=params.get("scope", ""),
                upn=user.upn,
                challenge=params.get("code_challenge", ""),
                challenge_method=params.get("code_challenge_method", "plain"),
                nonce=params.get("nonce", ""),
                expires_at=time.time() + 600,
            )
        return code

    def approve_device_form(self, user_code: str, username: str, password: str) -> None:
        user = self.check_password(username, password)
        self.approve_device_code(user_code, user.upn)

    def _pending_device(self, user_code: str) -> _DeviceGrant:
        wanted = _normalize_user_code(user_code)
        for grant in self._devices.values():
            if _normalize_user_code(grant.user_code) == wanted and grant.status == "pending":
                if grant.expires_at < time.time():
                    break
                return grant
        raise KeyError("That code didn't work. Check the code and try again.")


def is_loopback_redirect(uri: str) -> bool:
    """Public clients may use any port on a loopback redirect URI (RFC 8252 section 7.3)."""
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{body}</body></html>"""


class _AuthorityHandler(SandboxHandler):
    authority: Authority

    def send_html(self, status: int, title: str, body: str) -> None:
        page = _PAGE.format(title=html.escape(title), body=body).encode("utf-8")
        self.send_bytes(status, page, "text/html; charset=utf-8", {"Cache-Control": "no-store"})

    def send_oauth_error(self, error: OAuthError) -> None:
        self.send_json(error.status, error.body(), {"Cache-Control": "no-store"})

    def send_failure(self, status: int) -> None:
        self.send_oauth_error(
            OAuthError("temporarily_unavailable", 90033, "A transient error has occurred.", status)
        )

    def route(self, method: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()} if body else {}
        authority = self.authority
        try:
            if path == "/adfs/.well-known/openid-configuration" and method == "GET":
                self.send_json(200, authority.openid_configuration())
            elif path == "/adfs/oauth2/token" and method == "POST":
                self.send_json(
                    200, authority.grant(form), {"Cache-Control": "no-store", "Pragma": "no-cache"}
                )
            elif path == "/adfs/oauth2/devicecode" and method == "POST":
                self.send_json(200, authority.start_device_authorization(form))
            elif path == "/adfs/oauth2/authorize" and method in ("GET", "POST"):
                self._authorize(method, query if method == "GET" else form)
            elif path == "/adfs/devicelogin" and method in ("GET", "POST"):
                self._device_login(method, form)
            else:
                self.send_json(404, {"error": "not_found", "error_description": "No such endpoint."})
        except OAuthError as exc:
            self.send_oauth_error(exc)

    # -- interactive sign-in ---------------------------------------------------------------------
    _CARRIED = (
        "client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
        "code_challenge", "code_challenge_method", "prompt",
    )  # fmt: skip

    def _authorize(self, method: str, params: dict[str, str]) -> None:
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id", "") not in self.authority.clients:
            self.send_html(
                400, "Sign in", "<p>AADSTS700016: The application was not found in the directory.</p>"
            )
            return
        if not is_loopback_redirect(redirect_uri):
            self.send_html(
                400,
                "Sign in",
                "<p>AADSTS50011: The redirect URI specified in the request does not match.</p>",
            )
            return
        if params.get("response_type", "code") != "code":
            self._redirect_result(
                params, {"error": "unsupported_response_type", "state": params.get("state", "")}
            )
            return
        error = ""
        if method == "POST":
            try:
                self.authority.resource_of(params.get("scope", ""))
                user = self.authority.check_password(params.get("login", ""), params.get("passwd", ""))
            except OAuthError as exc:
                if exc.error == "invalid_scope":
                    self._redirect_result(
                        params,
                        {
                            "error": "invalid_scope",
                            "error_description": exc.body()["error_description"],
                            "state": params.get("state", ""),
                        },
                    )
                    return
                error = f"AADSTS{exc.aadsts}: {exc.text}"
            else:
                code = self.authority.new_authorization_code(params, user)
                self._redirect_result(params, {"code": code, "state": params.get("state", "")})
                return
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
            for name in self._CARRIED
            if name in params
        )
        login = html.escape(params.get("login", "") or params.get("login_hint", ""))
        notice = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        self.send_html(
            200,
            "Sign in",
            f'{notice}<form method="post" action="/adfs/oauth2/authorize">{hidden}'
            f'<label>Email <input name="login" value="{login}"></label>'
            '<label>Password <input type="password" name="passwd"></label>'
            '<button type="submit">Sign in</button></form>',
        )

    def _redirect_result(self, params: dict[str, str], result: dict[str, str]) -> None:
        """Deliver the authorization response: auto-submitted form (form_post) or a 302 with a query."""
        redirect_uri = params["redirect_uri"]
        result = {k: v for k, v in result.items() if v}
        if params.get("response_mode") == "form_post":
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in result.items()
            )
            self.send_html(
                200,
                "Working...",
                f'<form method="post" name="hiddenform" action="{html.escape(redirect_uri)}">{fields}'
                '<noscript><button type="submit">Continue</button></noscript></form>'
                "<script>document.forms[0].submit();</script>",
            )
            return
        separator = "&" if "?" in redirect_uri else "?"
        self.send_bytes(302, b"", "text/plain", {"Location": f"{redirect_uri}{separator}{urlencode(result)}"})

    # -- device code approval --------------------------------------------------------------------
    def _device_login(self, method: str, form: dict[str, str]) -> None:
        error = ""
        if method == "POST":
            code = form.get("otc", "")
            try:
                if form.get("action") == "deny":
                    self.authority.deny_device_code(code)
                    self.send_html(
                        200, "Sign in canceled", "<p>You have declined to sign in to the application.</p>"
                    )
                    return
                self.authority.approve_device_form(code, form.get("login", ""), form.get("passwd", ""))
            except KeyError:
                error = "That code didn't work. Check the code and try again."
            except OAuthError as exc:
                error = f"AADSTS{exc.aadsts}: {exc.text}"
            else:
                self.send_html(
                    200,
                    "You're signed in",
                    "<p>You have signed in to the application on your device. "
                    "You may now close this window.</p>",
                )
                return
        notice = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        self.send_html(
            200,
            "Enter code",
            f'{notice}<form method="post" action="/adfs/devicelogin">'
            '<label>Code <input name="otc" autocomplete="off"></label>'
            '<label>Email <input name="login"></label>'
            '<label>Password <input type="password" name="passwd"></label>'
            '<button type="submit" name="action" value="approve">Next</button>'
            '<button type="submit" name="action" value="deny">Cancel</button></form>',
        )
