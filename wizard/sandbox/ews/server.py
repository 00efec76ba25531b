"""The EWS stand-in: SOAP 1.1 Exchange Web Services and SOAP Autodiscover on a loopback HTTPS port.

It answers as Exchange Server SE (build 15.2.2562.17) does: ``ServerVersionInfo`` in every SOAP header,
Windows sign-in (NTLM on the keep-alive connection, ``DOMAIN\\user`` or UPN + ``ews_password``; see
:mod:`wizard.sandbox.ntlm`), HTTP Basic (UPN or primary SMTP + the user's ``ews_password``) or a sandbox Bearer
token, per-item ResponseMessages, and throttling as a SOAP fault ``ErrorServerBusy`` whose ``MessageXml`` carries
``BackOffMilliseconds`` (what exchangelib turns into ``ErrorServerBusy(back_off=...)``).
"""

from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path
from typing import ClassVar

from wizard.sandbox._http import FaultPlan, SandboxHandler, SandboxServer
from wizard.sandbox.directory import Directory, DirectoryUser
from wizard.sandbox.ews._soap import (
    ANS,
    ENS,
    MNS,
    SOAP,
    TNS,
    WSA,
    XSI,
    Element,
    el,
    local,
    parse,
    sub,
    t,
    to_bytes,
)
from wizard.sandbox.ews.demo import seed_demo
from wizard.sandbox.ews.instants import TimeContext, UnknownZone, render_instants, request_time
from wizard.sandbox.ews.ops import EwsError, EwsOperations, Mailbox
from wizard.sandbox.ews.store import MailboxStore
from wizard.sandbox.ntlm import SCHEMES, NtlmAccounts
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenRejected, TokenSigner

log = logging.getLogger(__name__)

EWS_PATH = "/EWS/Exchange.asmx"
AUTODISCOVER_PATH = "/autodiscover/autodiscover.svc"
#: IIS virtual directories behind Windows/Basic authentication (lower case prefixes)
AUTHENTICATED_VDIRS = ("/ews/", "/autodiscover/")

# Exchange Server Subscription Edition RTM (code-equivalent to 2019 CU15).
SERVER_BUILD = (15, 2, 2562, 17)
SERVER_SCHEMA = "V2017_07_11"
KNOWN_REQUEST_VERSIONS = {
    "Exchange2007",
    "Exchange2007_SP1",
    "Exchange2010",
    "Exchange2010_SP1",
    "Exchange2010_SP2",
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2015_SP1",
    "Exchange2016",
    "V2015_10_05",
    "V2016_01_06",
    "V2016_04_13",
    "V2016_07_13",
    "V2016_10_10",
    "V2017_01_07",
    "V2017_04_14",
    "V2017_07_11",
}
SUPPORTED_SCHEMAS = (
    "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, "
    "Exchange2013_SP1, Exchange2016"
)
ADMIN_GROUP = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
BUSY_TEXT = "The server cannot service this request right now. Try again later."


class EwsStandIn:
    """An Exchange mailbox server for the sandbox directory: one mailbox per user."""

    def __init__(
        self,
        directory: Directory,
        *,
        tls: SandboxTLS,
        data_dir: Path | None = None,
        faults: FaultPlan | None = None,
        signer: TokenSigner | None = None,
        demo_data: bool = False,
    ) -> None:
        self.directory = directory
        self.signer = signer
        self.ntlm = NtlmAccounts((u.upn, u.ews_password) for u in directory.users)
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        self.store = MailboxStore(data_dir / "ews.sqlite3" if data_dir is not None else None)
        self.operations = EwsOperations(self.store, self.mailbox_for)
        for user in directory.users:
            self.store.ensure_mailbox(user.primary_email)
        handler = type("BoundEwsHandler", (EwsHandler,), {"standin": self})
        self.server = SandboxServer(handler, tls=tls, faults=faults)
        if demo_data:
            seed_demo(self)

    # -- addresses -------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def url(self) -> str:
        return self.server.base_url + EWS_PATH

    @property
    def autodiscover_url(self) -> str:
        return self.server.base_url + AUTODISCOVER_PATH

    def start(self) -> EwsStandIn:
        self.ntlm.start()
        self.server.start()
        return self

    def stop(self) -> None:
        self.ntlm.stop()
        self.server.stop()
        self.store.close()

    def __enter__(self) -> EwsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- users -------------------------------------------------------------------------------------------
    def user_for(self, address: str) -> DirectoryUser | None:
        """A directory user by UPN or primary SMTP address."""
        wanted = address.strip().lower()
        for user in self.directory.users:
            if wanted in (user.upn.lower(), user.primary_email.lower()):
                return user
        return None

    def mailbox_for(self, address: str) -> Mailbox | None:
        user = self.user_for(address)
        if user is None:
            return None
        return Mailbox(
            address=user.primary_email.lower(),
            display_name=user.full_name,
            aliases=frozenset({user.upn.lower(), user.primary_email.lower()}),
        )

    def authenticate(self, header: str | None) -> DirectoryUser | None:
        """The user an Authorization header proves, or None (never logs or echoes the secret)."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            name, _, password = decoded.partition(":")
            name = name.split("\\", 1)[-1]
            user = self.user_for(name)
            if user is None or not user.ews_password or password != user.ews_password:
                return None
            return user
        if scheme.lower() == "bearer" and self.signer is not None:
            try:
                claims = self.signer.verify(value.strip(), audience=self.base_url)
            except TokenRejected:
                return None
            user = self.directory.user_by_oid(str(claims.get("oid", "")))
            return user or self.user_for(str(claims.get("upn", "")))
        return None


def _envelope(header_children: list[Element], body_child: Element) -> Element:
    env = el(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP})
    header = el(f"{{{SOAP}}}Header")
    for item in header_children:
        header.append(item)
    env.append(header)
    body = el(f"{{{SOAP}}}Body", nsmap={"xsi": XSI, "xsd": "http://www.w3.org/2001/XMLSchema"})
    body.append(body_child)
    env.append(body)
    return env


def server_version_info(version: str = SERVER_SCHEMA) -> Element:
    major, minor, build, revision = SERVER_BUILD
    return el(
        f"{{{TNS}}}ServerVersionInfo",
        attrs={
            "MajorVersion": str(major),
            "MinorVersion": str(minor),
            "MajorBuildNumber": str(build),
            "MinorBuildNumber": str(revision),
            "Version": version,
        },
        nsmap={"h": TNS},
    )


def soap_fault(code: str, text: str, *, back_off_ms: int | None = None, with_version: bool = True) -> bytes:
    """A SOAP fault as Exchange sends it (faultcode in the types namespace, detail in the errors one)."""
    fault = el(f"{{{SOAP}}}Fault")
    fault.append(el("faultcode", f"a:{code}", nsmap={"a": TNS}))
    string = sub(fault, "faultstring", text)
    string.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    detail = sub(fault, "detail")
    detail.append(el(f"{{{ENS}}}ResponseCode", code, nsmap={"e": ENS}))
    detail.append(el(f"{{{ENS}}}Message", text, nsmap={"e": ENS}))
    if back_off_ms is not None:
        msg_xml = el(f"{{{TNS}}}MessageXml", nsmap={"t": TNS})
        sub(msg_xml, "t:Value", str(back_off_ms), {"Name": "BackOffMilliseconds"})
        detail.append(msg_xml)
    return to_bytes(_envelope([server_version_info()] if with_version else [], fault))


class EwsHandler(SandboxHandler):
    standin: ClassVar[EwsStandIn]

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    def route(self, method: str, body: bytes) -> None:
        """As IIS: the EWS and Autodiscover virtual directories authenticate first (any method gets the 401
        and its challenges, an NTLM handshake completes whatever its method), then the handler answers."""
        path = self.path.split("?", 1)[0].lower()
        if not path.startswith(AUTHENTICATED_VDIRS):
            self.send_bytes(404, b"Not Found", "text/plain")
            return
        user = self._caller()
        if user is None:
            return
        if path not in (EWS_PATH.lower(), AUTODISCOVER_PATH.lower()):
            self.send_bytes(404, b"Not Found", "text/plain")
        elif method != "POST":
            self.send_bytes(405, b"", "text/plain", {"Allow": "POST"})
        elif path == EWS_PATH.lower():
            self._ews(user, body)
        else:
            self._autodiscover(user, body)

    # -- answers in EWS's own words ---------------------------------------------------------------------
    def send_throttled(self, retry_after: float) -> None:
        payload = soap_fault("ErrorServerBusy", BUSY_TEXT, back_off_ms=int(retry_after * 1000))
        self.send_bytes(500, payload, "text/xml; charset=utf-8")

    def send_failure(self, status: int) -> None:
        if status == 500:
            payload = soap_fault(
                "ErrorInternalServerError", "An internal server error occurred. The operation failed."
            )
            self.send_bytes(500, payload, "text/xml; charset=utf-8")
        else:
            self.send_bytes(status, b"Service Unavailable", "text/html")

    def _unauthorized(self) -> None:
        self.send_unauthorized(
            [*SCHEMES, 'Basic realm="127.0.0.1"'],
            headers={"X-Bearer-Supported": "true"} if self.standin.signer else None,
        )

    def _caller(self) -> DirectoryUser | None:
        """Who sends this request: NTLM (this connection's, or its handshake's last step), else Basic or
        Bearer. None means a 401 has been sent (the NTLM CHALLENGE, or the offer of every scheme)."""
        outcome = self.ntlm_step(self.standin.ntlm)
        if outcome.kind == "signed_in":
            return self.standin.user_for(outcome.upn)
        if outcome.kind == "challenge":
            self.send_unauthorized([outcome.header])
            return None
        user = (
            self.standin.authenticate(self.headers.get("Authorization")) if outcome.kind == "other" else None
        )
        if user is None:
            self._unauthorized()
        return user

    def _xml(self, payload: bytes, status: int = 200) -> None:
        self.send_bytes(status, payload, "text/xml; charset=utf-8")

    # -- EWS ---------------------------------------------------------------------------------------------
    def _ews(self, user: DirectoryUser, body: bytes) -> None:
        try:
            envelope = parse(body)
        except Exception:
            self._xml(soap_fault("ErrorSchemaValidation", "The request failed schema validation."), 500)
            return
        soap_body = envelope.find(f"{{{SOAP}}}Body")
        header = envelope.find(f"{{{SOAP}}}Header")
        if soap_body is None or len(soap_body) == 0 or soap_body[0].tag.split("}")[0] != "{" + MNS:
            self._xml(soap_fault("ErrorSchemaValidation", "The request failed schema validation."), 500)
            return
        requested = None
        if header is not None:
            rsv = header.find(t("RequestServerVersion"))
            requested = None if rsv is None else rsv.get("Version")
            impersonation = header.find(t("ExchangeImpersonation"))
            if impersonation is not None:
                target = impersonation.findtext(f".//{t('PrimarySmtpAddress')}") or ""
                if self.standin.user_for(target) is not user:
                    self._xml(
                        soap_fault(
                            "ErrorImpersonateUserDenied",
                            "The account does not have permission to impersonate the requested user.",
                        ),
                        500,
                    )
                    return
        if requested is not None and requested not in KNOWN_REQUEST_VERSIONS:
            self._xml(
                soap_fault("ErrorInvalidServerVersion", "The specified server version is invalid."), 500
            )
            return
        try:
            context = TimeContext.from_header(header)
        except UnknownZone as exc:
            self._xml(soap_fault("ErrorTimeZone", str(exc)), 500)
            return
        mailbox = self.standin.mailbox_for(user.primary_email)
        assert mailbox is not None
        try:
            with request_time(context):
                response = self.standin.operations.handle(mailbox, soap_body[0])
            render_instants(response, context)
        except EwsError as exc:
            code = "ErrorSchemaValidation" if exc.code == "ErrorInvalidRequest" else exc.code
            self._xml(soap_fault(code, exc.text), 500)
            return
        except Exception:  # a stand-in bug or a request shape it does not know: answer like Exchange would
            log.exception("EWS stand-in failed on %s", local(soap_body[0].tag))
            self._xml(soap_fault("ErrorInternalServerError", "An internal server error occurred."), 500)
            return
        self._xml(to_bytes(_envelope([server_version_info()], response)))

    # -- SOAP Autodiscover ---------------------------------------------------------------------------------
    def _autodiscover(self, user: DirectoryUser, body: bytes) -> None:
        try:
            envelope = parse(body)
            request = envelope.find(f"{{{SOAP}}}Body")[0]
        except Exception:
            self.send_bytes(400, b"Bad Request", "text/plain")
            return
        if local(request.tag) != "GetUserSettingsRequestMessage":
            self.send_bytes(400, b"Bad Request", "text/plain")
            return
        self._xml(to_bytes(self._user_settings(request)))

    def _user_settings(self, request: Element) -> Element:
        a = f"{{{ANS}}}"
        wanted = [s.text or "" for s in request.iter(a + "Setting")]
        env = el(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP, "a": WSA})
        header = sub(env, f"{{{SOAP}}}Header")
        action = sub(
            header,
            f"{{{WSA}}}Action",
            "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse",
        )
        action.set(f"{{{SOAP}}}mustUnderstand", "1")
        info = el(a + "ServerVersionInfo", nsmap={"h": ANS, "i": XSI})
        for name, value in zip(
            ("MajorVersion", "MinorVersion", "MajorBuildNumber", "MinorBuildNumber"),
            SERVER_BUILD,
            strict=True,
        ):
            sub(info, a + name, str(value))
        sub(info, a + "Version", "Exchange2016")
        header.append(info)
        body = sub(env, f"{{{SOAP}}}Body")
        message = el(a + "GetUserSettingsResponseMessage", nsmap={None: ANS})
        body.append(message)
        response = sub(message, a + "Response")
        sub(response, a + "ErrorCode", "NoError")
        sub(response, a + "ErrorMessage", "")
        users = sub(response, a + "UserResponses")
        base = self.standin.base_url
        for address in [e.text or "" for e in request.iter(a + "Mailbox")]:
            entry = sub(users, a + "UserResponse")
            target = self.standin.user_for(address)
            if target is None:
                sub(entry, a + "ErrorCode", "InvalidUser")
                sub(entry, a + "ErrorMessage", f"The email address can't be found. ({address})")
                nil = sub(entry, a + "RedirectTarget")
                nil.set(f"{{{XSI}}}nil", "true")
                sub(entry, a + "UserSettingErrors")
                sub(entry, a + "UserSettings")
                continue
            sub(entry, a + "ErrorCode", "NoError")
            sub(entry, a + "ErrorMessage", "No error.")
            nil = sub(entry, a + "RedirectTarget")
            nil.set(f"{{{XSI}}}nil", "true")
            errors = sub(entry, a + "UserSettingErrors")
            settings = sub(entry, a + "UserSettings")
            values = {
                "UserDisplayName": target.full_name,
                "UserDN": f"{ADMIN_GROUP}/cn=Recipients/cn={target.oid}",
                "UserDeploymentId": target.oid,
                "AutoDiscoverSMTPAddress": target.primary_email,
                "CasVersion": "{:02d}.{:02d}.{:04d}.{:03d}".format(*SERVER_BUILD),
                "EwsSupportedSchemas": SUPPORTED_SCHEMAS,
                "ExternalEwsUrl": base + EWS_PATH,
                "InternalEwsUrl": base + EWS_PATH,
                "ExternalMailboxServer": "127.0.0.1",
                "InternalMailboxServer": "127.0.0.1",
                "ExternalEwsVersion": "{}.{:02d}.{:04d}.{:03d}".format(*SERVER_BUILD),
                "MailboxDN": f"{ADMIN_GROUP}/cn=Configuration/cn=Servers/cn=127.0.0.1/guid={target.oid}",
                "GroupingInformation": "SANDBOX-1",
            }
            for name in wanted:
                if name in values:
                    setting = sub(settings, a + "UserSetting")
                    setting.set(f"{{{XSI}}}type", "StringSetting")
                    sub(setting, a + "Name", name)
                    sub(setting, a + "Value", values[name])
                else:
                    error = sub(errors, a + "UserSettingError")
                    sub(error, a + "ErrorCode", "SettingIsNotAvailable")
                    sub(error, a + "ErrorMessage", f"User setting '{name}' is not available.")
                    sub(error, a + "SettingName", name)
        return env
