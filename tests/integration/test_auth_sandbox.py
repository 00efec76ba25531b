"""wizard.crm.auth against the sandbox authority over real HTTPS, through MSAL's real code (no MSAL mocks)."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import msal
import pytest
import requests

from wizard.crm.auth import (
    DEFAULT_CLIENT_ID,
    AuthenticationError,
    PinnedSession,
    SignIn,
    SignInCancelled,
    SignInRequired,
    StaticTokenProvider,
    authority_url,
    ntlm_auth,
    resource_scope,
)
from wizard.errors import ConfigurationError
from wizard.odata.session import TokenProvider
from wizard.paths import locations
from wizard.sandbox.authority import Authority
from wizard.sandbox.directory import Directory, demo_directory
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner
from wizard.secrets import load_token_cache, use_memory_keyring

# MSAL deprecates username/password for public clients; wizard.crm.auth silences it outside pytest.
pytestmark = pytest.mark.filterwarnings("ignore:This API has been deprecated for public client flows")

ORG = "https://contoso.crm4.dynamics.com"
OTHER_ORG = "https://contoso-test.crm4.dynamics.com"
ANNA = "anna.schmidt@contoso.com"
ANNA_PASSWORD = "Sandbox-Anna-2026"


# -- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def directory() -> Directory:
    return demo_directory()


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner()


AuthorityFactory = Callable[..., Authority]


@pytest.fixture
def make_authority(directory: Directory, signer: TokenSigner, tls: SandboxTLS) -> Iterator[AuthorityFactory]:
    started: list[Authority] = []

    def make(**kwargs: Any) -> Authority:
        kwargs.setdefault("device_code_interval", 1)
        authority = Authority(directory, signer=signer, tls=tls, **kwargs).start()
        started.append(authority)
        return authority

    yield make
    for authority in started:
        authority.stop()


@pytest.fixture
def authority(make_authority: AuthorityFactory) -> Authority:
    return make_authority()


def sign_in_for(
    authority: Authority, tls: SandboxTLS, cache: msal.SerializableTokenCache | None = None
) -> SignIn:
    return SignIn(
        authority.url,
        DEFAULT_CLIENT_ID,
        cache if cache is not None else load_token_cache(locations(), prefer_native=False),
        verify=str(tls.ca_file),
        validate_authority=False,
    )


@pytest.fixture
def sign_in(authority: Authority, tls: SandboxTLS) -> SignIn:
    return sign_in_for(authority, tls)


class User(threading.Thread):
    """The person at the other device: runs ``act`` once the client polls; on failure declines the code so
    the waiting flow ends at once instead of at its expiry."""

    def __init__(self, authority: Authority, user_code: str, act: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.authority, self.user_code, self.act = authority, user_code, act
        self.polled = poll_seen(authority)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            assert self.polled.wait(10), "the client never polled"
            self.act()
        except BaseException as exc:
            self.error = exc
            self.authority.deny_device_code(self.user_code)

    def finish(self) -> None:
        self.join(10)
        if self.error is not None:
            raise self.error


def poll_seen(authority: Authority) -> threading.Event:
    """Set once the client has polled the token endpoint (the device flow is waiting for the user)."""
    seen = threading.Event()

    def on_request(method: str, path: str) -> None:
        if method == "POST" and path.startswith("/adfs/oauth2/token"):
            seen.set()

    authority.server.on_request = on_request
    return seen


# -- password, silent, refresh -----------------------------------------------------------------------
def test_password_sign_in_then_silent_token_for_the_requested_resource(
    authority: Authority, sign_in: SignIn, signer: TokenSigner, directory: Directory
) -> None:
    account = sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    assert account.username == ANNA
    assert [a.username for a in sign_in.accounts()] == [ANNA]
    provider = sign_in.provider(ORG, ANNA)
    assert isinstance(provider, TokenProvider)
    token = provider.token()
    claims = signer.verify(token, audience=ORG)
    assert claims["aud"] == ORG
    assert claims["upn"] == ANNA
    assert claims["oid"] == directory.user(ANNA).oid  # type: ignore[union-attr]
    assert claims["tid"] == directory.tenant_id
    assert provider.token() == token  # served from the cache: a 1 h token is not refreshed
    assert authority.grants == {"password": 1}
    assert token not in repr(provider)


def test_second_resource_uses_the_refresh_token(
    authority: Authority, sign_in: SignIn, signer: TokenSigner
) -> None:
    sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    other = sign_in.provider(OTHER_ORG + "/", ANNA).token()
    assert signer.verify(other, audience=OTHER_ORG)["aud"] == OTHER_ORG
    assert authority.grants["refresh_token"] == 1


def test_expired_access_token_is_refreshed_silently(
    make_authority: AuthorityFactory, tls: SandboxTLS, signer: TokenSigner
) -> None:
    authority = make_authority(token_lifetime=60)  # MSAL treats anything under 5 minutes as expired
    sign_in = sign_in_for(authority, tls)
    sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    provider = sign_in.provider(ORG, ANNA)
    first = provider.token()
    second = provider.token()
    assert first != second
    assert authority.grants["refresh_token"] == 2
    assert signer.verify(second, audience=ORG)["upn"] == ANNA


def test_force_refresh_gets_a_new_token(authority: Authority, sign_in: SignIn) -> None:
    sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    provider = sign_in.provider(ORG, ANNA)
    first = provider.token()
    assert provider.token(force_refresh=True) != first
    assert authority.grants["refresh_token"] == 1


def test_revoked_refresh_token_means_sign_in_required(
    make_authority: AuthorityFactory, tls: SandboxTLS
) -> None:
    authority = make_authority(token_lifetime=60)
    sign_in = sign_in_for(authority, tls)
    sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    assert authority.revoke_refresh_tokens(ANNA) == 1
    with pytest.raises(SignInRequired) as caught:
        sign_in.provider(ORG, ANNA).token()
    assert "Sign in again" in caught.value.user_text
    assert "AADSTS50173" in caught.value.message


def test_account_not_signed_in_means_sign_in_required(sign_in: SignIn) -> None:
    with pytest.raises(SignInRequired):
        sign_in.provider(ORG, ANNA).token()


def test_sign_out_forgets_the_account(sign_in: SignIn) -> None:
    sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    sign_in.sign_out(ANNA)
    assert sign_in.accounts() == []
    with pytest.raises(SignInRequired):
        sign_in.provider(ORG, ANNA).token()


def test_token_cache_survives_a_new_sign_in_object(authority: Authority, tls: SandboxTLS) -> None:
    sign_in_for(authority, tls).sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    later = sign_in_for(authority, tls)  # a new process would load the same persisted cache
    assert [a.username for a in later.accounts()] == [ANNA]
    assert later.provider(ORG, ANNA).token()
    assert authority.grants["password"] == 1


# -- errors ------------------------------------------------------------------------------------------
def test_wrong_password_is_a_clear_error_without_the_password(sign_in: SignIn) -> None:
    wrong = "Not-The-Password-987"
    with pytest.raises(AuthenticationError) as caught:
        sign_in.sign_in_password(ANNA, wrong, [resource_scope(ORG)])
    error = caught.value
    assert not isinstance(error, SignInRequired)
    assert error.user_text == "The user name or password is incorrect."
    assert "AADSTS50126" in error.message
    for text in (str(error), error.user_text, repr(error)):
        assert wrong not in text


def test_unknown_user(sign_in: SignIn) -> None:
    with pytest.raises(AuthenticationError) as caught:
        sign_in.sign_in_password("nobody@contoso.com", "x", [resource_scope(ORG)])
    assert "does not exist" in caught.value.user_text


def test_unknown_client_id(authority: Authority, tls: SandboxTLS) -> None:
    sign_in = SignIn(
        authority.url,
        "00000000-0000-0000-0000-000000000001",
        msal.SerializableTokenCache(),
        verify=str(tls.ca_file),
        validate_authority=False,
    )
    with pytest.raises(AuthenticationError) as caught:
        sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    assert "client id" in caught.value.user_text


def test_untrusted_certificate_is_reported(authority: Authority) -> None:
    sign_in = SignIn(
        authority.url, cache=msal.SerializableTokenCache(), validate_authority=False
    )  # system CAs
    with pytest.raises(AuthenticationError) as caught:
        sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    assert "not trusted" in caught.value.user_text


def test_ca_file_wins_over_requests_ca_bundle(
    authority: Authority, tls: SandboxTLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """protocols.md section 7: requests lets REQUESTS_CA_BUNDLE override a session's verify; ours must not."""
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    plain = requests.Session()
    plain.verify = str(tls.ca_file)
    with pytest.raises(requests.exceptions.SSLError):  # the trap this guards against
        plain.get(f"{authority.url}/.well-known/openid-configuration", timeout=10)
    account = sign_in_for(authority, tls).sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    assert account.username == ANNA


def test_unreachable_authority_is_retriable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sign_in = SignIn(
        f"https://127.0.0.1:{port}/adfs", cache=msal.SerializableTokenCache(), validate_authority=False
    )
    with pytest.raises(AuthenticationError) as caught:
        sign_in.accounts()
    assert caught.value.retriable
    assert "cannot be reached" in caught.value.user_text


def test_a_server_that_is_no_authority_is_reported(authority: Authority, tls: SandboxTLS) -> None:
    sign_in = SignIn(
        f"{authority.server.base_url}/not-an-authority",
        cache=msal.SerializableTokenCache(),
        verify=str(tls.ca_file),
    )
    with pytest.raises(AuthenticationError) as caught:
        sign_in.start_device_flow([resource_scope(ORG)])
    assert "not a valid sign-in authority" in caught.value.user_text


def test_tls_verification_cannot_be_turned_off(authority: Authority) -> None:
    with pytest.raises(ConfigurationError):
        SignIn(authority.url, verify=False)


def test_default_sign_in_to_the_sandbox_never_asks_microsoft(authority: Authority, tls: SandboxTLS) -> None:
    """validate_authority is off by default off Microsoft hosts (MSAL would ask login.microsoftonline.com)."""
    sign_in = SignIn(authority.url, cache=msal.SerializableTokenCache(), verify=str(tls.ca_file))
    assert sign_in.validate_authority is False
    assert sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)]).username == ANNA
    assert SignIn("").authority == "https://login.microsoftonline.com/organizations"
    assert SignIn("https://login.microsoftonline.us/contoso.us").validate_authority is True


def test_custom_and_cloud_authorities() -> None:
    assert authority_url("commercial") == "https://login.microsoftonline.com/organizations"
    assert (
        authority_url("usg", "contoso.onmicrosoft.us")
        == "https://login.microsoftonline.us/contoso.onmicrosoft.us"
    )
    assert authority_url("custom", custom_url="https://127.0.0.1:4443/adfs/") == "https://127.0.0.1:4443/adfs"
    with pytest.raises(ConfigurationError):
        authority_url("custom", custom_url="http://adfs.example/adfs")
    with pytest.raises(ConfigurationError):
        authority_url("mars")


# -- device code -------------------------------------------------------------------------------------
def test_device_code_approved_from_another_thread(
    authority: Authority, sign_in: SignIn, signer: TokenSigner
) -> None:
    flow = sign_in.start_device_flow([resource_scope(ORG)])
    assert len(flow.user_code) == 9 and flow.user_code[4] == "-"
    assert flow.verification_uri == f"{authority.url}/devicelogin"
    assert flow.message.startswith("To sign in, use a web browser to open the page")
    assert flow.user_code in flow.message
    assert "device_code" not in repr(flow)
    user = User(authority, flow.user_code, lambda: authority.approve_device_code(flow.user_code, ANNA))
    user.start()
    account = sign_in.finish_device_flow(flow)
    user.finish()
    assert account.username == ANNA
    assert signer.verify(sign_in.provider(ORG, ANNA).token(), audience=ORG)["upn"] == ANNA
    assert authority.grants["device_code"] == 1


class _Forms(html.parser.HTMLParser):
    """Just enough of a browser: the forms of a page and their input fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "fields": {}})
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1]["fields"][values["name"]] = values.get("value", "")


def forms_of(page: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def test_device_code_approved_in_the_html_form(
    authority: Authority, sign_in: SignIn, tls: SandboxTLS
) -> None:
    flow = sign_in.start_device_flow([resource_scope(ORG)])
    pages: list[str] = []

    def act() -> None:
        with PinnedSession(str(tls.ca_file)) as browser:
            page = browser.get(flow.verification_uri, timeout=10)
            form = forms_of(page.text)[0]
            wrong = browser.post(
                urljoin(flow.verification_uri, form["action"]),
                data={"otc": flow.user_code, "login": ANNA, "passwd": "wrong", "action": "approve"},
                timeout=10,
            )
            pages.append(wrong.text)
            right = browser.post(
                urljoin(flow.verification_uri, form["action"]),
                data={"otc": flow.user_code.lower().replace("-", ""), "login": ANNA, "passwd": ANNA_PASSWORD},
                timeout=10,
            )
            pages.append(right.text)

    user = User(authority, flow.user_code, act)
    user.start()
    account = sign_in.finish_device_flow(flow)
    user.finish()
    assert account.username == ANNA
    assert "AADSTS50126" in pages[0]
    assert "You have signed in to the application on your device" in pages[1]


def test_device_code_cancelled(authority: Authority, sign_in: SignIn) -> None:
    flow = sign_in.start_device_flow([resource_scope(ORG)])
    cancel = threading.Event()
    user = User(authority, flow.user_code, cancel.set)
    user.start()
    with pytest.raises(SignInCancelled):
        sign_in.finish_device_flow(flow, cancelled=cancel.is_set)
    user.finish()
    assert authority.pending_user_codes() == [flow.user_code]  # nobody approved anything
    assert sign_in.accounts() == []


def test_device_code_expires(make_authority: AuthorityFactory, tls: SandboxTLS) -> None:
    authority = make_authority(device_code_lifetime=1)
    sign_in = sign_in_for(authority, tls)
    flow = sign_in.start_device_flow([resource_scope(ORG)])
    with pytest.raises(AuthenticationError) as caught:
        sign_in.finish_device_flow(flow)
    assert not isinstance(caught.value, SignInCancelled)
    assert "expired" in caught.value.user_text


def test_device_code_declined(authority: Authority, sign_in: SignIn) -> None:
    flow = sign_in.start_device_flow([resource_scope(ORG)])
    user = User(authority, flow.user_code, lambda: authority.deny_device_code(flow.user_code))
    user.start()
    with pytest.raises(AuthenticationError) as caught:
        sign_in.finish_device_flow(flow)
    user.finish()
    assert "declined" in caught.value.user_text


# -- interactive (browser) ---------------------------------------------------------------------------
def _browser(tls: SandboxTLS, password: str, done: list[BaseException | str]) -> Callable[..., bool]:
    """A stand-in for the system browser: sign in on the authority's page, post the answer to MSAL."""

    def act(auth_uri: str) -> None:
        try:
            with PinnedSession(str(tls.ca_file)) as browser:
                page = browser.get(auth_uri, timeout=10)
                page.raise_for_status()
                form = forms_of(page.text)[0]
                fields = dict(form["fields"], login=ANNA, passwd=password)
                answer = browser.post(urljoin(auth_uri, form["action"]), data=fields, timeout=10)
                redirect = forms_of(answer.text)[0]  # response_mode=form_post: an auto-submitting form
                target = urlsplit(redirect["action"])
                loopback = urlunsplit(target._replace(netloc=f"127.0.0.1:{target.port}"))
                landing = requests.post(loopback, data=redirect["fields"], timeout=10)
                done.append(landing.text)
        except BaseException as exc:
            done.append(exc)

    def open_(url: str, new: int = 0, autoraise: bool = True) -> bool:
        threading.Thread(target=act, args=(url,), daemon=True).start()
        return True

    return open_


def test_interactive_sign_in_with_the_system_browser(
    authority: Authority,
    sign_in: SignIn,
    tls: SandboxTLS,
    signer: TokenSigner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done: list[BaseException | str] = []
    monkeypatch.setattr(webbrowser, "open", _browser(tls, ANNA_PASSWORD, done))
    account = sign_in.sign_in_interactive([resource_scope(ORG)], login_hint=ANNA, timeout=15)
    assert account.username == ANNA
    assert not any(isinstance(item, BaseException) for item in done), done
    assert "Authentication complete" in str(done[0])
    assert signer.verify(sign_in.provider(ORG, ANNA).token(), audience=ORG)["upn"] == ANNA
    assert authority.grants == {"authorization_code": 1}


def test_authorize_page_rejects_a_wrong_password_and_a_foreign_redirect(
    authority: Authority, tls: SandboxTLS
) -> None:
    base = f"{authority.url}/oauth2/authorize"
    params = {
        "client_id": DEFAULT_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": "http://localhost:5555",
        "scope": resource_scope(ORG),
        "state": "st",
        "response_mode": "form_post",
    }
    with PinnedSession(str(tls.ca_file)) as browser:
        page = browser.post(base, data=dict(params, login=ANNA, passwd="wrong"), timeout=10)
        assert "AADSTS50126" in page.text
        assert forms_of(page.text)[0]["action"] == "/adfs/oauth2/authorize"  # asked again
        foreign = browser.get(base, params=dict(params, redirect_uri="https://evil.example/cb"), timeout=10)
        assert foreign.status_code == 400


# -- the protocol details MSAL does not exercise ------------------------------------------------------
def _token_post(authority: Authority, tls: SandboxTLS, **form: str) -> requests.Response:
    form.setdefault("client_id", DEFAULT_CLIENT_ID)
    return requests.post(f"{authority.url}/oauth2/token", data=form, verify=str(tls.ca_file), timeout=10)


def test_pkce_verifier_must_match(authority: Authority, tls: SandboxTLS) -> None:
    verifier = "a" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": DEFAULT_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:5555",
        "scope": f"{resource_scope(ORG)} openid offline_access",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with PinnedSession(str(tls.ca_file)) as browser:
        answer = browser.post(
            f"{authority.url}/oauth2/authorize",
            data=dict(params, login=ANNA, passwd=ANNA_PASSWORD),
            allow_redirects=False,
            timeout=10,
        )
    assert answer.status_code == 302
    query = dict(pair.split("=", 1) for pair in urlsplit(answer.headers["Location"]).query.split("&"))
    assert query["state"] == "st"
    bad = _token_post(
        authority, tls, grant_type="authorization_code", code=query["code"],
        redirect_uri=params["redirect_uri"], code_verifier="b" * 50,
    )  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_grant"
    assert "AADSTS501481" in bad.json()["error_description"]
    # a code is single-use, even after a failed attempt
    again = _token_post(
        authority, tls, grant_type="authorization_code", code=query["code"],
        redirect_uri=params["redirect_uri"], code_verifier=verifier,
    )  # fmt: skip
    assert again.json()["error"] == "invalid_grant"


def test_device_code_polling_too_fast_gets_slow_down(
    make_authority: AuthorityFactory, tls: SandboxTLS
) -> None:
    authority = make_authority(device_code_interval=5)
    started = requests.post(
        f"{authority.url}/oauth2/devicecode",
        data={"client_id": DEFAULT_CLIENT_ID, "scope": resource_scope(ORG)},
        verify=str(tls.ca_file),
        timeout=10,
    ).json()
    assert started["interval"] == 5
    grant = "urn:ietf:params:oauth:grant-type:device_code"
    first = _token_post(authority, tls, grant_type=grant, device_code=started["device_code"])
    assert first.json()["error"] == "authorization_pending"
    second = _token_post(authority, tls, grant_type=grant, device_code=started["device_code"])
    assert second.json()["error"] == "slow_down"


def test_openid_configuration_and_error_shapes(authority: Authority, tls: SandboxTLS) -> None:
    config = requests.get(
        f"{authority.url}/.well-known/openid-configuration", verify=str(tls.ca_file), timeout=10
    ).json()
    assert config["issuer"] == authority.url
    assert config["token_endpoint"] == f"{authority.url}/oauth2/token"
    assert config["device_authorization_endpoint"] == f"{authority.url}/oauth2/devicecode"
    assert config["authorization_endpoint"] == f"{authority.url}/oauth2/authorize"
    unsupported = _token_post(authority, tls, grant_type="client_credentials")
    assert unsupported.json()["error"] == "unsupported_grant_type"
    two = _token_post(
        authority, tls, grant_type="password", username=ANNA, password=ANNA_PASSWORD,
        scope=f"{resource_scope(ORG)} {resource_scope(OTHER_ORG)}",
    )  # fmt: skip
    assert two.json()["error"] == "invalid_scope"
    default = _token_post(
        authority, tls, grant_type="password", username=ANNA, password=ANNA_PASSWORD, scope=f"{ORG}/.default"
    ).json()
    assert default["token_type"] == "Bearer"
    assert set(default) >= {"access_token", "refresh_token", "id_token", "client_info", "expires_in", "scope"}


def test_issue_for_gives_a_ready_token(authority: Authority, signer: TokenSigner) -> None:
    token = authority.issue_for(ANNA, [ORG + "/"])
    assert signer.verify(token, audience=ORG)["upn"] == ANNA
    assert StaticTokenProvider(token).token(force_refresh=True) == token
    assert token not in repr(StaticTokenProvider(token))


# -- secrets on disk ---------------------------------------------------------------------------------
def test_no_token_in_plaintext_on_disk_after_sign_in(
    authority: Authority, tls: SandboxTLS, isolated_home: Path, tmp_path: Path
) -> None:
    use_memory_keyring()  # the OS keyring stand-in keeps nothing on disk, so any hit below is a leak
    cache = load_token_cache(locations(), prefer_native=False)
    sign_in = sign_in_for(authority, tls, cache)
    sign_in.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    access = sign_in.provider(ORG, ANNA).token()
    refresh = [e["secret"] for e in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)]
    assert len(refresh) == 1
    home_files = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert home_files  # the cache's lock/signal files are there
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        content = path.read_bytes()
        assert refresh[0].encode() not in content, path
        assert access.encode() not in content, path
        assert ANNA_PASSWORD.encode() not in content, path


# -- NTLM ---------------------------------------------------------------------------------------------
def test_ntlm_auth_accepts_domain_and_upn_names() -> None:
    from requests_ntlm import HttpNtlmAuth

    assert isinstance(ntlm_auth("CONTOSO\\anna", "pw"), HttpNtlmAuth)
    assert isinstance(ntlm_auth("anna@contoso.local", "pw"), HttpNtlmAuth)
    with pytest.raises(ConfigurationError):
        ntlm_auth("\\anna", "pw")
    with pytest.raises(ConfigurationError):
        ntlm_auth("anna", "")
